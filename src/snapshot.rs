//! Gradient snapshots: a network's parameters with their accumulated importance,
//! in safetensors, schema `agq-snapshot/1` (see `docs/SNAPSHOT.md`).
//!
//! Every parameter `P` is stored as `weight/P` and `importance/P` (same shape,
//! `F32` or `F16`), optionally its accumulated Taylor importance `taylor/P` (same shape and
//! dtypes as `importance/P`) and its current ITQ widths (32 = float): `width/P` (`U8`, one
//! per value) or `width_index/P` (bit-packed indices into `agq.width_table`, see
//! [`width_pack`]; what [`Snapshot::to_bytes`] writes).
//! Layout is output-major as in PyTorch: Linear `[out, in]`, Conv `[out, in, kh, kw]`,
//! bias `[out]`. Metadata: `agq.format = agq-snapshot/1`, `agq.net`, optional
//! `agq.params` (comma-separated parameter order; else sorted by name) and any
//! other string entries such as `agq.provenance` (a JSON object).

mod width_pack;
pub use width_pack::WidthTableError;

use crate::quant::fixed_point::is_valid_width;
pub use width_pack::KEY_WIDTH_TABLE;
use crate::quant::tensor::ParamTensor;
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, View};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The value of the `agq.format` metadata entry.
pub const FORMAT: &str = "agq-snapshot/1";
/// Metadata keys written from the [`Snapshot`] fields (not kept in `metadata`).
pub const KEY_FORMAT: &str = "agq.format";
pub const KEY_NET: &str = "agq.net";
pub const KEY_PARAMS: &str = "agq.params";
/// Free-form provenance (how trained, epochs, data set, accuracy, date...) as a JSON object.
pub const KEY_PROVENANCE: &str = "agq.provenance";

/// A network's parameters, importances and optional ITQ widths.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Architecture name (`lenet300`, `lenet5`, `alexnet`, `vgg16` or any other).
    pub net: String,
    /// Parameters in network order (names must not contain `,`: see `agq.params`).
    pub params: Vec<ParamTensor>,
    /// Every other metadata entry (e.g. `agq.provenance`); the three keys
    /// `agq.format`, `agq.net`, `agq.params` are derived from the fields.
    pub metadata: BTreeMap<String, String>,
}

/// On-disk element type of `weight/P` and `importance/P`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreDtype {
    /// Exact: 4 bytes per value.
    F32,
    /// 2 bytes per value. A nonzero value below f16's smallest subnormal (2^-24) is stored
    /// as +-2^-24, so that it stays nonzero without keeping its whole tensor in F32; a tensor
    /// with a value that would overflow f16 is kept in F32.
    F16,
}

/// Why bytes are not a valid `agq-snapshot/1`.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotError {
    /// Not a safetensors file (bad header length, header not UTF-8 JSON, bad offsets).
    NotSafetensors(String),
    /// Shorter (or longer) than its header announces.
    Truncated(String),
    /// `agq.format` missing or not `agq-snapshot/1`.
    WrongFormat(Option<String>),
    /// `agq.net` missing or empty.
    MissingNet,
    /// No `weight/...` tensor at all.
    Empty,
    /// A tensor whose name is not `weight/P`, `importance/P`, `taylor/P` or `width/P`.
    UnexpectedTensor(String),
    /// `weight/P` without `importance/P`.
    MissingImportance(String),
    /// `importance/P`, `taylor/P` or `width/P` without `weight/P`.
    MissingWeight(String),
    /// `agq.params` names a parameter twice, names one without a weight, or leaves one out.
    ParamOrder(String),
    /// `importance/P`, `taylor/P` or `width/P` has another shape than `weight/P`.
    ShapeMismatch { tensor: String, expected: Vec<usize>, found: Vec<usize> },
    /// A tensor stored in a dtype the schema does not allow.
    WrongDtype { tensor: String, dtype: String },
    /// A NaN or infinite weight or importance (gradient or Taylor).
    NonFinite { tensor: String, index: usize },
    /// An importance (gradient or Taylor) below zero.
    NegativeImportance { tensor: String, index: usize, value: f32 },
    /// A width that is not 0, 2..=16 or 32.
    InvalidWidth { tensor: String, index: usize, value: u8 },
    /// `width_index/P` without a valid `agq.width_table`, or an index outside it.
    WidthTable(WidthTableError),
    /// A shape whose 2-D view cannot be sized: with a zero dimension the values are none,
    /// but the product of the dimensions after the first (its columns) overflows.
    ShapeTooLarge { tensor: String, shape: Vec<usize> },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SnapshotError::*;
        match self {
            NotSafetensors(e) => write!(f, "not a safetensors file ({e})"),
            Truncated(e) => write!(f, "truncated safetensors file ({e})"),
            WrongFormat(None) => write!(f, "no {KEY_FORMAT} metadata (expected {FORMAT})"),
            WrongFormat(Some(s)) => write!(f, "{KEY_FORMAT} is {s:?}, expected {FORMAT}"),
            MissingNet => write!(f, "no {KEY_NET} metadata naming the network"),
            Empty => write!(f, "no weight/... tensors"),
            UnexpectedTensor(t) => {
                write!(f, "tensor {t:?} is not weight/P, importance/P, taylor/P, width/P or width_index/P")
            }
            MissingImportance(p) => write!(f, "weight/{p} has no importance/{p}"),
            MissingWeight(p) => write!(f, "{p} has no matching weight tensor"),
            ParamOrder(e) => write!(f, "{KEY_PARAMS}: {e}"),
            ShapeMismatch { tensor, expected, found } => {
                write!(f, "{tensor} has shape {found:?}, its weight {expected:?}")
            }
            WrongDtype { tensor, dtype } => write!(f, "{tensor} is stored as {dtype}, not allowed here"),
            NonFinite { tensor, index } => write!(f, "{tensor}[{index}] is NaN or infinite"),
            NegativeImportance { tensor, index, value } => {
                write!(f, "{tensor}[{index}] = {value} is a negative importance")
            }
            InvalidWidth { tensor, index, value } => {
                write!(f, "{tensor}[{index}] = {value} is not a width (0, 2..=16 or 32)")
            }
            WidthTable(e) => write!(f, "{KEY_WIDTH_TABLE}: {e}"),
            ShapeTooLarge { tensor, shape } => {
                write!(f, "{tensor} has shape {shape:?}: the product of its dimensions after the first overflows")
            }
        }
    }
}

