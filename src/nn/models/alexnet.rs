//! AlexNet, the CIFAR-10 variant of the widely used `pytorch-classification` code
//! (bearpaw/pytorch-classification, `models/cifar/alexnet.py`), without dropout:
//!
//! | layer                                  | output     | parameters |
//! |----------------------------------------|------------|-----------:|
//! | input                                  | 3x32x32    |            |
//! | conv 64@11x11, stride 4, pad 5, ReLU   | 64x8x8     |     23,296 |
//! | max-pool 2                             | 64x4x4     |            |
//! | conv 192@5x5, pad 2, ReLU              | 192x4x4    |    307,392 |
//! | max-pool 2                             | 192x2x2    |            |
//! | conv 384@3x3, pad 1, ReLU              | 384x2x2    |    663,936 |
//! | conv 256@3x3, pad 1, ReLU              | 256x2x2    |    884,992 |
//! | conv 256@3x3, pad 1, ReLU              | 256x2x2    |    590,080 |
//! | max-pool 2                             | 256x1x1    |            |
//! | linear 256 -> 10                       | 10         |      2,570 |
//!
//! 2,472,266 parameters in all (every conv and the linear layer with a bias).
//! Parameter names: `features.0` .. `features.4` (the convolutions), `classifier`.
//! Initialisation: convolutions He-normal (`std = sqrt(2 / fan_in)`) with zero bias, the
//! classifier burn's default (PyTorch's `Linear` default).

use super::he_conv;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::relu};

/// The CIFAR AlexNet.
#[derive(Module, Debug)]
pub struct AlexNet {
    features: Vec<Conv2d>,
    pool: MaxPool2d,
    classifier: Linear,
}

impl AlexNet {
    /// A freshly initialised network on `device`.
    pub fn new(device: &Device) -> Self {
        Self {
            features: vec![
                he_conv(3, 64, 11, 4, 5, device),
                he_conv(64, 192, 5, 1, 2, device),
                he_conv(192, 384, 3, 1, 1, device),
                he_conv(384, 256, 3, 1, 1, device),
                he_conv(256, 256, 3, 1, 1, device),
            ],
            pool: MaxPool2dConfig::new([2, 2]).init(),
            classifier: LinearConfig::new(256, 10).init(device),
        }
    }

    /// `images`: `[batch, 3, 32, 32]`; returns logits `[batch, 10]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        let f = &self.features;
        let x = self.pool.forward(relu(f[0].forward(images)));
        let x = self.pool.forward(relu(f[1].forward(x)));
        let x = relu(f[2].forward(x));
        let x = relu(f[3].forward(x));
        let x = self.pool.forward(relu(f[4].forward(x)));
        self.classifier.forward(x.reshape([batch, 256]))
    }
}
