//! A gradient snapshot of ANY architecture opened by the user (the page's "Open a
//! snapshot"): read from the bytes of a local file, accounted and quantized under its own
//! `agq.net` name, whether or not it is one of the built-in networks. Whether it IS a
//! built-in network (and so can be evaluated) is decided by [`match_network`] against the
//! network's parameter list, which the nn layer supplies.

use crate::compress::{Compressed, ImportanceHistogram, compress, sizes_of};
use crate::config::Method;
use crate::quant::settings::CheckedSettings;
use crate::live_account::{Accounted, LiveAccount};
use crate::quant::QuantError;
use crate::quant::layout::{MAX_HEADER, header_len_of};
use crate::quant::report::EncodingSize;
use crate::quant::tensor::{ParamTensor, rows_of};
use crate::choices::Net;
use crate::snapshot::{Snapshot, SnapshotError};
use serde::Serialize;
use std::fmt;

/// The largest snapshot file opened (256 MiB: about 32 million parameters in F32, twice
/// that in F16). The page refuses a larger file before reading it; [`OpenedSnapshot::from_bytes`]
/// refuses it too.
pub const MAX_SNAPSHOT_BYTES: usize = 256 * 1024 * 1024;

/// The name and output-major shape of one parameter tensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerShape {
    pub name: String,
    pub shape: Vec<usize>,
}

/// What the page shows about an opened snapshot (docs/WORKER_PROTOCOL.md, `openSnapshot`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInfo {
    /// `agq.net`: the name the `.agq` file carries.
    pub net: String,
    /// Whether it is a built-in network (every tensor name and shape matches), so that its
    /// accuracy can be measured.
    pub builtin: bool,
    /// Why the accuracy is not measured (when `builtin` is false), e.g. `"mynet" is not a
    /// built-in network`.
    pub not_builtin: Option<String>,
    /// The test set a built-in network is evaluated on (`MNIST`, `CIFAR-10`), else null.
    pub dataset: Option<String>,
    /// Values over all tensors.
    pub params: usize,
    pub tensors: usize,
    /// Whether any tensor has ITQ widths (`width/P` or `width_index/P`): itq and combined
    /// need them.
    pub has_widths: bool,
    /// `agq.provenance` parsed as JSON, or null.
    pub provenance: Option<serde_json::Value>,
    /// Every tensor in network order.
    pub layers: Vec<LayerShape>,
}

/// A snapshot of any architecture, ready to account and quantize.
pub struct OpenedSnapshot {
    pub snapshot: Snapshot,
    /// The re-accounting index (built on the first `account`).
    live: LiveAccount,
}

impl OpenedSnapshot {
    /// Parses and checks a snapshot file: at most [`MAX_SNAPSHOT_BYTES`], a valid
    /// `agq-snapshot/1` (docs/SNAPSHOT.md) that an `.agq` file can hold.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OpenError> {
        if bytes.len() > MAX_SNAPSHOT_BYTES {
            return Err(OpenError::TooLarge { bytes: bytes.len() });
        }
        if bytes.is_empty() {
            return Err(OpenError::Empty);
        }
        Self::new(Snapshot::from_bytes(bytes).map_err(OpenError::Invalid)?)
    }

    /// Checks that an `.agq` file can hold `snapshot` (see [`check_encodable`]).
    pub fn new(snapshot: Snapshot) -> Result<Self, OpenError> {
        check_encodable(&snapshot.net, &snapshot.params)?;
        Ok(Self { snapshot, live: LiveAccount::default() })
    }

    /// The network name (`agq.net`).
    pub fn net(&self) -> &str {
        &self.snapshot.net
    }

    /// Whether any tensor carries ITQ widths.
    pub fn has_widths(&self) -> bool {
        self.snapshot.params.iter().any(|p| p.width.is_some())
    }

    /// The page's description; `builtin` is the built-in network it is, or why it is not
    /// one ([`match_network`]).
    pub fn info(&self, builtin: &Result<Net, NotBuiltin>) -> SnapshotInfo {
        let params = &self.snapshot.params;
        SnapshotInfo {
            net: self.snapshot.net.clone(),
            builtin: builtin.is_ok(),
            not_builtin: builtin.as_ref().err().map(ToString::to_string),
            dataset: builtin.as_ref().ok().map(|k| k.dataset().to_string()),
            params: self.snapshot.num_values(),
            tensors: params.len(),
            has_widths: self.has_widths(),
            provenance: self.snapshot.provenance(),
            layers: params.iter().map(|p| LayerShape { name: p.name.clone(), shape: p.shape.clone() }).collect(),
        }
    }

    /// Refuses itq and combined on a snapshot without ITQ widths.
    pub fn check_method(&self, method: Method) -> Result<(), QuantError> {
        if matches!(method, Method::Itq | Method::Combined) && !self.has_widths() {
            return Err(QuantError::NoItqWidths { net: self.snapshot.net.clone(), method });
        }
        Ok(())
    }

    /// The exact CSR accounting of `settings` under the snapshot's own name: the first
    /// call per importance source indexes the parameters, later ones take about a
    /// millisecond per 15 million parameters.
    pub fn account(&mut self, settings: &CheckedSettings) -> Result<Accounted, QuantError> {
        self.check_method(settings.method())?;
        self.live.account(&self.snapshot.net, &self.snapshot.params, settings)
    }

    /// Quantizes as `settings` say: the `.agq` file (in `settings.encoding()`) carries the
    /// snapshot's own `agq.net` name.
    pub fn compress(&self, settings: &CheckedSettings) -> Result<Compressed, QuantError> {
        self.check_method(settings.method())?;
        compress(&self.snapshot.net, &self.snapshot.params, settings)
    }

    /// The importance histogram of `settings`' importance source, marked with `boundaries`
    /// (from the accounting's index when it has one: no pass over the parameters).
    pub fn importance_histogram(&self, settings: &CheckedSettings, boundaries: &[f32]) -> Result<ImportanceHistogram, QuantError> {
        self.live.histogram(&self.snapshot.net, &self.snapshot.params, &settings.ptq().importance, boundaries)
    }

    /// The size of `settings`' quantization in every encoding, CSR first (no file written;
    /// for VGG-16's size a few hundred milliseconds, so the page asks after the CSR accounting).
    pub fn sizes(&self, settings: &CheckedSettings) -> Result<Vec<EncodingSize>, QuantError> {
        self.check_method(settings.method())?;
        sizes_of(&self.snapshot.net, &self.snapshot.params, settings)
    }
}