impl std::error::Error for SnapshotError {}

fn map_st_error(e: SafeTensorError) -> SnapshotError {
    match e {
        SafeTensorError::HeaderTooSmall
        | SafeTensorError::InvalidHeaderLength
        | SafeTensorError::MetadataIncompleteBuffer => SnapshotError::Truncated(e.to_string()),
        e => SnapshotError::NotSafetensors(e.to_string()),
    }
}

/// An owned tensor to serialize.
pub(crate) struct Raw {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Serializes named tensors and metadata (safetensors sorts tensors by dtype, then name).
pub(crate) fn write_raw(tensors: &[(String, Raw)], metadata: HashMap<String, String>) -> Vec<u8> {
    safetensors::tensor::serialize(tensors.iter().map(|(n, r)| (n.as_str(), r)), Some(metadata))
        .expect("tensor sizes fit in memory")
}

/// `F32` little-endian bytes of `v`.
pub(crate) fn f32_raw(shape: &[usize], v: &[f32]) -> Raw {
    Raw { dtype: Dtype::F32, shape: shape.to_vec(), data: v.iter().flat_map(|x| x.to_le_bytes()).collect() }
}

/// The smallest positive f16 value (a subnormal), 2^-24.
const F16_MIN_POSITIVE: f32 = 5.960_464_5e-8;

/// `x` as f16, a nonzero `|x| < 2^-24` as `+-2^-24` (f16 would flush it to zero). The move is
/// below f16's own resolution near zero and keeps every nonzero weight and importance
/// nonzero; among the millions of values of a conv layer there nearly always is one so small,
/// and without it the whole tensor would stay in F32.
fn to_f16_keeping_nonzero(x: f32) -> half::f16 {
    if x != 0.0 && x.abs() < F16_MIN_POSITIVE {
        half::f16::from_f32(F16_MIN_POSITIVE.copysign(x))
    } else {
        half::f16::from_f32(x)
    }
}

/// `F16` bytes of `v` ([`to_f16_keeping_nonzero`]), or `F32` when some value would overflow.
fn f16_or_f32_raw(shape: &[usize], v: &[f32]) -> Raw {
    let h: Vec<half::f16> = v.iter().map(|&x| to_f16_keeping_nonzero(x)).collect();
    if v.iter().zip(&h).any(|(&x, y)| y.is_finite() != x.is_finite()) {
        return f32_raw(shape, v);
    }
    Raw { dtype: Dtype::F16, shape: shape.to_vec(), data: h.iter().flat_map(|x| x.to_le_bytes()).collect() }
}

/// Reads an `F32` or `F16` tensor as `f32`.
fn read_float(name: &str, dtype: Dtype, data: &[u8]) -> Result<Vec<f32>, SnapshotError> {
    match dtype {
        Dtype::F32 => Ok(data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()),
        Dtype::F16 => Ok(data.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect()),
        d => Err(SnapshotError::WrongDtype { tensor: name.to_string(), dtype: d.to_string() }),
    }
}

/// Checks values of one parameter: finite weights, finite non-negative
/// importances, valid widths; lengths equal to the product of the shape.
pub fn check_param(p: &ParamTensor) -> Result<(), SnapshotError> {
    // rows = the first dimension, cols = the product of the rest (tensor::cols_of), in usize
    let product = |dims: &[usize]| dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let (Some(n), Some(_)) = (product(&p.shape), product(p.shape.get(1..).unwrap_or_default())) else {
        return Err(SnapshotError::ShapeTooLarge { tensor: format!("weight/{}", p.name), shape: p.shape.clone() });
    };
    let mismatch = |kind: &str, len: usize| SnapshotError::ShapeMismatch {
        tensor: format!("{kind}/{}", p.name),
        expected: p.shape.clone(),
        found: vec![len],
    };
    if p.weight.len() != n {
        return Err(mismatch("weight", p.weight.len()));
    }
    if p.importance.len() != n {
        return Err(mismatch("importance", p.importance.len()));
    }
    if let Some(index) = p.weight.iter().position(|x| !x.is_finite()) {
        return Err(SnapshotError::NonFinite { tensor: format!("weight/{}", p.name), index });
    }
    let tensor = format!("importance/{}", p.name);
    if let Some(index) = p.importance.iter().position(|x| !x.is_finite()) {
        return Err(SnapshotError::NonFinite { tensor, index });
    }
    if let Some(index) = p.importance.iter().position(|&x| x < 0.0) {
        return Err(SnapshotError::NegativeImportance { tensor, index, value: p.importance[index] });
    }
    if let Some(t) = &p.taylor {
        if t.len() != n {
            return Err(mismatch("taylor", t.len()));
        }
        let tensor = format!("taylor/{}", p.name);
        if let Some(index) = t.iter().position(|x| !x.is_finite()) {
            return Err(SnapshotError::NonFinite { tensor, index });
        }
        if let Some(index) = t.iter().position(|&x| x < 0.0) {
            return Err(SnapshotError::NegativeImportance { tensor, index, value: t[index] });
        }
    }
    if let Some(w) = &p.width {
        if w.len() != n {
            return Err(mismatch("width", w.len()));
        }
        if let Some(index) = w.iter().position(|&x| !is_valid_width(x)) {
            return Err(SnapshotError::InvalidWidth { tensor: format!("width/{}", p.name), index, value: w[index] });
        }
    }
    Ok(())
}

/// Reads `width_index/P` (see [`width_pack`]) of a parameter of `shape`.
fn read_width_index(
    name: &str,
    shape: &[usize],
    v: &safetensors::tensor::TensorView<'_>,
    table: Option<&str>,
) -> Result<Vec<u8>, SnapshotError> {
    let tensor = format!("width_index/{name}");
    let table = table.ok_or_else(|| SnapshotError::WidthTable(WidthTableError::Missing { tensor: tensor.clone() }))?;
    let table = width_pack::parse_table(table).map_err(SnapshotError::WidthTable)?;
    if v.dtype() != Dtype::U8 {
        return Err(SnapshotError::WrongDtype { tensor, dtype: v.dtype().to_string() });
    }
    let n: usize = shape.iter().product();
    let expected = width_pack::packed_len(n, width_pack::index_bits(table.len()));
    if v.shape() != [expected] {
        return Err(SnapshotError::ShapeMismatch { tensor, expected: vec![expected], found: v.shape().to_vec() });
    }
    width_pack::unpack(v.data(), n, &table).map_err(|(index, value)| {
        SnapshotError::WidthTable(WidthTableError::Index { tensor: tensor.clone(), index, value, widths: table.len() })
    })
}

impl Snapshot {
    /// Total number of values over all parameters.
    pub fn num_values(&self) -> usize {
        self.params.iter().map(|p| p.weight.len()).sum()
    }

