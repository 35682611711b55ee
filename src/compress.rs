//! The compression pipeline shared by the command line and the page: importance, PTQ /
//! ITQ / combined widths, fixed-point quantization, CSR accounting and the `.agq` file.

use crate::config::Method;
use crate::quant::QuantError;
pub use crate::quant::settings::PtqSettings;
use crate::quant::settings::CheckedSettings;
use crate::quant::encoding::{Encoding, encode_accounted_made, encoding_of, sizes_with};
use crate::quant::boundaries::{Boundaries, Classify, ClassifyVisitor};
use crate::quant::fixed_point::FLOAT_WIDTH;
use crate::quant::log_histogram::log10_histogram;
use crate::quant::model::{QuantModel, QuantTensor, quantize_tensor_by};
use crate::quant::tensor::total_len;
use crate::quant::report::{EncodingSize, Report};
use crate::quant::tensor::ParamTensor;
use serde::Serialize;
use std::collections::BTreeMap;

/// Bins of the importance histogram shown in the page.
const HISTOGRAM_BINS: usize = 60;

/// A quantized network, its accounting and its file.
#[derive(Clone, Debug)]
pub struct Compressed {
    pub model: QuantModel,
    /// The accounting of the file's encoding (CSR unless asked otherwise); `bytes` is the
    /// size of [`Compressed::bytes`].
    pub report: Report,
    /// The `.agq` file.
    pub bytes: Vec<u8>,
    /// Final width of every flat parameter (0 pruned, 32 float).
    pub widths: Vec<u8>,
    /// The PTQ cluster boundaries in importance units (K-1, ascending; empty without PTQ):
    /// what [`Compressed::importance_histogram`] marks.
    pub boundaries: Vec<f32>,
}

/// The distribution of the importances on a log10 axis, with the PTQ cluster boundaries.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportanceHistogram {
    /// `bins + 1` edges in log10 units.
    pub log10_edges: Vec<f64>,
    /// Parameters per bin (zero importances are counted in `zeros`).
    pub counts: Vec<u64>,
    /// Parameters with importance exactly 0 (not on a log axis).
    pub zeros: u64,
    /// log10 of each PTQ cluster boundary (K-1 values; empty without PTQ).
    pub boundaries: Vec<f64>,
}

/// Quantizes the parameters of network `net` (the name the `.agq` file carries) as
/// `settings` say: method `none` keeps every value in float, `ptq` clusters the
/// importances, `itq` takes each tensor's `width` (its ITQ widths; float when absent),
/// `combined` the minimum of both. Encodes the `.agq` file in `settings.encoding()` and
/// accounts it; the report's `bytes` is the file's size.
pub fn compress(net: &str, params: &[ParamTensor], settings: &CheckedSettings) -> Result<Compressed, QuantError> {
    encode(quantize(net, params, settings.method(), settings.ptq())?, settings.encoding())
}

/// The engine below the pipeline: [`compress`] of raw parts in CSR, without the settings'
/// rules (any valid widths, in any order; any fractions): for benches and for the tests
/// that compare the re-accounting with it on settings a user cannot make. The page, the
/// command line and Python reach it only through [`compress`].
pub fn compress_with(net: &str, params: &[ParamTensor], method: Method, ptq: &PtqSettings) -> Result<Compressed, QuantError> {
    encode(quantize(net, params, method, ptq)?, Encoding::Csr)
}

/// Encodes and accounts a quantized network in `encoding`.
fn encode(quantized: Quantized, encoding: Encoding) -> Result<Compressed, QuantError> {
    let Quantized { model, widths, boundaries } = quantized;
    let (bytes, report) = encode_accounted_made(&model, encoding)?;
    Ok(Compressed { model, report, bytes, widths, boundaries })
}

/// The network quantized as [`compress`] does, sized in every encoding (CSR first)
/// without writing a file: what the page shows beside the live CSR accounting.
pub fn sizes_of(net: &str, params: &[ParamTensor], settings: &CheckedSettings) -> Result<Vec<EncodingSize>, QuantError> {
    let model = quantize(net, params, settings.method(), settings.ptq())?.model;
    let csr = crate::quant::csr::account(&model);
    Ok(sizes_with(&model, Encoding::Csr, &csr)?)
}

/// A quantized network with the flat widths and PTQ thresholds behind it.
struct Quantized {
    model: QuantModel,
    widths: Vec<u8>,
    boundaries: Vec<f32>,
}

