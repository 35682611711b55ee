//! Quantizing a gradient snapshot on request: the settings of `agq quantize` (and of the
//! Python module's `quantize_snapshot`), typed, resolved against the snapshot's network,
//! then the shared pipeline ([`compress`]) and the JSON report. The command
//! line and the Python module both call [`quantize_snapshot`], so their reports and `.agq`
//! bytes are the same for the same request.

use crate::choices::{Importance, Method, Net};
use crate::compress::{Compressed, compress};
use crate::config::RunConfig;
use crate::quant::QuantError;
use crate::quant::cluster::ClusterMethod;
use crate::quant::encoding::Encoding;
use crate::quant::report::Report;
use crate::quant::settings::{CheckedSettings, PtqSettings, QuantSettings, SettingsError};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::fmt;

/// The settings of one quantization; `None` clusters or widths take the network's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizeRequest {
    /// `ptq`, `itq` or `combined` (`none` is refused).
    pub method: Method,
    /// `taylor` needs the snapshot's `taylor/P` tensors; `random` draws from `seed`.
    /// Default: the page's default for the network (`grad`; `grad-magnitude` for VGG-16).
    pub importance: Option<Importance>,
    /// Default: the page's default for the network.
    pub clusters: Option<ClusterMethod>,
    /// One width per cluster (default: the page's default for the network).
    pub widths: Option<Vec<u8>>,
    /// Seed of the random importance.
    pub seed: u64,
    /// The `.agq` encoding.
    pub encoding: Encoding,
}

impl Default for QuantizeRequest {
    /// Method `combined`, the network's importance, clusters and widths, seed 1, `csr`.
    fn default() -> Self {
        QuantizeRequest {
            method: Method::Combined,
            importance: None,
            clusters: None,
            widths: None,
            seed: 1,
            encoding: Encoding::Csr,
        }
    }
}

/// The methods a request may name.
const QUANTIZE_METHODS: &[&str] = &["ptq", "itq", "combined"];

/// A request that is refused, or a snapshot that cannot take it.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantizeError {
    /// A setting is refused.
    Settings(SettingsError),
    /// Importance `taylor` of a snapshot without Taylor values (the setting `importance`).
    NoTaylor(QuantError),
    /// `itq` or `combined` asked of a snapshot without ITQ widths (`width/P`).
    NoItqWidths,
    /// The snapshot's tensors could not be quantized or encoded.
    Quant(QuantError),
}

impl fmt::Display for QuantizeError {
    /// `field: rule` for a setting, the message alone for the snapshot.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantizeError::Settings(e) => e.fmt(f),
            QuantizeError::NoTaylor(e) => write!(f, "importance: {e}"),
            QuantizeError::NoItqWidths => {
                f.write_str("the snapshot has no width/P tensors, which --method itq and combined need (use --method ptq)")
            }
            QuantizeError::Quant(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for QuantizeError {}

impl From<SettingsError> for QuantizeError {
    fn from(e: SettingsError) -> Self {
        QuantizeError::Settings(e)
    }
}

impl QuantizeRequest {
    /// The importance asked for, else the page's default for `net`.
    pub fn importance_for(&self, net: &str) -> Importance {
        self.importance.unwrap_or_else(|| RunConfig::for_net(net.parse().unwrap_or(Net::LeNet300)).importance)
    }

    /// Checks the settings; a missing importance, clusters or widths take the page's defaults for `net`
    /// (LeNet-300-100's, which are METHOD.md's, for a network the page does not have).
    pub fn resolve(&self, net: &str) -> Result<CheckedSettings, SettingsError> {
        if self.method == Method::None {
            return Err(SettingsError::NotOneOf { field: "method", words: QUANTIZE_METHODS });
        }
        let defaults = RunConfig::for_net(net.parse().unwrap_or(Net::LeNet300));
        let ptq = PtqSettings {
            importance: self.importance_for(net).source(self.seed),
            clusters: self.clusters.clone().unwrap_or(defaults.clusters),
            widths: self.widths.clone().unwrap_or(defaults.widths),
        };
        QuantSettings { method: self.method, ptq, encoding: self.encoding }.check()
    }
}

/// The JSON report of `agq quantize --report`: the core's [`Report`] plus the settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuantizeReport {
    #[serde(flatten)]
    pub report: Report,
    pub method: Method,
    pub importance: Importance,
    pub clusters: String,
    pub widths: Vec<u8>,
    pub seed: u64,
    /// The `.agq` encoding the report's bits and bytes are of: `csr`, `relative` or `entropy`.
    pub encoding: String,
}

impl QuantizeReport {
    /// The report as the command line writes it: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes") + "\n"
    }
}

/// A quantized snapshot: the network, its `.agq` file and the report.
#[derive(Clone, Debug)]
pub struct Quantized {
    pub compressed: Compressed,
    pub report: QuantizeReport,
}