    /// The `agq.provenance` entry parsed as JSON, if present and valid.
    pub fn provenance(&self) -> Option<serde_json::Value> {
        self.metadata.get(KEY_PROVENANCE).and_then(|s| serde_json::from_str(s).ok())
    }

    /// Sets `agq.provenance` to the JSON text of `value`.
    pub fn set_provenance(&mut self, value: &serde_json::Value) {
        self.metadata.insert(KEY_PROVENANCE.into(), value.to_string());
    }

    /// Checks a snapshot built in memory before it is written: a network name, at least one
    /// parameter, unique names without `,` (see `agq.params`), and [`check_param`] of each.
    pub fn check(&self) -> Result<(), SnapshotError> {
        if self.net.is_empty() {
            return Err(SnapshotError::MissingNet);
        }
        if self.params.is_empty() {
            return Err(SnapshotError::Empty);
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.params {
            if p.name.is_empty() || p.name.contains(',') {
                return Err(SnapshotError::ParamOrder(format!("{:?} is not a parameter name (empty, or with a ',')", p.name)));
            }
            if !seen.insert(p.name.as_str()) {
                return Err(SnapshotError::ParamOrder(format!("{:?} is listed twice", p.name)));
            }
            check_param(p)?;
        }
        Ok(())
    }

    /// Parses and validates an `agq-snapshot/1` safetensors file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(map_st_error)?;
        let st = SafeTensors::deserialize(bytes).map_err(map_st_error)?;
        let mut metadata: BTreeMap<String, String> =
            header.metadata().clone().unwrap_or_default().into_iter().collect();
        match metadata.remove(KEY_FORMAT) {
            Some(f) if f == FORMAT => {}
            other => return Err(SnapshotError::WrongFormat(other)),
        }
        let net = metadata.remove(KEY_NET).filter(|n| !n.is_empty()).ok_or(SnapshotError::MissingNet)?;
        let order = metadata.remove(KEY_PARAMS);
        let width_table = metadata.remove(KEY_WIDTH_TABLE);

        let mut views: BTreeMap<&str, _> = BTreeMap::new();
        for (name, view) in st.iter() {
            views.insert(name, view);
        }
        let mut names: Vec<String> = Vec::new();
        for &full in views.keys() {
            match full.split_once('/') {
                Some(("weight", p)) => names.push(p.to_string()),
                Some(("importance" | "taylor" | "width" | "width_index", p)) if !views.contains_key(format!("weight/{p}").as_str()) => {
                    return Err(SnapshotError::MissingWeight(full.to_string()));
                }
                Some(("width_index", p)) if views.contains_key(format!("width/{p}").as_str()) => {
                    return Err(SnapshotError::UnexpectedTensor(format!("{full} beside width/{p}")));
                }
                Some(("importance" | "taylor" | "width" | "width_index", _)) => {}
                _ => return Err(SnapshotError::UnexpectedTensor(full.to_string())),
            }
        }
        if names.is_empty() {
            return Err(SnapshotError::Empty);
        }
        if let Some(order) = order {
            let listed: Vec<String> = order.split(',').map(|s| s.trim().to_string()).collect();
            let mut sorted = listed.clone();
            sorted.sort();
            if let Some(d) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(SnapshotError::ParamOrder(format!("{:?} is listed twice", d[0])));
            }
            if let Some(m) = sorted.iter().find(|n| names.binary_search(n).is_err()) {
                return Err(SnapshotError::ParamOrder(format!("{m:?} has no weight/{m}")));
            }
            if let Some(m) = names.iter().find(|n| sorted.binary_search(n).is_err()) {
                return Err(SnapshotError::ParamOrder(format!("weight/{m} is not listed")));
            }
            names = listed;
        }

