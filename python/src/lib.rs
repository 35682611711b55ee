//! `agq._agq`: the thin PyO3 layer over the agq core. Every decision (ITQ widths, grids,
//! PTQ clusters, quantized values, the CSR accounting, the `.agq` bytes, snapshot reading
//! and writing) is made by the same Rust functions the page and the command line call.
//!
//! Arrays cross as little-endian bytes (`f32` values, `u8` widths) with their shape; the
//! Python package `agq` (python/agq/) turns them into numpy arrays and checks dtypes.
//! A parameter crosses as the tuple `(name, shape, weight, importance, width | None,
//! taylor | None)`.

use agq::choices::Importance;
use agq::quant::codec::decode_with_limit;
use agq::quant::itq::{itq_apply, project as core_project, schedule_width};
use agq::quant::model::quantize_model;
use agq::quant::settings::{ItqSettings, SettingsError as Refused, parse_widths, parse_word};
use agq::quant::tensor::ParamTensor;
use agq::quantize::{QuantizeError, QuantizeRequest, quantize_snapshot as core_quantize};
use agq::snapshot::{Snapshot, StoreDtype};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::BTreeMap;

create_exception!(_agq, AgqError, PyValueError, "Base class of agq's errors (a ValueError).");
create_exception!(_agq, SnapshotError, AgqError, "A gradient snapshot that is not a valid agq-snapshot/1.");
create_exception!(_agq, SettingsError, AgqError, "A quantization or ITQ setting that is refused.");
create_exception!(_agq, DecodeError, AgqError, "Bytes that are not a valid .agq file.");

/// A core error on its way to Python: each becomes the exception of its kind by `From`.
enum CoreError {
    Settings(Refused),
    Quantize(QuantizeError),
}

impl From<Refused> for CoreError {
    fn from(e: Refused) -> Self {
        CoreError::Settings(e)
    }
}

impl From<QuantizeError> for CoreError {
    fn from(e: QuantizeError) -> Self {
        CoreError::Quantize(e)
    }
}

impl From<CoreError> for PyErr {
    /// A refused setting (`field: rule`) is a `SettingsError`, a snapshot that cannot be
    /// quantized as asked a `SnapshotError`.
    fn from(e: CoreError) -> PyErr {
        match e {
            CoreError::Settings(e) => SettingsError::new_err(e.to_string()),
            CoreError::Quantize(e @ (QuantizeError::NoItqWidths | QuantizeError::Quant(_))) => {
                SnapshotError::new_err(e.to_string())
            }
            CoreError::Quantize(e) => SettingsError::new_err(e.to_string()),
        }
    }
}

/// Largest `.agq` file decoded (in parameters): a guard against a forged header.
const MAX_DECODED_PARAMS: u64 = 1 << 28;

/// A parameter as it crosses from Python.
type PyParam<'py> =
    (String, Vec<usize>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, Option<Bound<'py, PyBytes>>, Option<Bound<'py, PyBytes>>);
/// A parameter as it crosses to Python.
type OutParam<'py> = PyParam<'py>;

fn f32s(what: &str, bytes: &[u8]) -> PyResult<Vec<f32>> {
    if bytes.len() % 4 != 0 {
        return Err(AgqError::new_err(format!("{what}: {} bytes are not whole float32 values", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn f32_bytes<'py>(py: Python<'py>, values: &[f32]) -> Bound<'py, PyBytes> {
    let raw: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    PyBytes::new(py, &raw)
}

/// Parameters from Python, checked like a snapshot's (lengths, finite values, importances
/// at least 0, valid widths, unique names).
fn params_in(net: &str, params: Vec<PyParam<'_>>) -> PyResult<Vec<ParamTensor>> {
    let mut out = Vec::with_capacity(params.len());
    for (name, shape, weight, importance, width, taylor) in params {
        let weight = f32s(&format!("weight/{name}"), weight.as_bytes())?;
        let importance = f32s(&format!("importance/{name}"), importance.as_bytes())?;
        let width = width.map(|w| w.as_bytes().to_vec());
        let taylor = taylor.map(|t| f32s(&format!("taylor/{name}"), t.as_bytes())).transpose()?;
        out.push(ParamTensor { name, shape, weight, importance, width, taylor });
    }
    let snapshot = Snapshot { net: net.to_string(), params: out, metadata: BTreeMap::new() };
    snapshot.check().map_err(|e| SnapshotError::new_err(e.to_string()))?;
    Ok(snapshot.params)
}

fn param_out<'py>(py: Python<'py>, p: &ParamTensor) -> OutParam<'py> {
    let width = p.width.as_ref().map(|w| PyBytes::new(py, w));
    let taylor = p.taylor.as_ref().map(|t| f32_bytes(py, t));
    (p.name.clone(), p.shape.clone(), f32_bytes(py, &p.weight), f32_bytes(py, &p.importance), width, taylor)
}

/// Reads an `agq-snapshot/1` file: `(net, params, metadata)`.
#[pyfunction]
fn read_snapshot<'py>(py: Python<'py>, data: &Bound<'py, PyBytes>) -> PyResult<(String, Vec<OutParam<'py>>, BTreeMap<String, String>)> {
    let bytes = data.as_bytes().to_vec();
    let snapshot = py.detach(move || Snapshot::from_bytes(&bytes)).map_err(|e| SnapshotError::new_err(e.to_string()))?;
    let params = snapshot.params.iter().map(|p| param_out(py, p)).collect();
    Ok((snapshot.net, params, snapshot.metadata))
}