/// Whether an `.agq` file can hold a network named `net` with `params`: names and the net
/// name of at most 255 bytes, at most 255 dimensions, rows and columns (of the 2-D view:
/// the first dimension, the product of the rest) below 2^32, and a file header (names and
/// shapes) within the format's 4 KiB even with every value pruned.
pub fn check_encodable(net: &str, params: &[ParamTensor]) -> Result<(), OpenError> {
    if net.len() > 255 {
        return Err(OpenError::NetName { bytes: net.len() });
    }
    if let Some(p) = params.iter().find(|p| p.name.len() > 255) {
        return Err(OpenError::TensorName { start: truncate(&p.name, 40).to_string(), bytes: p.name.len() });
    }
    if let Some(p) = params.iter().find(|p| p.shape.len() > 255) {
        return Err(OpenError::Dimensions { tensor: p.name.clone(), dims: p.shape.len() });
    }
    let too_many = |d: usize| d > u32::MAX as usize;
    if let Some(p) = params.iter().find(|p| {
        let cols = p.shape.iter().skip(usize::from(p.shape.len() >= 2)).try_fold(1usize, |a, &d| a.checked_mul(d));
        too_many(rows_of(&p.shape)) || cols.is_none_or(too_many)
    }) {
        return Err(OpenError::RowsOrColumns { tensor: p.name.clone(), shape: p.shape.clone() });
    }
    let header = header_len_of(net, params.iter().map(|p| (p.name.as_str(), p.shape.as_slice(), 0)));
    if header > MAX_HEADER {
        return Err(OpenError::Header { tensors: params.len(), bytes: header });
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Whether `params` are those of the built-in network named `builtin_name`, whose tensors
/// are `expected` (name and output-major shape): the same names, each with the same shape,
/// and no other tensor. The error says plainly why not.
pub fn match_network(builtin_name: &str, params: &[ParamTensor], expected: &[LayerShape]) -> Result<(), NotBuiltin> {
    let net = || builtin_name.to_string();
    for e in expected {
        let p = params
            .iter()
            .find(|p| p.name == e.name)
            .ok_or_else(|| NotBuiltin::MissingTensor { net: net(), tensor: e.name.clone() })?;
        if p.shape != e.shape {
            return Err(NotBuiltin::Shape { net: net(), tensor: e.name.clone(), shape: p.shape.clone(), expected: e.shape.clone() });
        }
    }
    if let Some(p) = params.iter().find(|p| !expected.iter().any(|e| e.name == p.name)) {
        return Err(NotBuiltin::ExtraTensor { net: net(), tensor: p.name.clone() });
    }
    Ok(())
}

/// Why a snapshot file cannot be opened.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenError {
    /// More than [`MAX_SNAPSHOT_BYTES`].
    TooLarge { bytes: usize },
    /// No byte at all.
    Empty,
    /// Not a valid `agq-snapshot/1` file.
    Invalid(SnapshotError),
    /// A network name (`agq.net`) longer than an `.agq` file holds (255 bytes).
    NetName { bytes: usize },
    /// A tensor name longer than 255 bytes (`start`: its first 40 bytes at most).
    TensorName { start: String, bytes: usize },
    /// A tensor with more than 255 dimensions.
    Dimensions { tensor: String, dims: usize },
    /// A tensor whose 2-D view has 2^32 or more rows or columns.
    RowsOrColumns { tensor: String, shape: Vec<usize> },
    /// Names and shapes that need an `.agq` header above [`MAX_HEADER`] bytes.
    Header { tensors: usize, bytes: usize },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use OpenError::*;
        match self {
            TooLarge { bytes } => {
                write!(f, "the file has {bytes} bytes, more than the {} MiB a snapshot may have here", MAX_SNAPSHOT_BYTES >> 20)
            }
            Empty => f.write_str("the file is empty"),
            Invalid(e) => write!(f, "not a valid agq-snapshot/1 file: {e}"),
            NetName { bytes } => write!(f, "the network name (agq.net) has {bytes} bytes; an .agq file holds at most 255"),
            TensorName { start, bytes } => write!(f, "the tensor name {start:?}… has {bytes} bytes; an .agq file holds at most 255"),
            Dimensions { tensor, dims } => write!(f, "{tensor} has {dims} dimensions; an .agq file holds at most 255"),
            RowsOrColumns { tensor, shape } => {
                write!(f, "{tensor} has shape {shape:?}; an .agq file holds at most 2^32 - 1 rows and columns")
            }
            Header { tensors, bytes } => write!(
                f,
                "the names and shapes of its {tensors} tensors need a {bytes}-byte .agq header; the format allows {MAX_HEADER} bytes"
            ),
        }
    }
}

