//! LeNet-5, the Caffe variant used by Han et al.: conv 20@5x5, max-pool 2, conv 50@5x5,
//! max-pool 2, fc 500, fc 10, ReLU (431,080 parameters).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::relu};

/// The convolutional LeNet-5.
#[derive(Module, Debug)]
pub struct LeNet5 {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
}

impl LeNet5 {
    /// A freshly initialised network on `device`.
    pub fn new(device: &Device) -> Self {
        Self {
            conv1: Conv2dConfig::new([1, 20], [5, 5]).init(device),
            conv2: Conv2dConfig::new([20, 50], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(800, 500).init(device),
            fc2: LinearConfig::new(500, 10).init(device),
        }
    }

    /// `images`: `[batch, 1, 28, 28]`; returns logits `[batch, 10]`.
    ///
    /// Shapes: 28x28 -> conv 24x24x20 -> pool 12x12x20 -> conv 8x8x50 -> pool 4x4x50 = 800.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        let x = self.pool.forward(self.conv1.forward(images));
        let x = self.pool.forward(self.conv2.forward(x));
        let x = x.reshape([batch, 800]);
        let x = relu(self.fc1.forward(x));
        self.fc2.forward(x)
    }
}
