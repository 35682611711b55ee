//! The cluster boundaries of a clustering (see [`super::cluster`]), found once from all the
//! importances: after that a parameter's cluster depends on its own importance and flat
//! index alone, so the clusters of a tensor can be computed in the same pass that uses
//! them ([`Boundaries::visit`]) instead of in a flat array of their own.

use super::cluster::{ClusterMethod, Cut, KMeansHistogram, kmeans_value, quantile_positions, select_cuts_in, sort_key};

/// Where the clusters of one clustering begin.
#[derive(Debug, Clone, PartialEq)]
pub enum Boundaries {
    /// Quantile: the ascending cuts in the (importance, flat index) order; a parameter's
    /// cluster is the number of cuts at or below its `(sort_key(g) << 32) | index`.
    Cuts(Vec<Cut>),
    /// K-means: ascending thresholds; a parameter's cluster is the number of thresholds `t`
    /// with `kmeans_value(g) >= t`.
    Thresholds(Vec<f32>),
}

/// The cluster (0 = least important) of one parameter from its importance and flat index.
/// `Copy`, so that a hot loop can hold it by value (in registers, not behind a pointer).
pub trait Classify: Copy {
    fn cluster(&self, importance: f32, index: u64) -> u8;
}

/// Up to `N` cuts, padded with [`Cut::ALL`] (which no key reaches) to a fixed-length loop.
#[derive(Clone, Copy)]
struct CutsUpTo<const N: usize>([u64; N]);

impl<const N: usize> Classify for CutsUpTo<N> {
    #[inline(always)]
    fn cluster(&self, importance: f32, index: u64) -> u8 {
        let key = ((sort_key(importance) as u64) << 32) | index;
        self.0.iter().map(|&cut| u8::from(key >= cut)).sum()
    }
}

/// Up to `N` thresholds, padded with `INFINITY` (which no [`kmeans_value`] reaches).
#[derive(Clone, Copy)]
struct ThresholdsUpTo<const N: usize>([f32; N]);

impl<const N: usize> Classify for ThresholdsUpTo<N> {
    #[inline(always)]
    fn cluster(&self, importance: f32, _index: u64) -> u8 {
        let g = kmeans_value(importance);
        self.0.iter().map(|&t| u8::from(g >= t)).sum()
    }
}

/// Work that needs a [`Classify`]: [`Boundaries::visit`] hands it one whose loops have a
/// fixed length (the number of boundaries rounded up to 3, 15 or 255: the first holds the
/// page's four clusters).
pub trait ClassifyVisitor {
    type Output;
    fn visit<C: Classify>(self, classify: &C) -> Self::Output;
}

impl Boundaries {
    /// The boundaries of `method` over the importances of `segments`, concatenated in flat
    /// order (one segment per tensor, so the importances need not be copied into one array).
    ///
    /// # Panics
    /// If K is 0 or above 256, or a quantile fraction is NaN.
    pub fn find(segments: &[&[f32]], method: &ClusterMethod) -> Boundaries {
        let k = method.k();
        assert!((1..=256).contains(&k), "cluster count {k} outside 1..=256");
        match method {
            ClusterMethod::Quantile(fractions) => {
                let n = segments.iter().map(|s| s.len()).sum();
                let mut cuts = select_cuts_in(segments, &quantile_positions(fractions, n));
                cuts.sort_unstable(); // positions are non-decreasing for increasing fractions anyway
                Boundaries::Cuts(cuts)
            }
            ClusterMethod::KMeans { k } => Boundaries::Thresholds(KMeansHistogram::of_segments(segments).thresholds(*k)),
        }
    }

    /// `K-1` importances: entry `c-1` is the smallest importance in clusters `>= c`
    /// (`INFINITY` when those clusters are empty). For a chart.
    pub fn thresholds(&self) -> Vec<f32> {
        match self {
            Boundaries::Cuts(cuts) => cuts.iter().map(|c| c.importance()).collect(),
            Boundaries::Thresholds(t) => t.clone(),
        }
    }

    /// Runs `visitor` with the classifier of these boundaries.
    pub fn visit<V: ClassifyVisitor>(&self, visitor: V) -> V::Output {
        match self {
            Boundaries::Cuts(cuts) => {
                let raw: Vec<u64> = cuts.iter().map(|c| c.raw()).collect();
                match raw.len() {
                    0..=3 => visitor.visit(&CutsUpTo(padded::<u64, 3>(&raw, Cut::ALL.raw()))),
                    4..=15 => visitor.visit(&CutsUpTo(padded::<u64, 15>(&raw, Cut::ALL.raw()))),
                    _ => visitor.visit(&CutsUpTo(padded::<u64, 255>(&raw, Cut::ALL.raw()))),
                }
            }
            Boundaries::Thresholds(t) => match t.len() {
                0..=3 => visitor.visit(&ThresholdsUpTo(padded::<f32, 3>(t, f32::INFINITY))),
                4..=15 => visitor.visit(&ThresholdsUpTo(padded::<f32, 15>(t, f32::INFINITY))),
                _ => visitor.visit(&ThresholdsUpTo(padded::<f32, 255>(t, f32::INFINITY))),
            },
        }
    }

    /// The cluster of every parameter of `segments` (flat order), in one array.
    pub fn assign(&self, segments: &[&[f32]]) -> Vec<u8> {
        self.visit(AssignAll(segments))
    }
}

/// `values` followed by `pad` up to `N` entries.
fn padded<T: Copy, const N: usize>(values: &[T], pad: T) -> [T; N] {
    let mut out = [pad; N];
    out[..values.len()].copy_from_slice(values);
    out
}

/// [`Boundaries::assign`]'s pass.
struct AssignAll<'a>(&'a [&'a [f32]]);

impl ClassifyVisitor for AssignAll<'_> {
    type Output = Vec<u8>;
    fn visit<C: Classify>(self, classify: &C) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.iter().map(|s| s.len()).sum());
        for segment in self.0 {
            let start = out.len() as u64;
            out.extend(segment.iter().enumerate().map(|(i, &g)| classify.cluster(g, start + i as u64)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::cluster::{assign_clusters, cluster};
    use crate::quant::importance::SplitMix64;

    fn importances(n: usize, seed: u64) -> Vec<f32> {
        let mut g = SplitMix64(seed);
        // many ties and a wide range, across radix buckets
        (0..n).map(|_| ((g.next_u64() % 40) as f32).exp2() * 1e-9).collect()
    }

    #[test]
    fn segments_cluster_as_their_concatenation_does() {
        let imp = importances(3000, 5);
        let segments = [&imp[..7], &imp[7..7], &imp[7..1200], &imp[1200..]];
        for method in [
            ClusterMethod::Quantile(vec![0.5, 0.8, 0.95]),
            ClusterMethod::Quantile(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
            ClusterMethod::KMeans { k: 4 },
            ClusterMethod::KMeans { k: 9 },
        ] {
            let b = Boundaries::find(&segments, &method);
            let whole = cluster(&imp, &method);
            assert_eq!(b.assign(&segments), whole.cluster, "{method:?}");
            assert_eq!(b.thresholds(), whole.thresholds, "{method:?}");
        }
    }

    #[test]
    fn many_clusters_take_the_longest_loop() {
        let imp = importances(2000, 9);
        let fractions: Vec<f64> = (1..40).map(|i| i as f64 / 40.0).collect();
        let method = ClusterMethod::Quantile(fractions);
        assert_eq!(Boundaries::find(&[&imp], &method).assign(&[&imp]), assign_clusters(&imp, &method));
    }
}
