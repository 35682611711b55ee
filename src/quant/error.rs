//! [`QuantError`]: why a network could not be quantized, accounted or swept (compress, live
//! accounting, re-accounting, the sweep). Settings refused before that are
//! [`super::SettingsError`].

use super::codec::CodecError;
use super::encoding::Encoding;
use crate::choices::Method;
use std::fmt;

/// Why quantizing, accounting or sweeping failed.
#[derive(Debug, Clone, PartialEq)]
pub enum QuantError {
    /// A tensor's ITQ widths do not have one value per weight.
    TensorWidths,
    /// The cluster count and the width count differ.
    WidthCount { clusters: usize, widths: usize },
    /// More than 256 clusters, or none (re-accounting).
    ClusterCount(usize),
    /// A width other than 0, 2..=16 or 32.
    InvalidWidth(u8),
    /// A quantile fraction is NaN.
    NanFraction,
    /// Taylor importance asked of a snapshot without `taylor/<tensor>`.
    NoTaylor { tensor: String },
    /// `taylor/<tensor>` with a length other than the weight count.
    TaylorLength { tensor: String, values: usize, weights: usize },
    /// `itq` or `combined` asked of an opened snapshot of `net` without `width/P` tensors.
    NoItqWidths { net: String, method: Method },
    /// The model could not be encoded or accounted.
    Codec(CodecError),
    /// The model could not be accounted in `encoding` (the sweep's sizes).
    Accounting { encoding: Encoding, error: CodecError },
    /// A sweep's kept fraction outside (0, 1].
    KeepOutOfRange(f64),
    /// A sweep without quantile boundaries to scale.
    NoBoundary,
    /// A sweep's first (pruned) boundary outside [0, 1).
    FirstBoundary(f64),
    /// A sweep over k-means clusters (it scales quantile boundaries).
    SweepNeedsQuantile,
    /// A sweep's widths not `clusters` of them starting with 0.
    SweepWidths { clusters: usize },
    /// A sweep point's boundaries and widths disagree.
    BoundaryWidths { boundaries: usize, widths: usize },
}

impl QuantError {
    /// The link key of the setting at fault, if a setting is.
    pub fn field(&self) -> Option<&'static str> {
        use QuantError::*;
        match self {
            WidthCount { .. } | InvalidWidth(_) | SweepWidths { .. } | BoundaryWidths { .. } => Some("widths"),
            ClusterCount(_) | NanFraction | NoBoundary | FirstBoundary(_) | SweepNeedsQuantile => Some("clusters"),
            NoTaylor { .. } | TaylorLength { .. } => Some("importance"),
            NoItqWidths { .. } => Some("method"),
            KeepOutOfRange(_) => Some("keep"),
            TensorWidths | Codec(_) | Accounting { .. } => None,
        }
    }
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use QuantError::*;
        match self {
            TensorWidths => write!(f, "a tensor's widths do not match its size"),
            WidthCount { clusters: k, widths } => write!(f, "{k} clusters need {k} widths, got {widths}"),
            ClusterCount(k) => write!(f, "{k} clusters: 1 to 256 are possible"),
            InvalidWidth(b) => write!(f, "width {b} is not 0, 2..=16 or 32"),
            NanFraction => write!(f, "a quantile fraction is NaN"),
            NoTaylor { tensor } => write!(
                f,
                "taylor importance: the snapshot has no taylor/{tensor} (it was written without Taylor \
                 accumulation; retrain it with a current agq, or use grad, magnitude or random)"
            ),
            TaylorLength { tensor, values, weights } => {
                write!(f, "taylor/{tensor} has {values} values for {weights} weights")
            }
            NoItqWidths { net, method } => write!(
                f,
                "the snapshot of {net:?} has no ITQ widths (width/P), which {method} needs: choose post-training \
                 (ptq) or none"
            ),
            Codec(e) => write!(f, "{e}"),
            Accounting { encoding, error } => write!(f, "{encoding} accounting: {error}"),
            KeepOutOfRange(keep) => write!(f, "kept fraction {keep} is not in (0, 1]"),
            NoBoundary => write!(f, "no cluster boundary to scale"),
            FirstBoundary(p0) => write!(f, "first boundary {p0} is not in [0, 1)"),
            SweepNeedsQuantile => {
                write!(f, "the sweep scales quantile boundaries (quantile:F1,...), not k-means clusters")
            }
            SweepWidths { clusters: n } => write!(f, "{n} clusters need {n} widths, the first 0 (pruned)"),
            BoundaryWidths { boundaries, widths } => {
                write!(f, "{boundaries} boundaries need {} widths, got {widths}", boundaries + 1)
            }
        }
    }
}

impl std::error::Error for QuantError {}

impl From<CodecError> for QuantError {
    fn from(e: CodecError) -> Self {
        QuantError::Codec(e)
    }
}
