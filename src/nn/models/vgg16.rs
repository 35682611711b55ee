//! VGG-16, the usual CIFAR-10 variant (configuration "D" of Simonyan & Zisserman with a
//! single linear classifier, as in e.g. kuangliu/pytorch-cifar), WITHOUT batch norm so that
//! every parameter is a conv or linear weight or bias that the quantizer sees:
//!
//! | layers                                        | output     | parameters |
//! |-----------------------------------------------|------------|-----------:|
//! | input                                         | 3x32x32    |            |
//! | conv 64, conv 64, max-pool 2                  | 64x16x16   |     38,720 |
//! | conv 128, conv 128, max-pool 2                | 128x8x8    |    221,440 |
//! | conv 256, conv 256, conv 256, max-pool 2      | 256x4x4    |  1,475,328 |
//! | conv 512, conv 512, conv 512, max-pool 2      | 512x2x2    |  5,899,776 |
//! | conv 512, conv 512, conv 512, max-pool 2      | 512x1x1    |  7,079,424 |
//! | linear 512 -> 10                              | 10         |      5,130 |
//!
//! Every conv is 3x3, stride 1, pad 1, with a bias, followed by ReLU. 14,719,818 parameters
//! in all (the batch-norm variant has 8,448 more: 14,728,266).
//! Parameter names: `features.0` .. `features.12` (the convolutions), `classifier`.
//! Initialisation: convolutions He-normal (`std = sqrt(2 / fan_in)`) with zero bias, the
//! classifier burn's default (PyTorch's `Linear` default). Without batch norm the He
//! initialisation is what lets the 13 stacked convolutions train from scratch.

use super::he_conv;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::relu};

/// Output channels of the 13 convolutions; `0` marks a 2x2 max-pool.
const LAYERS: [usize; 18] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

/// The CIFAR VGG-16 without batch norm.
#[derive(Module, Debug)]
pub struct Vgg16 {
    features: Vec<Conv2d>,
    pool: MaxPool2d,
    classifier: Linear,
}

impl Vgg16 {
    /// A freshly initialised network on `device`.
    pub fn new(device: &Device) -> Self {
        let mut features = Vec::with_capacity(13);
        let mut channels = 3;
        for &out in LAYERS.iter().filter(|&&c| c > 0) {
            features.push(he_conv(channels, out, 3, 1, 1, device));
            channels = out;
        }
        Self { features, pool: MaxPool2dConfig::new([2, 2]).init(), classifier: LinearConfig::new(512, 10).init(device) }
    }

    /// `images`: `[batch, 3, 32, 32]`; returns logits `[batch, 10]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        let mut x = images;
        let mut convs = self.features.iter();
        for &c in &LAYERS {
            x = match c {
                0 => self.pool.forward(x),
                _ => relu(convs.next().expect("13 convolutions").forward(x)),
            };
        }
        self.classifier.forward(x.reshape([batch, 512]))
    }
}