        let mut params = Vec::with_capacity(names.len());
        for name in names {
            let wkey = format!("weight/{name}");
            let w = &views[wkey.as_str()];
            let shape = w.shape().to_vec();
            let ikey = format!("importance/{name}");
            let i = views.get(ikey.as_str()).ok_or_else(|| SnapshotError::MissingImportance(name.clone()))?;
            if i.shape() != shape.as_slice() {
                return Err(SnapshotError::ShapeMismatch { tensor: ikey, expected: shape, found: i.shape().to_vec() });
            }
            let weight = read_float(&wkey, w.dtype(), w.data())?;
            let importance = read_float(&ikey, i.dtype(), i.data())?;
            let tkey = format!("taylor/{name}");
            let taylor = match views.get(tkey.as_str()) {
                None => None,
                Some(t) if t.shape() != shape.as_slice() => {
                    return Err(SnapshotError::ShapeMismatch { tensor: tkey, expected: shape, found: t.shape().to_vec() });
                }
                Some(t) => Some(read_float(&tkey, t.dtype(), t.data())?),
            };
            let width = match views.get(format!("width/{name}").as_str()) {
                None => None,
                Some(v) => {
                    let tensor = format!("width/{name}");
                    if v.dtype() != Dtype::U8 {
                        return Err(SnapshotError::WrongDtype { tensor, dtype: v.dtype().to_string() });
                    }
                    if v.shape() != shape.as_slice() {
                        return Err(SnapshotError::ShapeMismatch {
                            tensor,
                            expected: shape,
                            found: v.shape().to_vec(),
                        });
                    }
                    Some(v.data().to_vec())
                }
            };
            let width = match (width, views.get(format!("width_index/{name}").as_str())) {
                (None, Some(v)) => Some(read_width_index(&name, &shape, v, width_table.as_deref())?),
                (width, _) => width,
            };
            let p = ParamTensor { name, shape, weight, importance, width, taylor };
            check_param(&p)?;
            params.push(p);
        }
        Ok(Snapshot { net, params, metadata })
    }

    /// Writes the snapshot; `agq.params` records the order of `params`.
    /// Panics if a parameter's lengths disagree with its shape (see [`check_param`]).
    pub fn to_bytes(&self, dtype: StoreDtype) -> Vec<u8> {
        let mut tensors = Vec::with_capacity(3 * self.params.len());
        // widths bit-packed when there are at most 16 distinct ones (always, for ITQ)
        let table = width_pack::table_of(self.params.iter().filter_map(|p| p.width.as_deref()))
            .filter(|t| !t.is_empty());
        for p in &self.params {
            let n: usize = p.shape.iter().product();
            assert!(p.weight.len() == n && p.importance.len() == n, "parameter {} disagrees with its shape", p.name);
            let float = |v: &[f32]| match dtype {
                StoreDtype::F32 => f32_raw(&p.shape, v),
                StoreDtype::F16 => f16_or_f32_raw(&p.shape, v),
            };
            tensors.push((format!("weight/{}", p.name), float(&p.weight)));
            tensors.push((format!("importance/{}", p.name), float(&p.importance)));
            if let Some(t) = &p.taylor {
                assert_eq!(t.len(), n, "taylor importance of {} disagrees with its shape", p.name);
                tensors.push((format!("taylor/{}", p.name), float(t)));
            }
            if let Some(w) = &p.width {
                assert_eq!(w.len(), n, "widths of {} disagree with its shape", p.name);
                tensors.push(match &table {
                    Some(table) => {
                        let data = width_pack::pack(w, table);
                        (format!("width_index/{}", p.name), Raw { dtype: Dtype::U8, shape: vec![data.len()], data })
                    }
                    None => (format!("width/{}", p.name), Raw { dtype: Dtype::U8, shape: p.shape.clone(), data: w.clone() }),
                });
            }
        }
        let mut meta: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        meta.remove(KEY_WIDTH_TABLE);
        if let Some(table) = &table {
            meta.insert(KEY_WIDTH_TABLE.into(), width_pack::table_text(table));
        }
        meta.insert(KEY_FORMAT.into(), FORMAT.into());
        meta.insert(KEY_NET.into(), self.net.clone());
        meta.insert(KEY_PARAMS.into(), self.params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(","));
        write_raw(&tensors, meta)
    }
}

