//! Where the per-parameter importance comes from.

use super::error::QuantError;
use super::tensor::ParamTensor;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Source of the importance used for clustering (one f32 >= 0 per parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportanceSource {
    /// The accumulated `|grad|` in [`ParamTensor::importance`] (the method's `G`).
    Gradient,
    /// `|w|` (a magnitude baseline).
    Magnitude,
    /// Uniform in `[0, 1)`, a function of (seed, flat index) only (a random baseline).
    Random { seed: u64 },
    /// The accumulated Taylor importance `sum_t |θ(t) · dL/dθ(t)|` in
    /// [`ParamTensor::taylor`], summed over the same steps as `Gradient`.
    Taylor,
    /// The accumulated `|grad|` times the current magnitude, `G_j * |θ_j|`: the method's
    /// `G` weighed by how much removing the value changes the layer (beyond the thesis).
    /// `G` alone ranks a deep network's wide layers lowest as a whole (their gradients are
    /// small), so a global split prunes them away entirely; the product keeps every layer.
    GradMagnitude,
}

impl ImportanceSource {
    /// Whether every tensor of `params` carries what this source reads: `Taylor` needs
    /// [`ParamTensor::taylor`] of every tensor, with one value per weight. The error names
    /// the first tensor without it.
    pub fn check(&self, params: &[ParamTensor]) -> Result<(), QuantError> {
        if *self != ImportanceSource::Taylor {
            return Ok(());
        }
        for p in params {
            match &p.taylor {
                None => {
                    return Err(QuantError::NoTaylor { tensor: p.name.clone() });
                }
                Some(t) if t.len() != p.weight.len() => {
                    return Err(QuantError::TaylorLength { tensor: p.name.clone(), values: t.len(), weights: p.weight.len() });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// [`ImportanceSource::compute`] after [`ImportanceSource::check`]: an error instead of
    /// a panic when the parameters lack what the source reads.
    pub fn try_compute(&self, params: &[ParamTensor]) -> Result<Vec<f32>, QuantError> {
        self.check(params)?;
        Ok(self.compute(params))
    }

    /// The flat importance vector over all tensors in order.
    ///
    /// # Panics
    /// For `Gradient`, if a tensor's `importance` length differs from its `weight` length;
    /// for `Taylor`, if a tensor has no `taylor` (see [`ImportanceSource::try_compute`]).
    pub fn compute(&self, params: &[ParamTensor]) -> Vec<f32> {
        let mut out = Vec::with_capacity(super::tensor::total_len(params));
        for p in params {
            let start = out.len() as u64;
            out.extend_from_slice(&self.of_tensor(p, start));
        }
        out
    }

    /// The importance of every tensor of `params` (checked as in
    /// [`ImportanceSource::try_compute`]), borrowed where the tensors hold it.
    pub fn try_segments<'a>(&self, params: &'a [ParamTensor]) -> Result<Vec<Cow<'a, [f32]>>, QuantError> {
        self.check(params)?;
        let mut start = 0u64;
        let mut segments = Vec::with_capacity(params.len());
        for p in params {
            segments.push(self.of_tensor(p, start));
            start += p.weight.len() as u64;
        }
        Ok(segments)
    }

    /// The importance of tensor `p`, whose first value has flat index `start`: its own
    /// `importance` or `taylor` borrowed, else computed.
    ///
    /// # Panics
    /// As [`ImportanceSource::compute`].
    fn of_tensor<'a>(&self, p: &'a ParamTensor, start: u64) -> Cow<'a, [f32]> {
        match *self {
            ImportanceSource::Gradient => {
                assert_eq!(p.importance.len(), p.weight.len(), "importance of {}", p.name);
                Cow::Borrowed(&p.importance)
            }
            ImportanceSource::Magnitude => Cow::Owned(p.weight.iter().map(|w| w.abs()).collect()),
            ImportanceSource::GradMagnitude => {
                assert_eq!(p.importance.len(), p.weight.len(), "importance of {}", p.name);
                Cow::Owned(p.importance.iter().zip(&p.weight).map(|(g, w)| g * w.abs()).collect())
            }
            ImportanceSource::Taylor => {
                let t = p.taylor.as_ref().unwrap_or_else(|| panic!("no taylor importance of {}", p.name));
                assert_eq!(t.len(), p.weight.len(), "taylor importance of {}", p.name);
                Cow::Borrowed(t)
            }
            ImportanceSource::Random { seed } => {
                Cow::Owned((0..p.weight.len() as u64).map(|i| random_unit(seed, start + i)).collect())
            }
        }
    }
}

impl std::fmt::Display for ImportanceSource {
    /// The CLI syntax: `gradient`, `magnitude`, `random:SEED`, `taylor`, `grad-magnitude`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportanceSource::Gradient => f.write_str("gradient"),
            ImportanceSource::Magnitude => f.write_str("magnitude"),
            ImportanceSource::Random { seed } => write!(f, "random:{seed}"),
            ImportanceSource::Taylor => f.write_str("taylor"),
            ImportanceSource::GradMagnitude => f.write_str("grad-magnitude"),
        }
    }
}

