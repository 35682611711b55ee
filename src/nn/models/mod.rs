//! The networks of the thesis, as one burn module enum so that training, evaluation and
//! parameter read-out have a single code path.

mod lenet300;
mod lenet5;

pub use lenet300::LeNet300;
pub use lenet5::LeNet5;

use burn::module::Module;
use burn::tensor::{Device, Tensor};

/// Which network; the names are those used in links, snapshots and `.agq` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetKind {
    LeNet300,
    LeNet5,
}

impl NetKind {
    /// Parses `lenet300` or `lenet5`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "lenet300" => Some(Self::LeNet300),
            "lenet5" => Some(Self::LeNet5),
            _ => None,
        }
    }

    /// The short name used in links and files.
    pub fn name(self) -> &'static str {
        match self {
            Self::LeNet300 => "lenet300",
            Self::LeNet5 => "lenet5",
        }
    }

    /// Input image shape `[channels, height, width]`.
    pub fn input_shape(self) -> [usize; 3] {
        [1, 28, 28]
    }
}

/// A network of any kind.
#[derive(Module, Debug)]
pub enum Model {
    LeNet300(LeNet300),
    LeNet5(LeNet5),
}

impl Model {
    /// A freshly initialised network of `kind` on `device` (seed the device first).
    pub fn new(kind: NetKind, device: &Device) -> Self {
        match kind {
            NetKind::LeNet300 => Self::LeNet300(LeNet300::new(device)),
            NetKind::LeNet5 => Self::LeNet5(LeNet5::new(device)),
        }
    }

    /// `images`: `[batch, channels, height, width]`; returns logits `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::LeNet300(m) => m.forward(images),
            Self::LeNet5(m) => m.forward(images),
        }
    }
}