/// Writes an `agq-snapshot/1` file; `dtype` is `"f16"` or `"f32"` (weights and importances).
#[pyfunction]
fn write_snapshot<'py>(
    py: Python<'py>,
    net: String,
    params: Vec<PyParam<'py>>,
    metadata: BTreeMap<String, String>,
    dtype: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let dtype = match dtype {
        "f16" => StoreDtype::F16,
        "f32" => StoreDtype::F32,
        other => return Err(SettingsError::new_err(format!("dtype {other:?}: expected \"f16\" or \"f32\""))),
    };
    if let Some(key) = metadata.keys().find(|k| matches!(k.as_str(), "agq.format" | "agq.net" | "agq.params" | "agq.width_table")) {
        return Err(SettingsError::new_err(format!("metadata key {key:?} is written by agq itself")));
    }
    let params = params_in(&net, params)?;
    let snapshot = Snapshot { net, params, metadata };
    let bytes = py.detach(move || snapshot.to_bytes(dtype));
    Ok(PyBytes::new(py, &bytes))
}

/// The ITQ settings, checked by the core: `(split, warmup, schedule)`.
fn itq_settings(split: f64, warmup: usize, schedule: Vec<u8>) -> Result<ItqSettings, CoreError> {
    let settings = ItqSettings { split, warmup, schedule, ..ItqSettings::default() };
    settings.check()?;
    Ok(settings)
}

/// The low-group width after the epoch with 0-based index `epoch`, or None (warm-up).
#[pyfunction]
fn itq_width(epoch: usize, warmup: usize, schedule: Vec<u8>) -> PyResult<Option<u8>> {
    let s = itq_settings(0.9, warmup, schedule)?;
    Ok(schedule_width(epoch, s.warmup, &s.schedule))
}

/// One epoch-end ITQ step over a network (the parameters' widths are the current ones):
/// None during the warm-up, else `(width_now, [(widths, values, grid)])` per tensor, where
/// `grid` lists `(width, frac)` of every fixed-point width of the tensor. `importance` ranks
/// the parameters (`agq itq --importance`; default `grad`, the method's).
#[pyfunction]
#[pyo3(signature = (net, params, epoch, split, warmup, schedule, importance=None))]
#[allow(clippy::type_complexity)]
fn itq_step<'py>(
    py: Python<'py>,
    net: String,
    params: Vec<PyParam<'py>>,
    epoch: usize,
    split: f64,
    warmup: usize,
    schedule: Vec<u8>,
    importance: Option<String>,
) -> PyResult<Option<(u8, Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Vec<(u8, i8)>)>)>> {
    let s = itq_settings(split, warmup, schedule)?;
    let importance: Importance = importance.map_or(Ok(Importance::Grad), |i| parse_word("importance", &i)).map_err(CoreError::from)?;
    let source = importance.source(0);
    let Some(width_now) = schedule_width(epoch, s.warmup, &s.schedule) else {
        return Ok(None);
    };
    let params = params_in(&net, params)?;
    let applied = py
        .detach(move || itq_apply(&net, &params, s.split, width_now, &source))
        .map_err(|e| CoreError::from(QuantizeError::NoTaylor(e)))?;
    let tensors = (applied.widths.iter().zip(&applied.values).zip(&applied.grids))
        .map(|((w, v), g)| (PyBytes::new(py, w), f32_bytes(py, v), g.clone()))
        .collect();
    Ok(Some((width_now, tensors)))
}

