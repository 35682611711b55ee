//! The page's summaries of a quantized network (docs/WORKER_PROTOCOL.md): the thesis's CSR
//! ratio, the parameters per width, the bits and sparsity of each tensor, and the size under
//! each storage encoding side by side; and the JSON report of a result ([`RunReport`]).

use crate::compress::{Compressed, width_counts};
use crate::config::{Importance, Method, RunConfig};
use crate::quant::QuantError;
use crate::quant::encoding::Encoding;
use crate::quant::report::{EncodingSize, Report};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the page shows of a result, an epoch or an accounting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `32 * params / CSR bits` (×): the thesis's ratio, whatever the file's encoding.
    pub ratio: f64,
    /// Size of the `.agq` file in bytes, in `encoding`.
    pub bytes: u64,
    /// Parameters (every weight and bias).
    pub params: u64,
    /// CSR bits of the tensors (the file's byte header not counted).
    pub total_bits: u64,
    /// Parameters per assigned width in bits (keyed by the width as text; 0 = pruned).
    pub widths: BTreeMap<String, usize>,
    /// Per tensor, in file order, in CSR.
    pub layers: Vec<LayerSummary>,
    /// The encoding of `bytes` (of a result: its `.agq` file and its report).
    pub encoding: Encoding,
    /// The size in each encoding, CSR (the reference) first: all three for a result or an
    /// epoch; an accounting has CSR only (the others follow from `compress::sizes_of`).
    pub encodings: Vec<EncodingSize>,
}

/// One tensor of a [`Summary`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerSummary {
    pub name: String,
    /// Values in the tensor.
    pub params: u64,
    /// Stored (nonzero) values.
    pub nnz: u64,
    /// CSR bits of the tensor.
    pub bits: u64,
    /// `32 * params / bits` (×; 0 without bits).
    pub ratio: f64,
}

/// The JSON report of a result or an accounting (`report` in the page's result, `agq train
/// --report`): the core's [`Report`] plus the settings that made it and the accuracy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport<'a> {
    #[serde(flatten)]
    pub report: &'a Report,
    pub method: Method,
    pub importance: Importance,
    /// The clusters as link text (`quantile:0.5,0.8,0.95`).
    pub clusters: String,
    /// PTQ width per cluster, in bits.
    pub widths: &'a [u8],
    /// Top-1 accuracy (%) of the decoded file, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// The `.agq` file's encoding (a result's report; an accounting is CSR and has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

impl<'a> RunReport<'a> {
    /// The report of an accounting (`report`, CSR) made with `config`'s settings.
    pub fn of(report: &'a Report, config: &'a RunConfig, accuracy: Option<f64>) -> Self {
        RunReport {
            report,
            method: config.method,
            importance: config.importance,
            clusters: config.clusters.to_string(),
            widths: &config.widths,
            accuracy,
            encoding: None,
        }
    }

    /// The report of a written `.agq` file: its accounting, in its encoding.
    pub fn of_file(c: &'a Compressed, config: &'a RunConfig, accuracy: Option<f64>) -> Self {
        RunReport { encoding: Some(c.encoding()), ..Self::of(&c.report, config, accuracy) }
    }
}

/// The summary of a quantized network: every encoding's size, the file's encoding and size.
pub fn summary(c: &Compressed) -> Result<Summary, QuantError> {
    Ok(from_sizes(c.sizes()?, c.encoding(), c.report.bytes, width_counts(&c.widths)))
}

/// The summary of a CSR accounting (`report`) and the parameters per assigned width.
pub fn summary_of(report: &Report, widths: &BTreeMap<String, usize>) -> Summary {
    from_sizes(vec![EncodingSize::of(Encoding::Csr, report)], Encoding::Csr, report.bytes, widths.clone())
}

