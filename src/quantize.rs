//! Quantizing a gradient snapshot on request: the settings of `agq quantize` (and of the
//! Python module's `quantize_snapshot`) as text, resolved against the snapshot's network,
//! then the shared pipeline ([`compress_with`]) and the JSON report. The command line and
//! the Python module both call [`quantize_snapshot`], so their reports and `.agq` bytes are
//! the same for the same request.

use crate::compress::{Compressed, PtqSettings, compress_with_encoding};
use crate::config::{Method, RunConfig};
use crate::quant::encoding::Encoding;
use crate::quant::importance::ImportanceSource;
use crate::quant::report::Report;
use crate::quant::settings::{QuantMethod, QuantSettings, format_widths, parse_widths};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::fmt;

/// The settings of one quantization as the user wrote them; `None` takes the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuantizeRequest {
    /// `ptq`, `itq` or `combined` (default `combined`).
    pub method: Option<String>,
    /// `grad` (or `gradient`), `magnitude`, `random` or `taylor` (default `grad`; `taylor`
    /// needs the snapshot's `taylor/P` tensors).
    pub importance: Option<String>,
    /// `quantile:F1,F2,...` or `kmeans:K` (default: the page's default for the network).
    pub clusters: Option<String>,
    /// One width per cluster, `0,4,6,8` (default: the page's default for the network).
    pub widths: Option<String>,
    /// Seed of the random importance (default 1).
    pub seed: Option<u64>,
    /// The `.agq` encoding: `csr`, `relative` or `entropy` (default `csr`).
    pub encoding: Option<String>,
}

/// The default method of a request.
pub const DEFAULT_METHOD: &str = "combined";
/// The default importance of a request.
pub const DEFAULT_IMPORTANCE: &str = "grad";
/// The default seed of the random importance.
pub const DEFAULT_SEED: u64 = 1;