/// Quantizes `snapshot` as `request` asks. `itq` and `combined` need the snapshot's ITQ
/// widths (`width/P`).
pub fn quantize_snapshot(snapshot: &Snapshot, request: &QuantizeRequest) -> Result<Quantized, QuantizeError> {
    let s = request.resolve(&snapshot.net)?;
    if s.method().uses_itq() && snapshot.params.iter().all(|p| p.width.is_none()) {
        return Err(QuantizeError::NoItqWidths);
    }
    s.ptq().importance.check(&snapshot.params).map_err(QuantizeError::NoTaylor)?;
    let compressed = compress(&snapshot.net, &snapshot.params, &s).map_err(QuantizeError::Quant)?;
    let report = QuantizeReport {
        report: compressed.report.clone(),
        method: s.method(),
        importance: request.importance_for(&snapshot.net),
        clusters: s.ptq().clusters.to_string(),
        widths: s.ptq().widths.clone(),
        seed: request.seed,
        encoding: request.encoding.to_string(),
    };
    Ok(Quantized { compressed, report })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::importance::ImportanceSource;
    use crate::quant::tensor::ParamTensor;

    fn snapshot(widths: bool) -> Snapshot {
        let mut p = ParamTensor::new("enc.weight", vec![4, 3], (0..12).map(|i| i as f32 / 7.0 - 0.8).collect());
        p.importance = (0..12).map(|i| ((i * 5) % 12) as f32).collect();
        if widths {
            p.width = Some(vec![32, 8, 8, 4, 32, 0, 32, 8, 4, 4, 32, 32]);
        }
        Snapshot { net: "my-net".into(), params: vec![p], metadata: Default::default() }
    }

    #[test]
    fn an_empty_request_takes_the_command_lines_defaults() {
        let q = quantize_snapshot(&snapshot(true), &QuantizeRequest::default()).unwrap();
        assert_eq!(
            (q.report.method.as_str(), q.report.importance.as_str(), q.report.clusters.as_str()),
            ("combined", "grad", "quantile:0.5,0.8,0.95")
        );
        assert_eq!((q.report.widths.clone(), q.report.seed), (vec![0, 4, 6, 8], 1));
        assert_eq!(q.report.report.net, "my-net");
        assert_eq!(q.report.report.bytes as usize, q.compressed.bytes.len());
    }

    #[test]
    fn a_network_the_page_has_gets_its_own_defaults() {
        let mut s = snapshot(false);
        s.net = "vgg16".into();
        let r = QuantizeRequest { method: Method::Ptq, ..Default::default() }.resolve(&s.net).unwrap();
        assert_eq!(r.ptq().widths, vec![0, 4, 5, 8]);
        assert_eq!(r.ptq().importance, ImportanceSource::GradMagnitude);
    }

    #[test]
    fn combined_without_itq_widths_is_refused() {
        let e = quantize_snapshot(&snapshot(false), &QuantizeRequest::default()).unwrap_err();
        assert_eq!(e, QuantizeError::NoItqWidths);
        assert!(e.to_string().contains("width/P"), "{e}");
    }

    #[test]
    fn each_bad_setting_names_its_field() {
        let bad = |r: QuantizeRequest| r.resolve("x").unwrap_err().fields().to_vec();
        assert_eq!(bad(QuantizeRequest { method: Method::None, ..Default::default() }), ["method"]);
        let kmeans = Some(ClusterMethod::KMeans { k: 0 });
        assert_eq!(bad(QuantizeRequest { clusters: kmeans, ..Default::default() }), ["clusters"]);
        assert_eq!(bad(QuantizeRequest { widths: Some(vec![0, 4, 6]), ..Default::default() }), ["clusters", "widths"]);
        assert_eq!(bad(QuantizeRequest { widths: Some(vec![0, 4, 4, 8]), ..Default::default() }), ["widths"]);
    }

    #[test]
    fn taylor_importance_needs_the_snapshots_taylor_tensors() {
        let request = QuantizeRequest { method: Method::Ptq, importance: Some(Importance::Taylor), ..Default::default() };
        let e = quantize_snapshot(&snapshot(false), &request).unwrap_err();
        assert!(matches!(&e, QuantizeError::NoTaylor(QuantError::NoTaylor { tensor }) if tensor == "enc.weight"), "{e}");
        let mut s = snapshot(false);
        // Taylor values ranked the other way round from the gradient's
        s.params[0].taylor = Some(s.params[0].importance.iter().map(|g| 12.0 - g).collect());
        let taylor = quantize_snapshot(&s, &request).unwrap();
        assert_eq!(taylor.report.importance, Importance::Taylor);
        let grad = quantize_snapshot(&s, &QuantizeRequest { importance: Some(Importance::Grad), ..request.clone() }).unwrap();
        assert_ne!(taylor.compressed.widths, grad.compressed.widths);
    }

    #[test]
    fn the_encoding_sizes_the_file_and_is_named_in_the_report() {
        let csr = quantize_snapshot(&snapshot(true), &QuantizeRequest::default()).unwrap();
        assert_eq!(csr.report.encoding, "csr");
        for encoding in [Encoding::Relative, Encoding::Entropy] {
            let request = QuantizeRequest { encoding, ..Default::default() };
            let q = quantize_snapshot(&snapshot(true), &request).unwrap();
            assert_eq!(q.report.encoding, encoding.as_str());
            assert_eq!(q.report.report.bytes as usize, q.compressed.bytes.len());
            let back = crate::quant::codec::decode(&q.compressed.bytes).unwrap();
            assert_eq!(back, csr.compressed.model);
        }
    }
}
