//! Accumulation of the importances of every parameter, on the device: the absolute gradient
//! `G = sum_t |g_t|` (the method's importance) and the Taylor importance
//! `T = sum_t |w_t · g_t|`, `w_t` being the value the gradient `g_t` was taken at.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// The running sums of one training run, one native flat `[n]` tensor per parameter in
/// visiting order (empty until the first step).
#[derive(Clone, Default)]
pub struct ImportanceSums {
    /// `sum_t |g_t|` per value.
    pub gradient: Vec<Tensor<1>>,
    /// `sum_t |w_t · g_t|` per value.
    pub taylor: Vec<Tensor<1>>,
}

impl ImportanceSums {
    /// Whether no step has been accumulated yet.
    pub fn is_empty(&self) -> bool {
        self.gradient.is_empty()
    }
}

/// Adds `|grad|` and `|w · grad|` of every parameter of a module to `sums`.
struct Accumulate<'a> {
    grads: &'a GradientsParams,
    sums: &'a mut ImportanceSums,
    index: usize,
}

fn add(sums: &mut Vec<Tensor<1>>, i: usize, value: Tensor<1>) {
    if i < sums.len() {
        sums[i] = sums[i].clone() + value;
    } else {
        sums.push(value);
    }
}

impl ModuleVisitor for Accumulate<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let i = self.index;
        self.index += 1;
        let Some(grad) = self.grads.get::<D>(param.id) else {
            return;
        };
        let n: usize = grad.dims().iter().product();
        // the value the gradient was taken at, without the autodiff graph
        let weight = param.val().inner().reshape([n]);
        let grad = grad.reshape([n]);
        add(&mut self.sums.taylor, i, (weight * grad.clone()).abs());
        add(&mut self.sums.gradient, i, grad.abs());
    }
}

/// `G_i += |grad_i|` and `T_i += |w_i · grad_i|` for every parameter `i` of `module` (call it
/// after the backward pass, before the optimizer step), with no read-back.
///
/// Parameters with no gradient this step (none in these networks) keep their sums; on the
/// first call, one sum tensor per parameter is created in visiting order.
pub fn accumulate_importances<M: Module>(module: &M, grads: &GradientsParams, sums: &mut ImportanceSums) {
    module.visit(&mut Accumulate { grads, sums, index: 0 });
}

#[cfg(all(test, feature = "cpu"))]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::SgdConfig;
    use burn::tensor::{Device, TensorData};

    fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn the_sums_are_abs_grad_and_abs_weight_times_grad_over_the_steps() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let mut layer: Linear = LinearConfig::new(3, 2).init(&device);
        let mut optim = SgdConfig::new().init();
        let mut sums = ImportanceSums::default();
        // expected sums of the weight ([3, 2] natively, 6 values) and the bias (2 values)
        let (mut g_w, mut t_w, mut g_b, mut t_b) = (vec![0f64; 6], vec![0f64; 6], vec![0f64; 2], vec![0f64; 2]);
        for step in 0..3 {
            let x: Vec<f32> = (0..12).map(|i| ((i * 7 + step * 5) % 11) as f32 / 5.0 - 1.0).collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [4, 3]), &device);
            let y = layer.forward(x);
            let loss = (y.clone() * y).sum(); // gradients depend on the weights
            let grads = GradientsParams::from_grads(loss.backward(), &layer);
            let w = host(layer.weight.val().inner());
            let b = host(layer.bias.as_ref().unwrap().val().inner());
            let gw = host(grads.get::<2>(layer.weight.id).unwrap());
            let gb = host(grads.get::<1>(layer.bias.as_ref().unwrap().id).unwrap());
            for i in 0..6 {
                g_w[i] += f64::from(gw[i].abs());
                t_w[i] += f64::from((w[i] * gw[i]).abs());
            }
            for i in 0..2 {
                g_b[i] += f64::from(gb[i].abs());
                t_b[i] += f64::from((b[i] * gb[i]).abs());
            }
            accumulate_importances(&layer, &grads, &mut sums);
            layer = optim.step(0.1, layer, grads);
        }
        assert_eq!((sums.gradient.len(), sums.taylor.len()), (2, 2));
        let close = |got: Vec<f32>, want: &[f64]| {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want) {
                assert!((f64::from(*g) - w).abs() <= 1e-5 * w.abs().max(1e-3), "{got:?} vs {want:?}");
            }
        };
        close(host(sums.gradient[0].clone()), &g_w);
        close(host(sums.taylor[0].clone()), &t_w);
        close(host(sums.gradient[1].clone()), &g_b);
        close(host(sums.taylor[1].clone()), &t_b);
        assert!(t_w.iter().all(|&t| t > 0.0));
    }
}