/// A setting of a [`QuantizeRequest`] that is refused, or a snapshot that cannot take it.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizeError {
    /// The setting at fault (`method`, `importance`, `clusters`, `widths`, `encoding`), or
    /// `snapshot`.
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for QuantizeError {
    /// `--field: message`, as the command line prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field == "snapshot" {
            f.write_str(&self.message)
        } else {
            write!(f, "--{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for QuantizeError {}

fn refuse(field: &'static str, message: impl Into<String>) -> QuantizeError {
    QuantizeError { field, message: message.into() }
}

/// A request resolved against a network: every setting typed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub settings: QuantSettings,
    /// The importance as the report names it: `grad`, `magnitude`, `random` or `taylor`.
    pub importance_name: &'static str,
    pub seed: u64,
    pub encoding: Encoding,
}

impl QuantizeRequest {
    /// Types and checks the settings; missing clusters or widths take the page's defaults
    /// for `net` (LeNet-300-100's, which are METHOD.md's, for a network the page does not have).
    pub fn resolve(&self, net: &str) -> Result<Resolved, QuantizeError> {
        let defaults = RunConfig::for_net(net.parse().unwrap_or(crate::config::Net::Lenet300));
        let clusters = self.clusters.clone().unwrap_or_else(|| defaults.clusters.to_string());
        let widths = self.widths.clone().unwrap_or_else(|| format_widths(&defaults.widths));
        let seed = self.seed.unwrap_or(DEFAULT_SEED);
        let (importance, importance_name) = match self.importance.as_deref().unwrap_or(DEFAULT_IMPORTANCE).trim() {
            "grad" | "gradient" => (ImportanceSource::Gradient, "grad"),
            "magnitude" => (ImportanceSource::Magnitude, "magnitude"),
            "random" => (ImportanceSource::Random { seed }, "random"),
            "taylor" => (ImportanceSource::Taylor, "taylor"),
            other => return Err(refuse("importance", format!("{other:?}: expected grad, magnitude, random or taylor"))),
        };
        let method = self.method.as_deref().unwrap_or(DEFAULT_METHOD);
        let settings = QuantSettings {
            method: method.parse().map_err(|e| refuse("method", format!("{e} (expected ptq, itq or combined)")))?,
            importance,
            cluster: clusters.parse().map_err(|e| refuse("clusters", format!("{e}")))?,
            widths: parse_widths(&widths).map_err(|e| refuse("widths", format!("{e}")))?,
        };
        settings.check().map_err(|e| refuse("clusters/--widths", format!("{e}")))?;
        let encoding = match &self.encoding {
            None => Encoding::Csr,
            Some(e) => e.parse().map_err(|e| refuse("encoding", format!("{e}")))?,
        };
        Ok(Resolved { settings, importance_name, seed, encoding })
    }
}

/// The JSON report of `agq quantize --report`: the core's [`Report`] plus the settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuantizeReport {
    #[serde(flatten)]
    pub report: Report,
    pub method: String,
    pub importance: String,
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
    let resolved = request.resolve(&snapshot.net)?;
    let s = &resolved.settings;
    let method = match s.method {
        QuantMethod::Ptq => Method::Ptq,
        QuantMethod::Itq => Method::Itq,
        QuantMethod::Combined => Method::Combined,
    };
    if method != Method::Ptq && snapshot.params.iter().all(|p| p.width.is_none()) {
        return Err(refuse(
            "snapshot",
            "the snapshot has no width/P tensors, which --method itq and combined need (use --method ptq)",
        ));
    }
    s.importance.check(&snapshot.params).map_err(|e| refuse("importance", e))?;
    let ptq = PtqSettings { importance: s.importance, clusters: s.cluster.clone(), widths: s.widths.clone() };
    let compressed = compress_with_encoding(&snapshot.net, &snapshot.params, method, &ptq, resolved.encoding)
        .map_err(|e| refuse("snapshot", e))?;
    let report = QuantizeReport {
        report: compressed.report.clone(),
        method: s.method.to_string(),
        importance: resolved.importance_name.to_string(),
        clusters: s.cluster.to_string(),
        widths: s.widths.clone(),
        seed: resolved.seed,
        encoding: resolved.encoding.to_string(),
    };
    Ok(Quantized { compressed, report })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let r = QuantizeRequest { method: Some("ptq".into()), ..Default::default() }.resolve(&s.net).unwrap();
        assert_eq!(r.settings.widths, vec![0, 4, 5, 6]);
    }

    #[test]
    fn combined_without_itq_widths_is_refused() {
        let e = quantize_snapshot(&snapshot(false), &QuantizeRequest::default()).unwrap_err();
        assert_eq!(e.field, "snapshot");
        assert!(e.to_string().contains("width/P"), "{e}");
    }

    #[test]
    fn each_bad_setting_names_its_field() {
        let bad = |r: QuantizeRequest| r.resolve("x").unwrap_err().field;
        assert_eq!(bad(QuantizeRequest { method: Some("fast".into()), ..Default::default() }), "method");
        assert_eq!(bad(QuantizeRequest { importance: Some("fisher".into()), ..Default::default() }), "importance");
        assert_eq!(bad(QuantizeRequest { clusters: Some("median".into()), ..Default::default() }), "clusters");
        assert_eq!(bad(QuantizeRequest { widths: Some("0,4,x".into()), ..Default::default() }), "widths");
        assert_eq!(bad(QuantizeRequest { widths: Some("0,4,6".into()), ..Default::default() }), "clusters/--widths");
        assert_eq!(bad(QuantizeRequest { encoding: Some("huffman".into()), ..Default::default() }), "encoding");
    }

    #[test]
    fn taylor_importance_needs_the_snapshots_taylor_tensors() {
        let request = QuantizeRequest { method: Some("ptq".into()), importance: Some("taylor".into()), ..Default::default() };
        let e = quantize_snapshot(&snapshot(false), &request).unwrap_err();
        assert_eq!(e.field, "importance");
        assert!(e.message.contains("no taylor/enc.weight"), "{e}");
        let mut s = snapshot(false);
        // Taylor values ranked the other way round from the gradient's
        s.params[0].taylor = Some(s.params[0].importance.iter().map(|g| 12.0 - g).collect());
        let taylor = quantize_snapshot(&s, &request).unwrap();
        assert_eq!(taylor.report.importance, "taylor");
        let grad = quantize_snapshot(&s, &QuantizeRequest { importance: None, ..request.clone() }).unwrap();
        assert_ne!(taylor.compressed.widths, grad.compressed.widths);
    }

    #[test]
    fn the_encoding_sizes_the_file_and_is_named_in_the_report() {
        let csr = quantize_snapshot(&snapshot(true), &QuantizeRequest::default()).unwrap();
        assert_eq!(csr.report.encoding, "csr");
        for name in ["relative", "entropy"] {
            let request = QuantizeRequest { encoding: Some(name.into()), ..Default::default() };
            let q = quantize_snapshot(&snapshot(true), &request).unwrap();
            assert_eq!(q.report.encoding, name);
            assert_eq!(q.report.report.bytes as usize, q.compressed.bytes.len());
            let back = crate::quant::codec::decode(&q.compressed.bytes).unwrap();
            assert_eq!(back, csr.compressed.model);
        }
    }
}
