//! The one way a network is built from named tensors (a snapshot's weights, a decoded
//! `.agq` file, a sweep point) and evaluated: every tensor of the network found by name
//! and checked by shape, then [`super::eval::run_paced`]. Used by the page's result and
//! snapshot evaluations, `agq eval`, `agq snapshot` and `agq sweep`.

use super::error::NnError;
use super::eval::{Evaluation, Progress, run_paced};
use super::models::Model;
use super::params::{ParamInfo, param_infos, write_params};
use crate::choices::Net;
use crate::data::Dataset;
use crate::quant::model::QuantModel;
use crate::snapshot::Snapshot;
use burn::tensor::Device;

/// One named, output-major host tensor.
#[derive(Clone, Copy, Debug)]
pub struct Named<'a> {
    pub name: &'a str,
    /// Output-major shape (PyTorch's).
    pub shape: &'a [usize],
    /// `shape.product()` values, output-major.
    pub values: &'a [f32],
}

/// Where named tensors come from, for the error of a missing one.
pub const FROM_SNAPSHOT: &str = "snapshot";
/// See [`FROM_SNAPSHOT`].
pub const FROM_AGQ: &str = ".agq file";

/// The weights of `snapshot`, by name.
pub fn snapshot_weights(snapshot: &Snapshot) -> Vec<Named<'_>> {
    snapshot.params.iter().map(|p| Named { name: &p.name, shape: &p.shape, values: &p.weight }).collect()
}

/// The tensors of a decoded `.agq` file with their `values` (`model.dequantized()`).
pub fn decoded_tensors<'a>(model: &'a QuantModel, values: &'a [Vec<f32>]) -> Vec<Named<'a>> {
    model.tensors.iter().zip(values).map(|(t, v)| Named { name: &t.name, shape: &t.shape, values: v }).collect()
}

/// `model` (whose parameters are `infos`) with every parameter replaced by the tensor of
/// `tensors` of the same name; an error names a missing tensor (from `source`) or a shape
/// that differs. Tensors the network does not have are ignored.
pub fn load_into(model: Model, infos: &[ParamInfo], tensors: &[Named<'_>], source: &'static str) -> Result<Model, NnError> {
    let mut values = Vec::with_capacity(infos.len());
    for info in infos {
        let t = tensors
            .iter()
            .find(|t| t.name == info.name)
            .ok_or_else(|| NnError::MissingTensor { source, tensor: info.name.clone() })?;
        if t.shape != info.shape.as_slice() {
            return Err(NnError::TensorShape { tensor: info.name.clone(), shape: t.shape.to_vec(), expected: info.shape.clone() });
        }
        values.push(t.values);
    }
    Ok(write_params(model, infos, &values))
}

/// A fresh network `kind` on `device` with the parameters of `tensors` (see [`load_into`]).
pub fn network_from(kind: Net, tensors: &[Named<'_>], source: &'static str, device: &Device) -> Result<Model, NnError> {
    let model = Model::new(kind, device);
    let infos = param_infos(&model);
    load_into(model, &infos, tensors, source)
}

/// Top-1 accuracy (%) of `model` on `test`, `batch` images per batch, reporting to
/// `progress` and pausing after every batch (a stop ends it within one batch).
pub async fn evaluate(model: &Model, test: &Dataset, batch: usize, progress: &mut dyn Progress) -> Result<f64, NnError> {
    run_paced(Evaluation::new(model, test, batch), 1, progress).await
}