/// `agq.format` of a plain weights file: only `weight/P` (F32), e.g. a decoded `.agq`.
pub const WEIGHTS_FORMAT: &str = "agq-weights/1";

/// Writes a plain weights file: `weight/P` (F32, the given shape) for every
/// `(P, shape, values)`, metadata `agq.format = agq-weights/1`, `agq.net` and
/// `agq.params` (the given order). Panics if a length disagrees with its shape.
pub fn weights_to_bytes(net: &str, tensors: &[(&str, &[usize], &[f32])]) -> Vec<u8> {
    let raws: Vec<(String, Raw)> = tensors
        .iter()
        .map(|(name, shape, v)| {
            assert_eq!(shape.iter().product::<usize>(), v.len(), "{name} disagrees with its shape");
            (format!("weight/{name}"), f32_raw(shape, v))
        })
        .collect();
    let names: Vec<&str> = tensors.iter().map(|t| t.0).collect();
    let meta = HashMap::from([
        (KEY_FORMAT.to_string(), WEIGHTS_FORMAT.to_string()),
        (KEY_NET.to_string(), net.to_string()),
        (KEY_PARAMS.to_string(), names.join(",")),
    ]);
    write_raw(&raws, meta)
}

/// One tensor of a weights file: `(P, shape, values)`.
pub type NamedWeights = (String, Vec<usize>, Vec<f32>);

