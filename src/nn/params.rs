//! Reading parameters out of a burn module and writing them back, in a fixed order.
//!
//! Two layouts meet here. On the device every parameter is kept in burn's native layout,
//! flattened to `[n]` (a `Linear` weight is `[in, out]` there). On the host, and in
//! snapshots and `.agq` files, tensors are output-major as in PyTorch (`Linear` `[out, in]`,
//! `Conv2d` `[out, in, kh, kw]`, bias `[out]`). [`ParamInfo`] converts between the two.

use super::error::NnError;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData, Transaction};

/// Name, shapes and layout of one parameter tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// Dotted path, e.g. `fc1.weight`.
    pub name: String,
    /// Output-major shape (rows = first dimension).
    pub shape: Vec<usize>,
    /// `Some((in, out))` for a `Linear` weight stored `[in, out]` natively.
    pub transposed: Option<(usize, usize)>,
}

impl ParamInfo {
    /// Number of scalars.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor holds no scalar.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Native flat values -> output-major flat values.
    pub fn to_output_major(&self, native: Vec<f32>) -> Vec<f32> {
        match self.transposed {
            None => native,
            Some((d_in, d_out)) => {
                let mut out = vec![0.0; native.len()];
                for i in 0..d_in {
                    for o in 0..d_out {
                        out[o * d_in + i] = native[i * d_out + o];
                    }
                }
                out
            }
        }
    }

    /// Output-major flat values -> native flat values.
    pub fn to_native<T: Copy + Default>(&self, major: &[T]) -> Vec<T> {
        match self.transposed {
            None => major.to_vec(),
            Some((d_in, d_out)) => {
                let mut out = vec![T::default(); major.len()];
                for i in 0..d_in {
                    for o in 0..d_out {
                        out[i * d_out + o] = major[o * d_in + i];
                    }
                }
                out
            }
        }
    }
}

/// Tracks the dotted path of the current parameter while visiting; enum levels are skipped
/// so that names do not depend on which network variant holds them.
#[derive(Default)]
struct PathStack {
    names: Vec<String>,
    kinds: Vec<String>,
}

impl PathStack {
    fn enter(&mut self, name: &str, container: &str) {
        self.names.push(name.to_string());
        self.kinds.push(container.to_string());
    }
    fn exit(&mut self) {
        self.names.pop();
        self.kinds.pop();
    }
    fn path(&self) -> String {
        self.names
            .iter()
            .zip(&self.kinds)
            .filter(|(_, kind)| !kind.starts_with("Enum:"))
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
    /// Whether the current parameter is a field of a `Linear` (its container type).
    fn in_linear(&self) -> bool {
        self.kinds.last().is_some_and(|k| k == "Struct:Linear")
    }
}

/// Collects infos and native flat values of every float parameter.
#[derive(Default)]
struct Collector {
    path: PathStack,
    infos: Vec<ParamInfo>,
    values: Vec<Tensor<1>>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let dims = tensor.dims();
        let (shape, transposed) = if D == 2 && self.path.in_linear() {
            (vec![dims[1], dims[0]], Some((dims[0], dims[1])))
        } else {
            (dims.to_vec(), None)
        };
        let name = self.path.path();
        let n: usize = shape.iter().product();
        self.infos.push(ParamInfo { name, shape, transposed });
        self.values.push(tensor.detach().reshape([n]));
    }
}

// The derived visitors call `enter_module(field, "Struct:Parent")` for the parameter's own
// field too, so the path ends in `weight` / `bias` and the last kind is the owner's type.

/// Infos of every parameter of `module`, in visiting order.
pub fn param_infos<M: Module>(module: &M) -> Vec<ParamInfo> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    collector.infos
}

/// Native flat value tensors of every parameter, in visiting order.
pub fn param_tensors<M: Module>(module: &M) -> Vec<Tensor<1>> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    collector.values
}

/// Reads `tensors` back to the host in one transaction.
pub async fn read_all(tensors: Vec<Tensor<1>>) -> Result<Vec<Vec<f32>>, NnError> {
    let mut transaction = Transaction::default();
    for tensor in tensors {
        transaction = transaction.register(tensor);
    }
    let data = transaction
        .execute_async()
        .await
        .map_err(|e| NnError::ReadBack(format!("{e:?}")))?;
    data.into_iter()
        .map(|d| d.try_into_vec_as::<f32>().map_err(|e| NnError::ReadBack(format!("{e:?}"))))
        .collect()
}

/// Output-major host values of every parameter of `module`.
pub async fn read_params<M: Module>(module: &M) -> Result<Vec<Vec<f32>>, NnError> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    let native = read_all(collector.values).await?;
    Ok(collector.infos.iter().zip(native).map(|(info, v)| info.to_output_major(v)).collect())
}

/// Replaces parameter `i` by `f(i, native_flat_value)`, keeping ids and gradient tracking.
/// `f` works on tensors without autodiff (on the inner device).
pub struct MapParams<F: FnMut(usize, Tensor<1>) -> Tensor<1>> {
    index: usize,
    f: F,
}

impl<F: FnMut(usize, Tensor<1>) -> Tensor<1>> ModuleMapper for MapParams<F> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let i = self.index;
        self.index += 1;
        let f = &mut self.f;
        param.map(|tensor| {
            let dims = tensor.dims();
            let tracked = tensor.is_require_grad();
            let autodiff = tensor.is_autodiff();
            let n: usize = dims.iter().product();
            let out = f(i, tensor.inner().reshape([n])).reshape(dims);
            let out = if autodiff { out.autodiff() } else { out };
            out.set_require_grad(tracked)
        })
    }
}

/// Applies `f` to every parameter of `module` (native flat layout), in visiting order.
pub fn map_params<M: Module>(module: M, f: impl FnMut(usize, Tensor<1>) -> Tensor<1>) -> M {
    module.map(&mut MapParams { index: 0, f })
}

/// Writes output-major host `values` into every parameter of `module`.
pub fn write_params<M: Module, V: AsRef<[f32]>>(module: M, infos: &[ParamInfo], values: &[V]) -> M {
    map_params(module, |i, old| {
        let native = infos[i].to_native(values[i].as_ref());
        Tensor::from_data(TensorData::new(native, [infos[i].len()]), &old.device())
    })
}