impl std::error::Error for OpenError {}

/// Why a snapshot is not one of the built-in networks (so its accuracy is not measured).
#[derive(Debug, Clone, PartialEq)]
pub enum NotBuiltin {
    /// `agq.net` names no built-in network.
    UnknownNet { net: String },
    /// Named as the built-in `net` but without its tensor `tensor`.
    MissingTensor { net: String, tensor: String },
    /// Named as the built-in `net` but `tensor` has `shape`, not `expected`.
    Shape { net: String, tensor: String, shape: Vec<usize>, expected: Vec<usize> },
    /// Named as the built-in `net` but with a tensor it does not have.
    ExtraTensor { net: String, tensor: String },
}

impl fmt::Display for NotBuiltin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use NotBuiltin::*;
        match self {
            UnknownNet { net } => write!(f, "{net:?} is not a built-in network ({})", Net::WORDS.join(", ")),
            MissingTensor { net, tensor } => {
                write!(f, "it is named {net:?} but has no tensor {tensor}, which the built-in {net} has")
            }
            Shape { net, tensor, shape, expected } => {
                write!(f, "it is named {net:?} but {tensor} has shape {shape:?}; the built-in {net} has {expected:?}")
            }
            ExtraTensor { net, tensor } => {
                write!(f, "it is named {net:?} but has a tensor {tensor} that the built-in {net} does not have")
            }
        }
    }
}

impl std::error::Error for NotBuiltin {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::codec::decode;
    use crate::snapshot::StoreDtype;

    /// A small conv + linear network that no built-in network matches, with ITQ widths.
    fn custom(widths: bool) -> Snapshot {
        let mut g = crate::rng::SplitMix64(7);
        let shapes: [(&str, Vec<usize>); 5] = [
            ("features.0.weight", vec![4, 1, 3, 3]),
            ("features.0.bias", vec![4]),
            ("head.weight", vec![10, 64]),
            ("head.bias", vec![10]),
            ("scale", vec![]),
        ];
        let params = shapes
            .into_iter()
            .map(|(name, shape)| {
                let n: usize = shape.iter().product();
                let mut p = ParamTensor::new(name.to_string(), shape, (0..n).map(|_| g.next_f32() - 0.5).collect());
                p.importance = (0..n).map(|_| g.next_f32()).collect();
                if widths {
                    p.width = Some((0..n).map(|j| [0, 4, 8, 32][j % 4]).collect());
                }
                p
            })
            .collect();
        let mut s = Snapshot { net: "custom-cnn".into(), params, ..Default::default() };
        s.set_provenance(&serde_json::json!({ "trained_with": "test" }));
        s
    }

