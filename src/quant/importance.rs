//! Where the per-parameter importance comes from.

use super::tensor::ParamTensor;
use serde::{Deserialize, Serialize};

/// Source of the importance used for clustering (one f32 >= 0 per parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportanceSource {
    /// The accumulated `|grad|` in [`ParamTensor::importance`] (the method's `G`).
    Gradient,
    /// `|w|` (a magnitude baseline).
    Magnitude,
    /// Uniform in `[0, 1)`, a function of (seed, flat index) only (a random baseline).
    Random { seed: u64 },
}

impl ImportanceSource {
    /// The flat importance vector over all tensors in order.
    ///
    /// # Panics
    /// For `Gradient`, if a tensor's `importance` length differs from its `weight` length.
    pub fn compute(&self, params: &[ParamTensor]) -> Vec<f32> {
        let mut out = Vec::with_capacity(super::tensor::total_len(params));
        for p in params {
            match *self {
                ImportanceSource::Gradient => {
                    assert_eq!(
                        p.importance.len(),
                        p.weight.len(),
                        "importance of {}",
                        p.name
                    );
                    out.extend_from_slice(&p.importance);
                }
                ImportanceSource::Magnitude => out.extend(p.weight.iter().map(|w| w.abs())),
                ImportanceSource::Random { seed } => {
                    let start = out.len() as u64;
                    out.extend((0..p.weight.len() as u64).map(|i| random_unit(seed, start + i)));
                }
            }
        }
        out
    }
}

impl std::fmt::Display for ImportanceSource {
    /// The CLI syntax: `gradient`, `magnitude`, `random:SEED`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportanceSource::Gradient => f.write_str("gradient"),
            ImportanceSource::Magnitude => f.write_str("magnitude"),
            ImportanceSource::Random { seed } => write!(f, "random:{seed}"),
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
    fn magnitude_importance_is_the_absolute_weight() {
        assert_eq!(
            ImportanceSource::Magnitude.compute(&params()),
            vec![1.0, 2.0, 0.5, 0.0, 7.0, 3.0]
        );
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
