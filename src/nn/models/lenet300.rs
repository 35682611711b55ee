//! LeNet-300-100: 784-300-100-10 fully connected with ReLU (266,610 parameters).

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::relu};

/// The fully connected LeNet-300-100.
#[derive(Module, Debug)]
pub struct LeNet300 {
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
}

impl LeNet300 {
    /// A freshly initialised network on `device`.
    pub fn new(device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(784, 300).init(device),
            fc2: LinearConfig::new(300, 100).init(device),
            fc3: LinearConfig::new(100, 10).init(device),
        }
    }

    /// `images`: `[batch, 1, 28, 28]` normalised pixels; returns logits `[batch, 10]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        let x = images.reshape([batch, 784]);
        let x = relu(self.fc1.forward(x));
        let x = relu(self.fc2.forward(x));
        self.fc3.forward(x)
    }
}