    fn config(query: &str) -> CheckedSettings {
        let parsed = crate::config::RunConfig::parse_query(query);
        assert!(parsed.issues.is_empty(), "{query}: {:?}", parsed.issues);
        parsed.config.checked_quant().unwrap()
    }

    #[test]
    fn a_custom_snapshot_is_accounted_and_compressed_under_its_own_name() {
        let bytes = custom(true).to_bytes(StoreDtype::F32);
        let mut opened = OpenedSnapshot::from_bytes(&bytes).unwrap();
        assert_eq!(opened.net(), "custom-cnn");
        for method in ["ptq", "itq", "combined", "none"] {
            for importance in ["grad", "magnitude", "random"] {
                // the config's network (lenet5) plays no part
                let c = config(&format!("net=lenet5&method={method}&importance={importance}&clusters=quantile:0.5,0.9&widths=0,4,8"));
                let accounted = opened.account(&c).unwrap();
                let compressed = opened.compress(&c).unwrap();
                assert_eq!(accounted.report, compressed.report, "{method} {importance}");
                assert_eq!(compressed.report.net, "custom-cnn");
                assert_eq!(compressed.bytes.len() as u64, compressed.report.bytes);
                let decoded = decode(&compressed.bytes).unwrap();
                assert_eq!(decoded.net, "custom-cnn");
                let names: Vec<&str> = decoded.tensors.iter().map(|t| t.name.as_str()).collect();
                assert_eq!(names, ["features.0.weight", "features.0.bias", "head.weight", "head.bias", "scale"]);
                assert_eq!(decoded.tensors[0].shape, [4, 1, 3, 3]);
            }
        }
        // every encoding: the file and its size as sized beside the CSR accounting
        let sizes = opened.sizes(&config("method=combined")).unwrap();
        assert_eq!(sizes[0].total_bits, opened.account(&config("method=combined")).unwrap().report.total_bits);
        for (s, e) in sizes.iter().zip(["csr", "relative", "entropy"]) {
            let compressed = opened.compress(&config(&format!("method=combined&encoding={e}"))).unwrap();
            assert_eq!((s.encoding.as_str(), s.bytes), (e, compressed.bytes.len() as u64));
            assert_eq!(decode(&compressed.bytes).unwrap().net, "custom-cnn");
        }
        // fewer bits, higher ratio
        let wide = opened.account(&config("method=ptq&clusters=quantile:0.5&widths=8,16")).unwrap();
        let narrow = opened.account(&config("method=ptq&clusters=quantile:0.5&widths=0,4")).unwrap();
        assert!(narrow.report.ratio > wide.report.ratio);
    }

