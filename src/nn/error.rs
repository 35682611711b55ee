//! [`NnError`]: why training, evaluating or quantizing a burn network failed (the nn
//! layer's one error type). Refused settings stay [`SettingsError`], failed quantization
//! [`QuantError`]; both cross unchanged (with their `field()`).

use crate::choices::Net;
use crate::opened_snapshot::NotBuiltin;
use crate::quant::QuantError;
use crate::quant::codec::CodecError;
use crate::quant::settings::SettingsError;
use std::fmt;

/// Why a run, an evaluation or a snapshot's quantization failed.
#[derive(Debug, Clone, PartialEq)]
pub enum NnError {
    /// A run setting is refused.
    Settings(SettingsError),
    /// Quantizing or accounting failed.
    Quant(QuantError),
    /// An `.agq` file (just written) could not be decoded.
    Codec(CodecError),
    /// The data's images do not fit the network's input (`[channels, height, width]`).
    DataShape { net: Net, data: [usize; 3] },
    /// A snapshot is not of a built-in network, so it cannot be evaluated.
    NotBuiltin(NotBuiltin),
    /// The named tensors lack one the network has (`source`: "snapshot", ".agq file").
    MissingTensor { source: &'static str, tensor: String },
    /// A named tensor's output-major shape differs from the network's.
    TensorShape { tensor: String, shape: Vec<usize>, expected: Vec<usize> },
    /// The test set a network is evaluated on is not loaded (`dataset`: MNIST, CIFAR-10).
    TestSetNotLoaded { dataset: &'static str },
    /// An evaluation of no image.
    EmptyDataset,
    /// Reading tensors back from the device failed (burn's error, in words).
    ReadBack(String),
    /// The host stopped the evaluation ([`super::eval::Progress::pause`]).
    Stopped,
}

impl NnError {
    /// The link key of the setting at fault, if a setting is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            NnError::Settings(e) => e.fields().first().copied(),
            NnError::Quant(e) => e.field(),
            NnError::DataShape { .. } => Some("net"),
            _ => None,
        }
    }
}

impl fmt::Display for NnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NnError::Settings(e) => e.fmt(f),
            NnError::Quant(e) => e.fmt(f),
            NnError::Codec(e) => e.fmt(f),
            NnError::DataShape { net, data: [dc, dh, dw] } => {
                let [c, h, w] = net.input_shape();
                write!(f, "{} trains on {} ({c}x{h}x{w} images), the data given has {dc}x{dh}x{dw} images", net.as_str(), net.dataset())?;
                if c == 3 {
                    f.write_str(" (the page and `agq train` train only the LeNets, on MNIST): load its gradient snapshot, made by `agq snapshot`, instead")?;
                }
                Ok(())
            }
            NnError::NotBuiltin(e) => e.fmt(f),
            NnError::MissingTensor { source, tensor } => write!(f, "the {source} has no tensor {tensor}"),
            NnError::TensorShape { tensor, shape, expected } => write!(f, "{tensor}: shape {shape:?}, the network needs {expected:?}"),
            NnError::TestSetNotLoaded { dataset } => write!(f, "the {dataset} test set is not loaded yet"),
            NnError::EmptyDataset => f.write_str("accuracy of an empty data set"),
            NnError::ReadBack(e) => write!(f, "reading tensors back failed: {e}"),
            NnError::Stopped => f.write_str("stopped"),
        }
    }
}

impl std::error::Error for NnError {}

impl From<SettingsError> for NnError {
    fn from(e: SettingsError) -> Self {
        NnError::Settings(e)
    }
}

impl From<QuantError> for NnError {
    fn from(e: QuantError) -> Self {
        NnError::Quant(e)
    }
}

impl From<CodecError> for NnError {
    fn from(e: CodecError) -> Self {
        NnError::Codec(e)
    }
}

impl From<NotBuiltin> for NnError {
    fn from(e: NotBuiltin) -> Self {
        NnError::NotBuiltin(e)
    }
}
