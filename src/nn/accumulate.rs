//! Accumulation of the absolute gradient of every parameter, on the device.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// Adds `|grad|` of every parameter of a module to `sums` (native flat layout, visiting
/// order). `sums` starts empty and is filled with zeros-plus-gradient at the first call.
struct Accumulate<'a> {
    grads: &'a GradientsParams,
    sums: &'a mut Vec<Tensor<1>>,
    index: usize,
}

impl ModuleVisitor for Accumulate<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let i = self.index;
        self.index += 1;
        let Some(grad) = self.grads.get::<D>(param.id) else {
            return;
        };
        let n: usize = grad.dims().iter().product();
        let magnitude = grad.abs().reshape([n]);
        if i < self.sums.len() {
            self.sums[i] = self.sums[i].clone() + magnitude;
        } else {
            self.sums.push(magnitude);
        }
    }
}

/// `sums[i] += |grads of parameter i|` for every parameter of `module`, with no read-back.
///
/// Parameters with no gradient this step (none in these networks) keep their sum; on the
/// first call, one sum tensor per parameter is created in visiting order.
pub fn accumulate_abs_grads<M: Module>(module: &M, grads: &GradientsParams, sums: &mut Vec<Tensor<1>>) {
    module.visit(&mut Accumulate { grads, sums, index: 0 });
}