    #[test]
    fn the_info_lists_every_tensor_and_the_reason() {
        let opened = OpenedSnapshot::new(custom(false)).unwrap();
        let info = opened.info(&Err(NotBuiltin::UnknownNet { net: "custom-cnn".into() }));
        assert_eq!(info.net, "custom-cnn");
        assert!(!info.builtin && !info.has_widths && info.dataset.is_none());
        assert_eq!(info.not_builtin.as_deref(), Some("\"custom-cnn\" is not a built-in network (lenet300, lenet5, alexnet, vgg16)"));
        assert_eq!(info.tensors, 5);
        assert_eq!(info.params, 36 + 4 + 640 + 10 + 1);
        assert_eq!(info.layers[0], LayerShape { name: "features.0.weight".into(), shape: vec![4, 1, 3, 3] });
        assert_eq!(info.provenance, Some(serde_json::json!({ "trained_with": "test" })));
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["hasWidths"], false);
        assert_eq!(json["notBuiltin"], info.not_builtin.as_deref().unwrap());
    }

    #[test]
    fn itq_and_combined_are_refused_without_widths() {
        let mut opened = OpenedSnapshot::new(custom(false)).unwrap();
        for method in ["itq", "combined"] {
            let c = config(&format!("method={method}"));
            let e = opened.account(&c).unwrap_err();
            assert_eq!(e.field(), Some("method"));
            assert!(e.to_string().contains("no ITQ widths") && e.to_string().contains("ptq"), "{e}");
            assert_eq!(opened.compress(&c).unwrap_err(), e);
        }
        assert!(opened.account(&config("method=ptq")).is_ok());
        assert!(opened.compress(&config("method=none")).is_ok());
    }

    #[test]
    fn bad_files_are_refused_with_a_message() {
        let good = custom(true).to_bytes(StoreDtype::F16);
        assert_eq!(OpenedSnapshot::from_bytes(&[]).err(), Some(OpenError::Empty));
        assert_eq!(OpenedSnapshot::from_bytes(&[]).err().unwrap().to_string(), "the file is empty");
        assert!(matches!(OpenedSnapshot::from_bytes(b"not a safetensors file at all"), Err(OpenError::Invalid(_))));
        for cut in [1, 8, 9, 100, good.len() / 2, good.len() - 1] {
            let e = OpenedSnapshot::from_bytes(&good[..cut]).err().unwrap_or_else(|| panic!("cut at {cut} accepted"));
            assert!(matches!(e, OpenError::Invalid(_)), "{e}");
            assert!(e.to_string().starts_with("not a valid agq-snapshot/1 file"), "{e}");
        }
        // a safetensors file without the agq metadata
        let plain = safetensors::serialize(
            [("w", safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &[0u8; 4]).unwrap())],
            None,
        )
        .unwrap();
        assert!(matches!(OpenedSnapshot::from_bytes(&plain), Err(OpenError::Invalid(SnapshotError::WrongFormat(None)))));
        // a flipped byte anywhere never panics
        for i in (0..good.len()).step_by(7) {
            let mut b = good.clone();
            b[i] ^= 0x5a;
            let _ = OpenedSnapshot::from_bytes(&b);
        }
    }

    #[test]
    fn names_and_headers_an_agq_file_cannot_hold_are_refused() {
        let mut s = custom(false);
        s.params[0].name = "x".repeat(300);
        assert_eq!(OpenedSnapshot::new(s).err(), Some(OpenError::TensorName { start: "x".repeat(40), bytes: 300 }));
        let mut s = custom(false);
        s.net = "n".repeat(256);
        assert_eq!(OpenedSnapshot::new(s).err(), Some(OpenError::NetName { bytes: 256 }));
        let mut s = custom(false);
        s.params = (0..200).map(|i| ParamTensor::new(format!("block.{i}.a_rather_long_parameter_name.weight"), vec![1], vec![0.5])).collect();
        let e = OpenedSnapshot::new(s).err().unwrap();
        assert!(matches!(e, OpenError::Header { tensors: 200, .. }) && e.to_string().contains("4096 bytes"), "{e}");
    }

    #[test]
    fn zero_sized_tensors_do_not_panic() {
        let mut s = custom(true);
        s.params.push(ParamTensor::new("empty.weight", vec![0, 5], vec![]));
        let mut opened = OpenedSnapshot::new(s).unwrap();
        for method in ["ptq", "combined", "none", "itq"] {
            let c = config(&format!("method={method}"));
            let a = opened.account(&c).unwrap();
            assert_eq!(a.report, opened.compress(&c).unwrap().report);
        }
    }

    #[test]
    fn matching_a_built_in_network_needs_every_name_and_shape() {
        let expected = vec![
            LayerShape { name: "fc1.weight".into(), shape: vec![3, 4] },
            LayerShape { name: "fc1.bias".into(), shape: vec![3] },
        ];
        let p = |name: &str, shape: Vec<usize>| {
            let n = shape.iter().product();
            ParamTensor::new(name, shape, vec![0.0; n])
        };
        let same = vec![p("fc1.bias", vec![3]), p("fc1.weight", vec![3, 4])]; // any order
        assert_eq!(match_network("tiny", &same, &expected), Ok(()));
        let e = match_network("tiny", &[p("fc1.weight", vec![3, 4])], &expected).unwrap_err();
        assert_eq!(e, NotBuiltin::MissingTensor { net: "tiny".into(), tensor: "fc1.bias".into() });
        assert!(e.to_string().contains("no tensor fc1.bias"), "{e}");
        let e = match_network("tiny", &[p("fc1.weight", vec![4, 3]), p("fc1.bias", vec![3])], &expected).unwrap_err();
        assert!(e.to_string().contains("fc1.weight has shape [4, 3]") && e.to_string().contains("[3, 4]"), "{e}");
        let mut more = same.clone();
        more.push(p("fc2.weight", vec![1]));
        let e = match_network("tiny", &more, &expected).unwrap_err();
        assert_eq!(e, NotBuiltin::ExtraTensor { net: "tiny".into(), tensor: "fc2.weight".into() });
    }

    #[test]
    fn too_large_a_file_is_refused_before_parsing() {
        let big = vec![0u8; MAX_SNAPSHOT_BYTES + 1];
        let e = OpenedSnapshot::from_bytes(&big).err().unwrap();
        assert!(matches!(e, OpenError::TooLarge { .. }) && e.to_string().contains("256 MiB"), "{e}");
    }
}
