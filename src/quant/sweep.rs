//! The importance sweep: post-training quantization of one network at a range of kept
//! fractions, the same cluster shape and widths for every importance source, so that the
//! sources can be compared at (nearly) equal size. Sizes in all three encodings; the
//! accuracy is measured by the caller (burn), not here.

use super::cluster::ClusterMethod;
use super::encoding::{Encoding, account_with};
use super::error::QuantError;
use super::importance::ImportanceSource;
use super::model::{QuantModel, quantize_model};
use super::ptq::ptq_widths;
use super::tensor::ParamTensor;
use serde::{Deserialize, Serialize};

/// Kept fractions (of all parameters, stored at a width above 0) of the default sweep.
pub const DEFAULT_KEEP: [f64; 10] = [0.03, 0.05, 0.075, 0.10, 0.15, 0.20, 0.30, 0.40, 0.50, 0.60];

/// Quantile boundaries (cumulative fractions, ascending) that prune `1 - keep` of the
/// parameters and split the kept ones among the upper clusters in the same proportions as
/// `base` does: boundary `f` of `base` becomes `1 - keep * (1 - f) / (1 - base[0])`.
/// `base[0]` is the pruned fraction of `base` (its first width must be 0). Rounded to 1e-6.
///
/// # Errors
/// `keep` outside `(0, 1]`, an empty `base`, or `base[0]` not in `[0, 1)`.
pub fn keep_fractions(base: &[f64], keep: f64) -> Result<Vec<f64>, QuantError> {
    if !(keep > 0.0 && keep <= 1.0) {
        return Err(QuantError::KeepOutOfRange(keep));
    }
    let p0 = *base.first().ok_or(QuantError::NoBoundary)?;
    if !(0.0..1.0).contains(&p0) {
        return Err(QuantError::FirstBoundary(p0));
    }
    Ok(base.iter().map(|f| ((1.0 - keep * (1.0 - f) / (1.0 - p0)) * 1e6).round() / 1e6).collect())
}

/// The points of a sweep: every kept fraction with its quantile boundaries, scaled from
/// one cluster shape, and the widths all of them use.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPlan {
    /// One width per cluster in bits, least important first; the first is 0 (pruned).
    pub widths: Vec<u8>,
    /// `(keep, boundaries)` per point, in the order of the kept fractions given.
    pub points: Vec<(f64, Vec<f64>)>,
}

impl SweepPlan {
    /// Scales `shape` (quantile boundaries, the first pruned; k-means has no boundaries to
    /// scale) to each of `keeps` ([`keep_fractions`]).
    ///
    /// # Errors
    /// A k-means shape, widths that do not start with 0 or do not match the boundaries, or
    /// a kept fraction outside `(0, 1]`.
    pub fn new(shape: &ClusterMethod, widths: &[u8], keeps: &[f64]) -> Result<Self, QuantError> {
        let ClusterMethod::Quantile(base) = shape else {
            return Err(QuantError::SweepNeedsQuantile);
        };
        if widths.first() != Some(&0) || widths.len() != base.len() + 1 {
            return Err(QuantError::SweepWidths { clusters: base.len() + 1 });
        }
        let points = keeps.iter().map(|&k| keep_fractions(base, k).map(|f| (k, f))).collect::<Result<_, _>>()?;
        Ok(Self { widths: widths.to_vec(), points })
    }
}

/// Sizes of one quantized model, in bits, and `32 x params / bits` per encoding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sizes {
    /// Parameters stored (width above 0 after quantization: a zero code is pruned too).
    pub nnz: u64,
    pub bits_csr: u64,
    pub bits_relative: u64,
    pub bits_entropy: u64,
    pub ratio_csr: f64,
    pub ratio_relative: f64,
    pub ratio_entropy: f64,
}

/// The exact sizes of `model` under CSR, relative indices and entropy coding
/// ([`account_with`]).
pub fn sizes(model: &QuantModel) -> Result<Sizes, QuantError> {
    let report = |encoding| account_with(model, encoding).map_err(|error| QuantError::Accounting { encoding, error });
    let (csr, relative, entropy) = (report(Encoding::Csr)?, report(Encoding::Relative)?, report(Encoding::Entropy)?);
    Ok(Sizes {
        nnz: csr.nnz,
        bits_csr: csr.total_bits,
        bits_relative: relative.total_bits,
        bits_entropy: entropy.total_bits,
        ratio_csr: csr.ratio,
        ratio_relative: relative.ratio,
        ratio_entropy: entropy.ratio,
    })
}