/// Reads a plain weights file written by [`weights_to_bytes`]: the network name and its
/// tensors in `agq.params` order (else sorted by name).
pub fn weights_from_bytes(bytes: &[u8]) -> Result<(String, Vec<NamedWeights>), SnapshotError> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(map_st_error)?;
    let st = SafeTensors::deserialize(bytes).map_err(map_st_error)?;
    let meta = header.metadata().clone().unwrap_or_default();
    match meta.get(KEY_FORMAT) {
        Some(f) if f == WEIGHTS_FORMAT => {}
        other => return Err(SnapshotError::WrongFormat(other.cloned())),
    }
    let net = meta.get(KEY_NET).filter(|n| !n.is_empty()).ok_or(SnapshotError::MissingNet)?.clone();
    let mut names: Vec<String> = Vec::new();
    for name in st.names() {
        match name.strip_prefix("weight/") {
            Some(p) => names.push(p.to_string()),
            None => return Err(SnapshotError::UnexpectedTensor(name.to_string())),
        }
    }
    names.sort();
    if let Some(order) = meta.get(KEY_PARAMS) {
        let mut listed: Vec<String> = order.split(',').map(|s| s.trim().to_string()).collect();
        let given = listed.clone();
        listed.sort();
        if listed != names {
            return Err(SnapshotError::ParamOrder("does not list every weight exactly once".into()));
        }
        names = given;
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let key = format!("weight/{name}");
        let view = st.tensor(&key).map_err(map_st_error)?;
        let values = read_float(&key, view.dtype(), view.data())?;
        out.push((name, view.shape().to_vec(), values));
    }
    Ok((net, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, shape: Vec<usize>, seed: u32) -> ParamTensor {
        let n: usize = shape.iter().product();
        let weight = (0..n).map(|i| ((i as f32 + seed as f32) * 0.37).sin()).collect();
        let importance = (0..n).map(|i| ((i as u32 * 7 + seed) % 13) as f32 * 0.01).collect();
        ParamTensor { name: name.into(), shape, weight, importance, width: None, taylor: None }
    }

    fn sample() -> Snapshot {
        let mut fc2 = param("fc2.weight", vec![3, 4], 2);
        fc2.width = Some(vec![0, 2, 4, 8, 16, 32, 32, 8, 6, 4, 2, 0]);
        let mut s = Snapshot {
            net: "tiny".into(),
            params: vec![param("fc1.weight", vec![4, 2, 1, 1], 1), param("fc1.bias", vec![4], 3), fc2],
            metadata: BTreeMap::new(),
        };
        s.set_provenance(&serde_json::json!({"epochs": 3, "dataset": "mnist"}));
        s
    }

    /// A file built from raw tensors with the right format tag and net.
    fn raw_file(tensors: Vec<(&str, Raw)>, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut meta: HashMap<String, String> =
            [(KEY_FORMAT, FORMAT), (KEY_NET, "x")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for (k, v) in extra {
            meta.insert(k.to_string(), v.to_string());
        }
        write_raw(&tensors.into_iter().map(|(n, r)| (n.to_string(), r)).collect::<Vec<_>>(), meta)
    }

    #[test]
    fn a_snapshot_survives_an_f32_round_trip_exactly() {
        let s = sample();
        let back = Snapshot::from_bytes(&s.to_bytes(StoreDtype::F32)).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.provenance().unwrap()["epochs"], 3);
    }

    #[test]
    fn taylor_importances_are_optional_and_survive_a_round_trip() {
        let mut s = sample();
        assert!(Snapshot::from_bytes(&s.to_bytes(StoreDtype::F32)).unwrap().params.iter().all(|p| p.taylor.is_none()));
        s.params[0].taylor = Some((0..8).map(|i| i as f32 * 0.25).collect());
        let bytes = s.to_bytes(StoreDtype::F32);
        assert_eq!(Snapshot::from_bytes(&bytes).unwrap(), s);
        let back = Snapshot::from_bytes(&s.to_bytes(StoreDtype::F16)).unwrap();
        assert_eq!(back.params[0].taylor, s.params[0].taylor); // quarters are exact in f16
        assert_eq!(back.params[1].taylor, None);
    }

    #[test]
    fn a_bad_taylor_tensor_is_rejected() {
        let t = || vec![("weight/a", f32_raw(&[2], &[0.0; 2])), ("importance/a", f32_raw(&[2], &[0.0; 2]))];
        let with = |extra: (&'static str, Raw)| {
            let mut v = t();
            v.push(extra);
            Snapshot::from_bytes(&raw_file(v, &[]))
        };
        assert!(matches!(with(("taylor/a", f32_raw(&[2], &[1.0, -1.0]))), Err(SnapshotError::NegativeImportance { .. })));
        assert!(matches!(with(("taylor/a", f32_raw(&[3], &[1.0; 3]))), Err(SnapshotError::ShapeMismatch { .. })));
        assert_eq!(with(("taylor/b", f32_raw(&[2], &[1.0; 2]))), Err(SnapshotError::MissingWeight("taylor/b".into())));
    }

    #[test]
    fn an_f16_round_trip_keeps_values_within_f16_precision() {
        let s = sample();
        let bytes = s.to_bytes(StoreDtype::F16);
        assert!(bytes.len() < s.to_bytes(StoreDtype::F32).len());
        let back = Snapshot::from_bytes(&bytes).unwrap();
        assert_eq!(
            back.params.iter().map(|p| &p.name).collect::<Vec<_>>(),
            s.params.iter().map(|p| &p.name).collect::<Vec<_>>()
        );
        for (a, b) in s.params.iter().zip(&back.params) {
            assert_eq!((&a.shape, &a.width), (&b.shape, &b.width));
            for (x, y) in a.weight.iter().chain(&a.importance).zip(b.weight.iter().chain(&b.importance)) {
                assert!((x - y).abs() <= x.abs() * 1e-3 + 1e-7, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn an_f16_write_stores_tiny_nonzero_values_as_the_smallest_subnormal() {
        let mut s = sample();
        let w = &mut s.params[0].weight;
        w[0] = 1.0e-9;
        w[1] = -3.0e-8;
        w[2] = 0.0;
        w[3] = -0.0;
        let bytes = s.to_bytes(StoreDtype::F16);
        let back = Snapshot::from_bytes(&bytes).unwrap();
        let b = &back.params[0].weight;
        assert_eq!(b[..4], [F16_MIN_POSITIVE, -F16_MIN_POSITIVE, 0.0, 0.0]);
        assert_eq!(b[3].to_bits(), (-0.0f32).to_bits());
        // the tensor stays in F16: the file is as long as with ordinary values there
        let mut plain = s.clone();
        plain.params[0].weight[..4].copy_from_slice(&[0.5, -0.5, 0.0, 0.0]);
        assert_eq!(bytes.len(), plain.to_bytes(StoreDtype::F16).len());
        assert!(bytes.len() < s.to_bytes(StoreDtype::F32).len());
    }

    #[test]
    fn an_f16_write_keeps_a_tensor_in_f32_when_f16_would_overflow() {
        let mut s = sample();
        s.params[1].importance[0] = 1.0e6;
        let back = Snapshot::from_bytes(&s.to_bytes(StoreDtype::F16)).unwrap();
        assert_eq!(back.params[1].importance, s.params[1].importance);
    }

    #[test]
    fn without_a_params_entry_parameters_are_sorted_by_name() {
        let p = param("b", vec![2], 0);
        let q = param("a", vec![2], 1);
        let file = raw_file(
            vec![
                ("weight/b", f32_raw(&p.shape, &p.weight)),
                ("importance/b", f32_raw(&p.shape, &p.importance)),
                ("weight/a", f32_raw(&q.shape, &q.weight)),
                ("importance/a", f32_raw(&q.shape, &q.importance)),
            ],
            &[],
        );
        let s = Snapshot::from_bytes(&file).unwrap();
        assert_eq!(s.params, vec![q, p]);
    }

    #[test]
    fn a_weights_file_holds_the_values_and_the_order() {
        let bytes = weights_to_bytes("n", &[("b", &[2], &[1.5, -0.0]), ("a", &[1, 1], &[f32::MIN_POSITIVE])]);
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = header.metadata().clone().unwrap();
        assert_eq!((meta[KEY_FORMAT].as_str(), meta[KEY_PARAMS].as_str()), (WEIGHTS_FORMAT, "b,a"));
        let b = st.tensor("weight/b").unwrap();
        assert_eq!(
            read_float("b", b.dtype(), b.data()).unwrap().iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            [1.5f32.to_bits(), (-0.0f32).to_bits()]
        );
        let (net, back) = weights_from_bytes(&bytes).unwrap();
        assert_eq!(
            (net.as_str(), back[0].0.as_str(), back[1].1.clone(), back[1].2[0]),
            ("n", "b", vec![1, 1], f32::MIN_POSITIVE)
        );
        assert_eq!(
            weights_from_bytes(&sample().to_bytes(StoreDtype::F32)),
            Err(SnapshotError::WrongFormat(Some(FORMAT.into())))
        );
    }

    #[test]
    fn random_bytes_are_not_safetensors() {
        assert!(matches!(
            Snapshot::from_bytes(b"hello, this is not a snapshot"),
            Err(SnapshotError::NotSafetensors(_))
        ));
    }

    #[test]
    fn a_cut_off_file_is_truncated() {
        let bytes = sample().to_bytes(StoreDtype::F32);
        for cut in [4, 20, bytes.len() - 1] {
            assert!(matches!(Snapshot::from_bytes(&bytes[..cut]), Err(SnapshotError::Truncated(_))), "cut {cut}");
        }
    }

    #[test]
    fn a_weight_without_importance_is_rejected() {
        let file = raw_file(vec![("weight/a", f32_raw(&[2], &[1.0, 2.0]))], &[]);
        assert_eq!(Snapshot::from_bytes(&file), Err(SnapshotError::MissingImportance("a".into())));
    }

    #[test]
    fn an_importance_without_weight_is_rejected() {
        let file = raw_file(
            vec![
                ("weight/a", f32_raw(&[1], &[1.0])),
                ("importance/a", f32_raw(&[1], &[1.0])),
                ("importance/b", f32_raw(&[1], &[1.0])),
            ],
            &[],
        );
        assert_eq!(Snapshot::from_bytes(&file), Err(SnapshotError::MissingWeight("importance/b".into())));
    }

    #[test]
    fn an_importance_of_another_shape_is_a_shape_mismatch() {
        let file = raw_file(
            vec![("weight/a", f32_raw(&[2, 3], &[0.0; 6])), ("importance/a", f32_raw(&[3, 2], &[0.0; 6]))],
            &[],
        );
        assert!(
            matches!(Snapshot::from_bytes(&file), Err(SnapshotError::ShapeMismatch { expected, found, .. }) if expected == [2, 3] && found == [3, 2])
        );
    }

    #[test]
    fn widths_are_written_bit_packed_and_read_back() {
        let s = sample(); // 7 distinct widths: 4 bits each
        let bytes = s.to_bytes(StoreDtype::F32);
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("width_index/fc2.weight").unwrap().shape(), [6]);
        assert!(st.tensor("width/fc2.weight").is_err());
        assert_eq!(Snapshot::from_bytes(&bytes).unwrap(), s);
    }

    #[test]
    fn a_plain_width_tensor_is_still_read() {
        let w = Raw { dtype: Dtype::U8, shape: vec![2], data: vec![8, 32] };
        let file = raw_file(
            vec![("weight/a", f32_raw(&[2], &[1.0; 2])), ("importance/a", f32_raw(&[2], &[0.0; 2])), ("width/a", w)],
            &[],
        );
        assert_eq!(Snapshot::from_bytes(&file).unwrap().params[0].width, Some(vec![8, 32]));
    }

    #[test]
    fn packed_widths_need_a_valid_table_that_holds_every_index() {
        let packed = |data: Vec<u8>| Raw { dtype: Dtype::U8, shape: vec![data.len()], data };
        let file = |data: Vec<u8>, table: Option<&str>| {
            let extra: Vec<(&str, &str)> = table.map(|t| (KEY_WIDTH_TABLE, t)).into_iter().collect();
            let tensors =
                vec![("weight/a", f32_raw(&[3], &[1.0; 3])), ("importance/a", f32_raw(&[3], &[0.0; 3])), ("width_index/a", packed(data))];
            Snapshot::from_bytes(&raw_file(tensors, &extra))
        };
        assert_eq!(file(vec![0b10_01_00], Some("0,4,8")).unwrap().params[0].width, Some(vec![0, 4, 8]));
        assert!(matches!(file(vec![0b11_01_00], Some("0,4,8")), Err(SnapshotError::WidthTable(WidthTableError::Index { index: 2, value: 3, widths: 3, .. }))));
        assert!(matches!(file(vec![0], None), Err(SnapshotError::WidthTable(WidthTableError::Missing { .. }))));
        assert!(matches!(file(vec![0], Some("8,4")), Err(SnapshotError::WidthTable(_))));
        assert!(matches!(file(vec![0, 0], Some("0,4,8")), Err(SnapshotError::ShapeMismatch { .. })));
        assert!(matches!(file(vec![0b01_01_01], Some("0,17")), Err(SnapshotError::InvalidWidth { value: 17, .. })));
    }

    #[test]
    fn a_width_of_another_shape_is_a_shape_mismatch() {
        let w = Raw { dtype: Dtype::U8, shape: vec![1], data: vec![8] };
        let file = raw_file(
            vec![("weight/a", f32_raw(&[2], &[0.0; 2])), ("importance/a", f32_raw(&[2], &[0.0; 2])), ("width/a", w)],
            &[],
        );
        assert!(matches!(Snapshot::from_bytes(&file), Err(SnapshotError::ShapeMismatch { .. })));
    }

    #[test]
    fn a_nan_or_infinite_value_is_rejected() {
        for (w, i) in [([f32::NAN, 0.0], [0.0, 0.0]), ([0.0, 0.0], [0.0, f32::INFINITY])] {
            let file = raw_file(vec![("weight/a", f32_raw(&[2], &w)), ("importance/a", f32_raw(&[2], &i))], &[]);
            assert!(matches!(Snapshot::from_bytes(&file), Err(SnapshotError::NonFinite { .. })));
        }
    }

    #[test]
    fn a_negative_importance_is_rejected() {
        let file =
            raw_file(vec![("weight/a", f32_raw(&[2], &[0.0; 2])), ("importance/a", f32_raw(&[2], &[1.0, -0.5]))], &[]);
        assert!(matches!(Snapshot::from_bytes(&file), Err(SnapshotError::NegativeImportance { index: 1, .. })));
    }

    #[test]
    fn an_unknown_width_value_is_rejected() {
        for bad in [1u8, 17, 31, 33, 255] {
            let mut s = sample();
            s.params[2].width.as_mut().unwrap()[5] = bad;
            let e = Snapshot::from_bytes(&s.to_bytes(StoreDtype::F32)).unwrap_err();
            assert!(matches!(e, SnapshotError::InvalidWidth { index: 5, value, .. } if value == bad), "{e}");
        }
    }

    #[test]
    fn a_missing_or_wrong_format_tag_is_rejected() {
        let t = || {
            vec![("weight/a".to_string(), f32_raw(&[1], &[0.0])), ("importance/a".to_string(), f32_raw(&[1], &[0.0]))]
        };
        let none = write_raw(&t(), HashMap::from([(KEY_NET.to_string(), "x".to_string())]));
        assert_eq!(Snapshot::from_bytes(&none), Err(SnapshotError::WrongFormat(None)));
        let other = write_raw(
            &t(),
            HashMap::from([
                (KEY_FORMAT.to_string(), "agq-snapshot/2".to_string()),
                (KEY_NET.to_string(), "x".to_string()),
            ]),
        );
        assert_eq!(Snapshot::from_bytes(&other), Err(SnapshotError::WrongFormat(Some("agq-snapshot/2".into()))));
    }

    #[test]
    fn a_missing_net_name_is_rejected() {
        let t =
            vec![("weight/a".to_string(), f32_raw(&[1], &[0.0])), ("importance/a".to_string(), f32_raw(&[1], &[0.0]))];
        let file = write_raw(&t, HashMap::from([(KEY_FORMAT.to_string(), FORMAT.to_string())]));
        assert_eq!(Snapshot::from_bytes(&file), Err(SnapshotError::MissingNet));
    }

    #[test]
    fn a_wrong_dtype_is_rejected() {
        let i64s = Raw { dtype: Dtype::I64, shape: vec![1], data: vec![0; 8] };
        let file = raw_file(vec![("weight/a", i64s), ("importance/a", f32_raw(&[1], &[0.0]))], &[]);
        assert!(matches!(Snapshot::from_bytes(&file), Err(SnapshotError::WrongDtype { .. })));
        let wf = f32_raw(&[1], &[8.0]);
        let file = raw_file(
            vec![("weight/a", f32_raw(&[1], &[0.0])), ("importance/a", f32_raw(&[1], &[0.0])), ("width/a", wf)],
            &[],
        );
        assert!(matches!(Snapshot::from_bytes(&file), Err(SnapshotError::WrongDtype { .. })));
    }

    #[test]
    fn a_tensor_outside_the_schema_is_rejected() {
        let file = raw_file(
            vec![
                ("weight/a", f32_raw(&[1], &[0.0])),
                ("importance/a", f32_raw(&[1], &[0.0])),
                ("bn.running_mean", f32_raw(&[1], &[0.0])),
            ],
            &[],
        );
        assert_eq!(Snapshot::from_bytes(&file), Err(SnapshotError::UnexpectedTensor("bn.running_mean".into())));
    }

    #[test]
    fn a_file_without_weights_is_empty() {
        assert_eq!(Snapshot::from_bytes(&raw_file(vec![], &[])), Err(SnapshotError::Empty));
    }

    #[test]
    fn a_params_entry_must_list_every_weight_once() {
        let t = || vec![("weight/a", f32_raw(&[1], &[0.0])), ("importance/a", f32_raw(&[1], &[0.0]))];
        for order in ["a,a", "a,b", ""] {
            let file = raw_file(t(), &[(KEY_PARAMS, order)]);
            assert!(matches!(Snapshot::from_bytes(&file), Err(SnapshotError::ParamOrder(_))), "{order:?}");
        }
    }
}