pub use crate::rng::{SplitMix64, splitmix64_mix};
use crate::rng::GOLDEN_GAMMA;

/// The `index`-th output of `SplitMix64(seed)` as an f32 in `[0, 1)`: the same on every
/// platform and independent of how the parameters are split into tensors.
#[inline]
pub fn random_unit(seed: u64, index: u64) -> f32 {
    let z = splitmix64_mix(seed.wrapping_add((index + 1).wrapping_mul(GOLDEN_GAMMA)));
    (z >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<ParamTensor> {
        let mut a = ParamTensor::new("a", vec![2, 2], vec![1.0, -2.0, 0.5, -0.0]);
        a.importance = vec![0.1, 0.2, 0.3, 0.4];
        let mut b = ParamTensor::new("b", vec![2], vec![-7.0, 3.0]);
        b.importance = vec![5.0, 6.0];
        vec![a, b]
    }

    #[test]
    fn gradient_importance_is_the_accumulated_values_in_flat_order() {
        assert_eq!(
            ImportanceSource::Gradient.compute(&params()),
            vec![0.1, 0.2, 0.3, 0.4, 5.0, 6.0]
        );
    }

    #[test]
    fn grad_magnitude_importance_is_g_times_the_absolute_weight() {
        let got = ImportanceSource::GradMagnitude.compute(&params());
        assert_eq!(got, vec![0.1, 0.4, 0.15, 0.0, 35.0, 18.0]);
        assert_eq!(ImportanceSource::GradMagnitude.to_string(), "grad-magnitude");
    }

    #[test]
    fn magnitude_importance_is_the_absolute_weight() {
        assert_eq!(
            ImportanceSource::Magnitude.compute(&params()),
            vec![1.0, 2.0, 0.5, 0.0, 7.0, 3.0]
        );
    }

    #[test]
    fn taylor_importance_is_the_accumulated_taylor_values_in_flat_order() {
        let mut p = params();
        p[0].taylor = Some(vec![1.0, 0.0, 2.0, 3.0]);
        p[1].taylor = Some(vec![4.0, 5.0]);
        assert_eq!(ImportanceSource::Taylor.try_compute(&p), Ok(vec![1.0, 0.0, 2.0, 3.0, 4.0, 5.0]));
    }

    #[test]
    fn taylor_importance_without_taylor_values_is_an_error_naming_the_tensor() {
        let mut p = params();
        p[0].taylor = Some(vec![1.0; 4]);
        let e = ImportanceSource::Taylor.try_compute(&p).unwrap_err();
        assert!(e.to_string().contains("taylor/b"), "{e}");
        p[1].taylor = Some(vec![1.0]);
        assert!(ImportanceSource::Taylor.check(&p).unwrap_err().to_string().contains("1 values for 2 weights"));
        // the other sources never need it
        assert!(ImportanceSource::Gradient.try_compute(&params()).is_ok());
    }

    #[test]
    fn random_importance_matches_the_splitmix64_sequence() {
        let r = ImportanceSource::Random { seed: 42 }.compute(&params());
        let mut g = SplitMix64(42);
        let want: Vec<f32> = (0..6).map(|_| g.next_f32()).collect();
        assert_eq!(r, want);
        assert!(r.iter().all(|&x| (0.0..1.0).contains(&x)));
    }

    #[test]
    fn splitmix64_gives_the_reference_values() {
        // first outputs for seed 1234567 from the reference C implementation
        let mut g = SplitMix64(1234567);
        assert_eq!(g.next_u64(), 6457827717110365317);
        assert_eq!(g.next_u64(), 3203168211198807973);
    }

    #[test]
    fn different_seeds_give_different_importances() {
        let a = ImportanceSource::Random { seed: 1 }.compute(&params());
        let b = ImportanceSource::Random { seed: 2 }.compute(&params());
        assert_ne!(a, b);
    }
}