/// One point of the sweep: PTQ of `params` (network `net`) by the flat `importance`
/// (one value per parameter, see [`ImportanceSource::compute`]) with quantile boundaries
/// `fractions` and one width per cluster (least important first). The quantized model and
/// its sizes.
pub fn sweep_point(
    net: &str,
    params: &[ParamTensor],
    importance: &[f32],
    fractions: &[f64],
    widths: &[u8],
) -> Result<(QuantModel, Sizes), QuantError> {
    if fractions.len() + 1 != widths.len() {
        return Err(QuantError::BoundaryWidths { boundaries: fractions.len(), widths: widths.len() });
    }
    let assigned = ptq_widths(importance, &ClusterMethod::Quantile(fractions.to_vec()), widths);
    let model = quantize_model(net, params, &assigned);
    let sizes = sizes(&model)?;
    Ok((model, sizes))
}

/// A row of `agq sweep`'s results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// `grad`, `magnitude`, `random` or `taylor` (`none` for the float baseline row).
    pub importance: String,
    /// Fraction of the parameters the clustering keeps (before zero codes are pruned).
    pub keep: f64,
    /// Quantile boundaries (cumulative fractions).
    pub fractions: Vec<f64>,
    /// Width per cluster in bits, least important first.
    pub widths: Vec<u8>,
    #[serde(flatten)]
    pub sizes: Sizes,
    /// Top-1 accuracy (%) of the quantized network; None when no test set was given.
    pub accuracy_percent: Option<f64>,
}

/// The name a sweep row gives an importance source (`random` for any seed).
pub fn source_name(source: &ImportanceSource) -> &'static str {
    match source {
        ImportanceSource::Gradient => "grad",
        ImportanceSource::Magnitude => "magnitude",
        ImportanceSource::Random { .. } => "random",
        ImportanceSource::Taylor => "taylor",
        ImportanceSource::GradMagnitude => "grad-magnitude",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_fractions_scale_the_default_shape() {
        // LeNet-300-100's default keeps 50%, split 30/15/5
        assert_eq!(keep_fractions(&[0.5, 0.8, 0.95], 0.5).unwrap(), vec![0.5, 0.8, 0.95]);
        assert_eq!(keep_fractions(&[0.5, 0.8, 0.95], 0.1).unwrap(), vec![0.9, 0.96, 0.99]);
        assert_eq!(keep_fractions(&[0.5, 0.8, 0.95], 1.0).unwrap(), vec![0.0, 0.6, 0.9]);
        assert!(keep_fractions(&[0.5], 0.0).is_err());
        assert!(keep_fractions(&[], 0.5).is_err());
    }

    #[test]
    fn a_plan_scales_its_shape_and_checks_the_widths() {
        let shape = ClusterMethod::Quantile(vec![0.5, 0.8, 0.95]);
        let plan = SweepPlan::new(&shape, &[0, 4, 6, 8], &[0.5, 0.1]).unwrap();
        assert_eq!(plan.points, vec![(0.5, vec![0.5, 0.8, 0.95]), (0.1, vec![0.9, 0.96, 0.99])]);
        assert!(SweepPlan::new(&shape, &[4, 4, 6, 8], &[0.5]).is_err());
        assert!(SweepPlan::new(&shape, &[0, 4, 6], &[0.5]).is_err());
        assert!(SweepPlan::new(&shape, &[0, 4, 6, 8], &[1.5]).is_err());
        assert!(SweepPlan::new(&ClusterMethod::KMeans { k: 4 }, &[0, 4, 6, 8], &[0.5]).is_err());
    }

    #[test]
    fn a_sweep_point_keeps_the_asked_fraction_and_reports_three_sizes() {
        let mut p = ParamTensor::new("w", vec![10, 10], (0..100).map(|i| 0.5 + i as f32 / 100.0).collect());
        p.importance = (0..100).map(|i| i as f32).collect();
        let imp = ImportanceSource::Gradient.compute(&[p.clone()]);
        let (model, s) = sweep_point("n", &[p], &imp, &keep_fractions(&[0.5, 0.8, 0.95], 0.2).unwrap(), &[0, 4, 6, 8]).unwrap();
        assert_eq!(s.nnz, 20);
        assert_eq!(model.tensors[0].widths.iter().filter(|&&w| w > 0).count(), 20);
        assert!(s.ratio_csr > 1.0 && s.ratio_relative > 1.0 && s.ratio_entropy > 1.0, "{s:?}");
        assert!((s.ratio_csr - 32.0 * 100.0 / s.bits_csr as f64).abs() < 1e-9);
    }
}
