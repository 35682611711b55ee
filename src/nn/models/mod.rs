//! The networks of the thesis, as one burn module enum so that training, evaluation and
//! parameter read-out have a single code path.

mod alexnet;
mod lenet300;
mod lenet5;
mod vgg16;

pub use alexnet::AlexNet;
pub use lenet300::LeNet300;
pub use lenet5::LeNet5;
pub use vgg16::Vgg16;

use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};
use crate::choices::Net;

/// A network of any kind.
#[derive(Module, Debug)]
pub enum Model {
    LeNet300(LeNet300),
    LeNet5(LeNet5),
    AlexNet(AlexNet),
    Vgg16(Vgg16),
}

impl Model {
    /// A freshly initialised network `net` on `device` (seed the device first).
    pub fn new(net: Net, device: &Device) -> Self {
        match net {
            Net::LeNet300 => Self::LeNet300(LeNet300::new(device)),
            Net::LeNet5 => Self::LeNet5(LeNet5::new(device)),
            Net::AlexNet => Self::AlexNet(AlexNet::new(device)),
            Net::Vgg16 => Self::Vgg16(Vgg16::new(device)),
        }
    }

    /// `images`: `[batch, channels, height, width]`; returns logits `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::LeNet300(m) => m.forward(images),
            Self::LeNet5(m) => m.forward(images),
            Self::AlexNet(m) => m.forward(images),
            Self::Vgg16(m) => m.forward(images),
        }
    }
}

/// A `k`x`k` convolution `c_in -> c_out` with `stride` and symmetric `pad`, He-normal
/// weights (`std = sqrt(2 / fan_in)`, fan_in = `c_in * k * k`) and a zero bias.
fn he_conv(c_in: usize, c_out: usize, k: usize, stride: usize, pad: usize, device: &Device) -> Conv2d {
    let mut conv = Conv2dConfig::new([c_in, c_out], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_initializer(Initializer::KaimingNormal { gain: std::f64::consts::SQRT_2, fan_out_only: false })
        .init(device);
    conv.bias = Some(Param::from_tensor(Tensor::zeros([c_out], device)));
    conv
}