/// A tensor quantized by the core quantizer at `widths` (one per value): `(values, grid)`,
/// `grid` being `(width, frac)` of every stored width, as in the `.agq` file.
#[pyfunction]
fn quantize_tensor<'py>(
    py: Python<'py>,
    shape: Vec<usize>,
    weight: &Bound<'py, PyBytes>,
    widths: &Bound<'py, PyBytes>,
) -> PyResult<(Bound<'py, PyBytes>, Vec<(u8, i8)>)> {
    let n: usize = shape.iter().product();
    let weight = f32s("weight", weight.as_bytes())?;
    let widths = widths.as_bytes().to_vec();
    let mut p = ParamTensor::new("tensor", shape, weight);
    p.width = Some(widths.clone());
    if p.weight.len() != n || widths.len() != n {
        return Err(AgqError::new_err(format!("{} values and {} widths for a shape of {n}", p.weight.len(), widths.len())));
    }
    agq::snapshot::check_param(&p).map_err(|e| AgqError::new_err(e.to_string()))?;
    let q = quantize_model("tensor", &[p], &widths);
    let t = &q.tensors[0];
    Ok((f32_bytes(py, &t.dequantized()), t.fracs.clone()))
}

/// Values snapped onto a given grid (projection between two ITQ steps).
#[pyfunction]
fn project<'py>(py: Python<'py>, weight: &Bound<'py, PyBytes>, widths: &Bound<'py, PyBytes>, grid: Vec<(u8, i8)>) -> PyResult<Bound<'py, PyBytes>> {
    let weight = f32s("weight", weight.as_bytes())?;
    let widths = widths.as_bytes();
    if weight.len() != widths.len() {
        return Err(AgqError::new_err(format!("{} values and {} widths", weight.len(), widths.len())));
    }
    let values = core_project(&weight, widths, &grid)
        .map_err(|b| SettingsError::new_err(format!("width {b} is not a width of the grid {grid:?}")))?;
    Ok(f32_bytes(py, &values))
}

/// Quantizes a snapshot file's bytes as `agq quantize` does: `(report_json, agq_bytes,
/// widths, [(name, shape)])`, `widths` the final width of every flat parameter.
#[pyfunction]
#[pyo3(signature = (data, method=None, importance=None, clusters=None, widths=None, seed=None))]
fn quantize_snapshot<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
    method: Option<String>,
    importance: Option<String>,
    clusters: Option<String>,
    widths: Option<String>,
    seed: Option<u64>,
) -> PyResult<(String, Bound<'py, PyBytes>, Bound<'py, PyBytes>, Vec<(String, Vec<usize>)>)> {
    let bytes = data.as_bytes().to_vec();
    let snapshot = py.detach(move || Snapshot::from_bytes(&bytes)).map_err(|e| SnapshotError::new_err(e.to_string()))?;
    let shapes = snapshot.params.iter().map(|p| (p.name.clone(), p.shape.clone())).collect();
    let defaults = QuantizeRequest::default();
    let request = QuantizeRequest {
        method: method.map_or(Ok(defaults.method), |m| parse_word("method", &m)).map_err(CoreError::from)?,
        importance: importance.map(|i| parse_word("importance", &i)).transpose().map_err(CoreError::from)?,
        clusters: clusters.map(|c| c.parse()).transpose().map_err(CoreError::from)?,
        widths: widths.map(|w| parse_widths("widths", &w)).transpose().map_err(CoreError::from)?,
        seed: seed.unwrap_or(defaults.seed),
        ..defaults
    };
    let quantized = py.detach(move || core_quantize(&snapshot, &request)).map_err(CoreError::from)?;
    Ok((
        quantized.report.to_json(),
        PyBytes::new(py, &quantized.compressed.bytes),
        PyBytes::new(py, &quantized.compressed.widths),
        shapes,
    ))
}

/// Decodes an `.agq` file: `(net, [(name, shape, values, widths, grid)])`.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn decode<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyBytes>,
) -> PyResult<(String, Vec<(String, Vec<usize>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, Vec<(u8, i8)>)>)> {
    let bytes = data.as_bytes().to_vec();
    let model = py.detach(move || decode_with_limit(&bytes, MAX_DECODED_PARAMS)).map_err(|e| DecodeError::new_err(e.to_string()))?;
    let tensors = model
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone(), f32_bytes(py, &t.dequantized()), PyBytes::new(py, &t.widths), t.fracs.clone()))
        .collect();
    Ok((model.net.clone(), tensors))
}

/// The native module `agq._agq`.
#[pymodule]
fn _agq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("AgqError", py.get_type::<AgqError>())?;
    m.add("SnapshotError", py.get_type::<SnapshotError>())?;
    m.add("SettingsError", py.get_type::<SettingsError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add_function(wrap_pyfunction!(read_snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(write_snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(itq_width, m)?)?;
    m.add_function(wrap_pyfunction!(itq_step, m)?)?;
    m.add_function(wrap_pyfunction!(quantize_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(project, m)?)?;
    m.add_function(wrap_pyfunction!(quantize_snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