/// Importance, widths (PTQ, ITQ or combined) and fixed-point codes of `params`. The PTQ
/// boundaries are found from all the importances first; then every tensor is quantized in
/// two passes (its widths and each width's largest `|w|`, then its codes), its importance
/// read where the tensor holds it.
fn quantize(net: &str, params: &[ParamTensor], method: Method, ptq: &PtqSettings) -> Result<Quantized, QuantError> {
    let segments = ptq.importance.try_segments(params)?;
    if method.uses_itq() && params.iter().any(|p| p.width.as_ref().is_some_and(|w| w.len() != p.len())) {
        return Err(QuantError::TensorWidths);
    }
    let boundaries = if method.uses_ptq() {
        if ptq.clusters.k() != ptq.widths.len() {
            return Err(QuantError::WidthCount { clusters: ptq.clusters.k(), widths: ptq.widths.len() });
        }
        let slices: Vec<&[f32]> = segments.iter().map(|s| s.as_ref()).collect();
        Some(Boundaries::find(&slices, &ptq.clusters))
    } else {
        None
    };
    let mut widths = Vec::with_capacity(total_len(params));
    let mut tensors = Vec::with_capacity(params.len());
    let mut start = 0;
    for (p, importance) in params.iter().zip(&segments) {
        let (assigned, itq) = (&mut widths, p.width.as_deref().filter(|_| method.uses_itq()));
        tensors.push(match &boundaries {
            Some(b) => b.visit(PtqTensor { p, importance, start: start as u64, widths: &ptq.widths, itq, assigned }),
            None => match itq {
                Some(itq) => quantize_tensor_by(p, |i| itq[i], Some(assigned)),
                None => quantize_tensor_by(p, |_| FLOAT_WIDTH, Some(assigned)),
            },
        });
        start += p.len();
    }
    let boundaries = boundaries.map_or_else(Vec::new, |b| b.thresholds());
    Ok(Quantized { model: QuantModel { net: net.to_string(), tensors }, widths, boundaries })
}

/// One tensor quantized with PTQ widths (the width of its cluster), or combined ones (the
/// smaller of that and its ITQ width).
struct PtqTensor<'a> {
    p: &'a ParamTensor,
    importance: &'a [f32],
    /// Flat index of the tensor's first value.
    start: u64,
    /// Width per cluster.
    widths: &'a [u8],
    /// The tensor's ITQ widths, for combined quantization.
    itq: Option<&'a [u8]>,
    assigned: &'a mut Vec<u8>,
}

impl ClassifyVisitor for PtqTensor<'_> {
    type Output = QuantTensor;
    fn visit<C: Classify>(self, classify: &C) -> QuantTensor {
        let mut table = [0u8; 256];
        table[..self.widths.len()].copy_from_slice(self.widths);
        // everything the loop reads is held by value, so it is not reloaded after each store
        let (classify, importance, start) = (*classify, &self.importance[..self.p.len()], self.start);
        let ptq = move |i: usize| table[classify.cluster(importance[i], start + i as u64) as usize];
        match self.itq {
            Some(itq) => quantize_tensor_by(self.p, move |i| ptq(i).min(itq[i]), Some(self.assigned)),
            None => quantize_tensor_by(self.p, ptq, Some(self.assigned)),
        }
    }
}

/// Log10 histogram of positive importances, with the boundaries on the same axis.
pub fn histogram(importance: &[f32], boundaries: &[f32]) -> ImportanceHistogram {
    let zeros = importance.iter().filter(|&&g| g <= 0.0).count() as u64;
    let boundaries = boundaries.iter().filter(|b| b.is_finite() && **b > 0.0).map(|&b| f64::from(b).log10()).collect();
    match log10_histogram(importance, HISTOGRAM_BINS) {
        Some(bins) => ImportanceHistogram { log10_edges: bins.log10_edges(), counts: bins.counts, zeros, boundaries },
        None => ImportanceHistogram { zeros, boundaries, ..Default::default() },
    }
}

/// Counts of each final width, keyed by the width as text (for JSON objects).
pub fn width_counts(widths: &[u8]) -> BTreeMap<String, usize> {
    let mut counts = [0usize; 33];
    for &w in widths {
        counts[w as usize] += 1;
    }
    counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(w, c)| (w.to_string(), *c)).collect()
}

impl Compressed {
    /// The encoding of the `.agq` file (and of `report`).
    pub fn encoding(&self) -> Encoding {
        encoding_of(&self.bytes).unwrap_or_default()
    }

    /// The page's view of `importance` (the importance the network was quantized by, flat)
    /// with this quantization's cluster boundaries. Not part of [`compress`]: the page
    /// shows it beside a result, and for a loaded snapshot takes the bins from its index
    /// ([`crate::live_account::LiveAccount::histogram`]) instead of two more passes.
    pub fn importance_histogram(&self, importance: &[f32]) -> ImportanceHistogram {
        histogram(importance, &self.boundaries)
    }

    /// The size of the model in every encoding (CSR first), `report` reused for its own.
    pub fn sizes(&self) -> Result<Vec<EncodingSize>, QuantError> {
        Ok(sizes_with(&self.model, self.encoding(), &self.report)?)
    }
}