fn from_sizes(encodings: Vec<EncodingSize>, encoding: Encoding, bytes: u64, widths: BTreeMap<String, usize>) -> Summary {
    let csr = encodings.iter().find(|s| s.reference).expect("CSR is always sized");
    let layers = csr
        .tensors
        .iter()
        .map(|t| LayerSummary {
            name: t.name.clone(),
            params: t.params,
            nnz: t.nnz,
            bits: t.total,
            ratio: if t.total > 0 { 32.0 * t.params as f64 / t.total as f64 } else { 0.0 },
        })
        .collect();
    Summary { ratio: csr.ratio, bytes, params: csr.params, total_bits: csr.total_bits, widths, layers, encoding, encodings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::{compress, sizes_of};
    use crate::quant::tensor::ParamTensor;

    fn params() -> Vec<ParamTensor> {
        let mut g = crate::rng::SplitMix64(5);
        [vec![40, 30], vec![40]]
            .into_iter()
            .enumerate()
            .map(|(i, shape)| {
                let n: usize = shape.iter().product();
                let mut p = ParamTensor::new(format!("t{i}"), shape, (0..n).map(|_| g.next_f32() - 0.5).collect());
                p.importance = (0..n).map(|_| g.next_f32()).collect();
                p
            })
            .collect()
    }

    #[test]
    fn the_ratio_is_csrs_and_the_bytes_are_the_files_in_every_encoding() {
        let config = RunConfig { method: Method::Ptq, ..RunConfig::default() };
        let settings = config.checked_quant().unwrap();
        let live = sizes_of("n", &params(), &settings).unwrap();
        for e in Encoding::ALL {
            let c = compress("n", &params(), &settings.clone().with_encoding(e)).unwrap();
            let s = summary(&c).unwrap();
            assert_eq!((s.encoding, s.bytes), (e, c.bytes.len() as u64));
            assert_eq!(s.encodings, live, "the file's encoding and the others, as sizes_of gives them");
            assert_eq!(s.encodings[Encoding::ALL.iter().position(|&x| x == e).unwrap()].bytes, c.bytes.len() as u64);
            assert_eq!((s.ratio, s.total_bits), (live[0].ratio, live[0].total_bits), "{e}: CSR's");
            assert_eq!(s.layers.iter().map(|l| l.bits).sum::<u64>(), s.total_bits);
        }
        let csr = compress("n", &params(), &settings.clone().with_encoding(Encoding::Csr)).unwrap();
        let accounted = summary_of(&csr.report, &width_counts(&csr.widths));
        assert_eq!(accounted.encodings, live[..1]);
        assert_eq!(accounted, Summary { encodings: live[..1].to_vec(), ..summary(&csr).unwrap() });
    }
}

#[cfg(test)]
mod report_tests {
    use super::*;

    #[test]
    fn the_run_report_is_the_core_report_with_the_settings() {
        let params = vec![{
            let mut p = crate::quant::tensor::ParamTensor::new("t", vec![4, 5], (0..20).map(|i| i as f32 / 20.0 - 0.5).collect());
            p.importance = (0..20).map(|i| i as f32).collect();
            p
        }];
        let config = RunConfig { method: Method::Ptq, ..RunConfig::default() };
        let c = crate::compress::compress("n", &params, &config.checked_quant().unwrap()).unwrap();
        let json = serde_json::to_value(RunReport::of_file(&c, &config, Some(97.5))).unwrap();
        let mut want = serde_json::to_value(&c.report).unwrap();
        want["method"] = "ptq".into();
        want["importance"] = "grad".into();
        want["clusters"] = "quantile:0.5,0.8,0.95".into();
        want["widths"] = serde_json::json!([0, 4, 6, 8]);
        want["accuracy"] = 97.5.into();
        want["encoding"] = "csr".into();
        assert_eq!(json, want);
        let accounted = serde_json::to_value(RunReport::of(&c.report, &config, None)).unwrap();
        assert!(accounted.get("accuracy").is_none() && accounted.get("encoding").is_none());
    }
}
