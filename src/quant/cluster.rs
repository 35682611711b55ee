//! Clustering of the importances of the FULL parameter set into K contiguous groups.
//!
//! Order: ascending importance by `f32::total_cmp`, ties broken by flat index (stable).
//! Cluster 0 holds the least important parameters.
//!
//! * `Quantile(F)`: with `n` parameters and `m_c = floor(F_c * n)`, cluster `c` is the
//!   ascending positions `[m_c, m_{c+1})` (`m_0 = 0`, `m_K = n`). Computed by selection
//!   (radix histogram + `select_nth_unstable`), O(n), no full sort.
//! * `KMeans { k }`: 1-D k-means on `x = ln(g + 1e-12)` (f32), `g` = importance with NaN
//!   and negatives read as 0 and +inf as `f32::MAX`. The `x` range is cut into
//!   [`KMEANS_BINS`] equal bins; the optimal partition of the bins into `k` contiguous
//!   groups (exact DP on the per-bin count/sum/sum of squares, divide and conquer) gives
//!   the clusters. Equal importances share a cluster. With fewer than `k` non-empty bins
//!   every non-empty bin is its own cluster and the LOWEST clusters stay empty (so the
//!   parameters keep the higher widths).

use super::boundaries::Boundaries;
use serde::{Deserialize, Serialize};

/// Bins of the k-means histogram over `ln(g + eps)`.
pub const KMEANS_BINS: usize = 16384;
/// The `eps` of `ln(g + eps)`.
pub const KMEANS_EPS: f32 = 1e-12;

/// How to split the sorted importances into clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClusterMethod {
    /// Cumulative fractions `F_1 < ... < F_{K-1}` in (0, 1).
    Quantile(Vec<f64>),
    /// K clusters by 1-D k-means on `ln(g + eps)`.
    KMeans { k: usize },
}

impl ClusterMethod {
    /// Number of clusters K.
    pub fn k(&self) -> usize {
        match self {
            ClusterMethod::Quantile(f) => f.len() + 1,
            ClusterMethod::KMeans { k } => *k,
        }
    }
}

/// Result of clustering `n` importances into K clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Cluster of every flat parameter, `n` entries in `0..K`.
    pub cluster: Vec<u8>,
    /// `K-1` importances: `thresholds[c-1]` is the smallest importance in clusters `>= c`
    /// (`f32::INFINITY` when those clusters are empty). For a chart.
    pub thresholds: Vec<f32>,
    /// Parameters per cluster, `K` entries.
    pub counts: Vec<usize>,
}

/// Order-preserving map of an f32 to a u32 (the order of `f32::total_cmp`).
#[inline]
pub fn sort_key(x: f32) -> u32 {
    let b = x.to_bits();
    // negative: all bits flipped; else the sign bit set (no branch)
    b ^ ((b as i32 >> 31) as u32 | 0x8000_0000)
}

/// The f32 of a [`sort_key`] (its inverse).
#[inline]
pub fn from_key(k: u32) -> f32 {
    f32::from_bits(if k & 0x8000_0000 != 0 {
        k & 0x7fff_ffff
    } else {
        !k
    })
}

/// A cut in the (importance, flat index) order: everything strictly before it is "below".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cut(u64);

impl Cut {
    /// The cut after the last element (everything is below it).
    pub const ALL: Cut = Cut(u64::MAX);

    /// The cut before the element whose `(sort_key(importance) << 32) | flat index` is `raw`.
    pub fn from_raw(raw: u64) -> Cut {
        Cut(raw)
    }

    /// `(sort_key(importance) << 32) | flat index` of the element the cut is before.
    pub fn raw(self) -> u64 {
        self.0
    }

    /// Is the parameter with this importance and flat index before the cut?
    #[inline]
    pub fn is_below(self, importance: f32, index: usize) -> bool {
        (((sort_key(importance) as u64) << 32) | index as u64) < self.0
    }

    /// Importance of the first element at or after the cut (`INFINITY` for [`Cut::ALL`]).
    pub fn importance(self) -> f32 {
        if self == Cut::ALL {
            f32::INFINITY
        } else {
            from_key((self.0 >> 32) as u32)
        }
    }
}

/// For every ascending position `m` in `positions`, the cut before the element at that
/// position (`m >= n` gives [`Cut::ALL`]): exactly `m` elements are below it. O(n).
///
/// # Panics
/// If `importance.len() >= u32::MAX`.
pub fn select_cuts(importance: &[f32], positions: &[usize]) -> Vec<Cut> {
    select_cuts_in(&[importance], positions)
}

/// [`select_cuts`] of the importances of `segments` concatenated in flat order.
pub fn select_cuts_in(segments: &[&[f32]], positions: &[usize]) -> Vec<Cut> {
    let n: usize = segments.iter().map(|s| s.len()).sum();
    assert!(n < u32::MAX as usize, "too many parameters");
    let mut cuts = vec![Cut::ALL; positions.len()];
    if positions.iter().all(|&m| m >= n) {
        return cuts;
    }
    // 1: histogram of the top 16 key bits (two interleaved tables, so that a run of values
    // in one bucket does not wait on its own increments), cumulative counts
    let mut tables = vec![[0u32; 2]; 1 << 16];
    for segment in segments {
        let pairs = segment.chunks_exact(2);
        for &x in pairs.remainder() {
            tables[(sort_key(x) >> 16) as usize][0] += 1;
        }
        for pair in pairs {
            tables[(sort_key(pair[0]) >> 16) as usize][0] += 1;
            tables[(sort_key(pair[1]) >> 16) as usize][1] += 1;
        }
    }
    let mut cum = vec![0u32; (1 << 16) + 1];
    for (h, t) in tables.iter().enumerate() {
        cum[h + 1] = cum[h] + t[0] + t[1];
    }
    // bucket of every wanted position, and a slot per distinct bucket
    let mut slot_of = vec![0u32; 1 << 16];
    let mut slots: Vec<Vec<u64>> = Vec::new();
    let mut wanted = Vec::new(); // (position index j, slot, rank in bucket)
    for (j, &m) in positions.iter().enumerate().filter(|(_, m)| **m < n) {
        let h = cum.partition_point(|&c| c as usize <= m) - 1;
        if slot_of[h] == 0 {
            slots.push(Vec::with_capacity((cum[h + 1] - cum[h]) as usize));
            slot_of[h] = slots.len() as u32;
        }
        wanted.push((j, slot_of[h] as usize - 1, m - cum[h] as usize));
    }
    // 2: gather the wanted buckets' elements as raw cuts `(key << 32) | flat index`, which
    // order as (importance, index) does: the element at a rank is the cut before it
    let mut start = 0u64;
    for segment in segments {
        for (i, &x) in segment.iter().enumerate() {
            let k = sort_key(x);
            let s = slot_of[(k >> 16) as usize];
            if s != 0 {
                slots[s as usize - 1].push(((k as u64) << 32) | (start + i as u64));
            }
        }
        start += segment.len() as u64;
    }
    for (j, s, r) in wanted {
        cuts[j] = Cut(*slots[s].select_nth_unstable(r).1);
    }
    cuts
}

/// The ascending position `floor(F * n)` (clamped to `0..=n`) where each quantile fraction
/// `F` of `n` parameters starts its cluster.
///
/// # Panics
/// If a fraction is NaN.
pub fn quantile_positions(fractions: &[f64], n: usize) -> Vec<usize> {
    fractions
        .iter()
        .map(|f| {
            assert!(!f.is_nan(), "NaN fraction");
            ((f * n as f64).floor().max(0.0) as usize).min(n)
        })
        .collect()
}

/// Cluster every parameter. See the module doc for the methods.
///
/// # Panics
/// If K is 0 or above 256, or a quantile fraction is NaN.
pub fn cluster(importance: &[f32], method: &ClusterMethod) -> Clustering {
    let boundaries = Boundaries::find(&[importance], method);
    let cluster = boundaries.assign(&[importance]);
    let counts = match method {
        ClusterMethod::Quantile(fractions) => {
            let n = importance.len();
            let mut bounds = vec![0];
            bounds.extend(quantile_positions(fractions, n));
            bounds.push(n);
            bounds.sort_unstable();
            bounds.windows(2).map(|w| w[1] - w[0]).collect()
        }
        ClusterMethod::KMeans { k } => {
            let mut counts = vec![0usize; *k];
            for &c in &cluster {
                counts[c as usize] += 1;
            }
            counts
        }
    };
    Clustering { cluster, thresholds: boundaries.thresholds(), counts }
}

/// Cluster index (0 = least important) of every flat parameter.
pub fn assign_clusters(importance: &[f32], method: &ClusterMethod) -> Vec<u8> {
    cluster(importance, method).cluster
}

/// The value k-means clusters on: NaN and negatives read as 0, +inf as `f32::MAX`.
#[inline]
pub fn kmeans_value(g: f32) -> f32 {
    if g > 0.0 { g.min(f32::MAX) } else { 0.0 }
}

/// The k-means histogram of `ln(g + eps)` over [`KMEANS_BINS`] bins, built once (O(n));
/// [`KMeansHistogram::thresholds`] then clusters it for any `k` without reading the
/// importances again.
#[derive(Debug, Clone)]
pub struct KMeansHistogram {
    /// Smallest [`kmeans_value`] (the start of the empty low clusters).
    gmin: f32,
    /// `(count, sum, sum of squares)` of the centred `x` of every non-empty bin, ascending.
    bins: Vec<(f64, f64, f64)>,
    /// Smallest [`kmeans_value`] in each non-empty bin.
    bin_min: Vec<f32>,
}

impl KMeansHistogram {
    pub fn new(importance: &[f32]) -> Self {
        Self::of_segments(&[importance])
    }

    /// [`KMeansHistogram::new`] of the importances of `segments` concatenated.
    pub fn of_segments(segments: &[&[f32]]) -> Self {
        let importance = || segments.iter().copied().flatten();
        if importance().next().is_none() {
            return Self { gmin: 0.0, bins: Vec::new(), bin_min: Vec::new() };
        }
        let (gmin, gmax) = importance().fold((f32::MAX, 0.0f32), |(lo, hi), &g| {
            let g = kmeans_value(g);
            (lo.min(g), hi.max(g))
        });
        let xmin = (gmin + KMEANS_EPS).ln();
        let xmax = (gmax + KMEANS_EPS).ln();
        let scale = if xmax > xmin { KMEANS_BINS as f32 / (xmax - xmin) } else { 0.0 };
        let mid = 0.5 * (xmin as f64 + xmax as f64); // centring for numerical stability
        let mut cnt = vec![0u64; KMEANS_BINS];
        let mut s1 = vec![0f64; KMEANS_BINS];
        let mut s2 = vec![0f64; KMEANS_BINS];
        let mut gmin_bin = vec![f32::INFINITY; KMEANS_BINS];
        for &g in importance() {
            let g = kmeans_value(g);
            let x = (g + KMEANS_EPS).ln();
            let b = (((x - xmin) * scale) as usize).min(KMEANS_BINS - 1);
            let xc = x as f64 - mid;
            cnt[b] += 1;
            s1[b] += xc;
            s2[b] += xc * xc;
            gmin_bin[b] = gmin_bin[b].min(g);
        }
        let nonempty: Vec<usize> = (0..KMEANS_BINS).filter(|&b| cnt[b] > 0).collect();
        Self {
            gmin,
            bins: nonempty.iter().map(|&b| (cnt[b] as f64, s1[b], s2[b])).collect(),
            bin_min: nonempty.iter().map(|&b| gmin_bin[b]).collect(),
        }
    }

    /// The `k - 1` thresholds of `k` clusters: a parameter's cluster is the number of
    /// thresholds `t` with `kmeans_value(g) >= t`.
    ///
    /// # Panics
    /// If `k` is 0.
    pub fn thresholds(&self, k: usize) -> Vec<f32> {
        assert!(k >= 1, "k-means needs at least one cluster");
        if self.bins.is_empty() {
            return vec![f32::INFINITY; k - 1];
        }
        let starts = optimal_segments(&self.bins, k.min(self.bins.len()));
        // the empty low clusters start at the global minimum
        let empty = k - starts.len();
        let mut thresholds = vec![self.gmin; empty.saturating_sub(1)];
        thresholds.extend(starts.iter().skip(usize::from(empty == 0)).map(|&s| self.bin_min[s]));
        thresholds
    }
}

/// Optimal split of weighted points `(count, sum, sum of squares)` into `k >= 1`
/// non-empty contiguous segments (least total within-segment squared deviation).
/// Returns the start index of every segment (the first is 0).
fn optimal_segments(bins: &[(f64, f64, f64)], k: usize) -> Vec<usize> {
    let m = bins.len();
    let mut p = vec![(0f64, 0f64, 0f64); m + 1];
    for (i, b) in bins.iter().enumerate() {
        p[i + 1] = (p[i].0 + b.0, p[i].1 + b.1, p[i].2 + b.2);
    }
    let cost = |i: usize, j: usize| {
        let (c, s, q) = (p[j].0 - p[i].0, p[j].1 - p[i].1, p[j].2 - p[i].2);
        (q - s * s / c).max(0.0)
    };
    let mut prev: Vec<f64> = (0..=m)
        .map(|j| if j == 0 { 0.0 } else { cost(0, j) })
        .collect();
    let mut arg = vec![vec![0usize; m + 1]; k];
    for (l, arg_l) in arg.iter_mut().enumerate().skip(1) {
        let mut cur = vec![f64::INFINITY; m + 1];
        // segments l+1: cur[j] = min_{l <= i < j} prev[i] + cost(i, j), for j in l+1..=m
        let mut stack = vec![(l + 1, m, l, m - 1)];
        while let Some((jlo, jhi, olo, ohi)) = stack.pop() {
            if jlo > jhi {
                continue;
            }
            let j = (jlo + jhi) / 2;
            let (mut best, mut bi) = (f64::INFINITY, olo);
            for (i, &p) in prev.iter().enumerate().take(ohi.min(j - 1) + 1).skip(olo) {
                let v = p + cost(i, j);
                if v < best {
                    (best, bi) = (v, i);
                }
            }
            cur[j] = best;
            arg_l[j] = bi;
            stack.push((jlo, j - 1, olo, bi));
            stack.push((j + 1, jhi, bi, ohi));
        }
        prev = cur;
    }
    let mut starts = vec![0usize; k];
    let mut j = m;
    for l in (1..k).rev() {
        j = arg[l][j];
        starts[l] = j;
    }
    starts
}

/// Stable ascending order of the flat indices by importance (`f32::total_cmp`, ties by
/// index): an LSD radix sort, O(n), for callers that need the full order (charts).
pub fn sort_order(importance: &[f32]) -> Vec<u32> {
    let n = importance.len();
    assert!(n <= u32::MAX as usize, "too many parameters");
    let keys: Vec<u32> = importance.iter().map(|&x| sort_key(x)).collect();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut tmp = vec![0u32; n];
    for shift in [0u32, 16] {
        let mut cum = vec![0usize; (1 << 16) + 1];
        for &i in &order {
            cum[((keys[i as usize] >> shift) & 0xffff) as usize + 1] += 1;
        }
        for h in 0..1 << 16 {
            cum[h + 1] += cum[h];
        }
        for &i in &order {
            let d = ((keys[i as usize] >> shift) & 0xffff) as usize;
            tmp[cum[d]] = i;
            cum[d] += 1;
        }
        std::mem::swap(&mut order, &mut tmp);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_quantile(imp: &[f32], fr: &[f64]) -> Vec<u8> {
        let order = sort_order(imp);
        let n = imp.len();
        let mut out = vec![0u8; n];
        for (pos, &i) in order.iter().enumerate() {
            out[i as usize] = fr
                .iter()
                .filter(|&&f| pos >= (f * n as f64).floor() as usize)
                .count() as u8;
        }
        out
    }

    #[test]
    fn sort_order_is_ascending_with_ties_by_flat_index() {
        let imp = [3.0, 1.0, -0.0, 1.0, 0.0, f32::INFINITY, -2.0];
        assert_eq!(sort_order(&imp), vec![6, 2, 4, 1, 3, 0, 5]);
    }

    #[test]
    fn quantile_cluster_c_ends_at_floor_of_fraction_times_n() {
        let imp: Vec<f32> = (0..10).map(|i| (9 - i) as f32).collect();
        let c = cluster(&imp, &ClusterMethod::Quantile(vec![0.25, 0.5, 0.95]));
        // positions 0,1 -> 0; 2..5 -> 1; 5..9 -> 2; 9 -> 3
        assert_eq!(c.counts, vec![2, 3, 4, 1]);
        assert_eq!(c.cluster, vec![3, 2, 2, 2, 2, 1, 1, 1, 0, 0]);
        assert_eq!(c.thresholds, vec![2.0, 5.0, 9.0]);
    }

    #[test]
    fn quantile_ties_are_broken_by_flat_index() {
        let imp = vec![1.0f32; 10];
        let c = assign_clusters(&imp, &ClusterMethod::Quantile(vec![0.5]));
        assert_eq!(c, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn quantile_selection_agrees_with_a_full_sort() {
        let mut g = crate::quant::importance::SplitMix64(7);
        // many ties and a wide range, across radix buckets
        let imp: Vec<f32> = (0..5000)
            .map(|_| ((g.next_u64() % 50) as f32).exp2() * 1e-9)
            .collect();
        for fr in [vec![0.5, 0.8, 0.95], vec![0.001, 0.002, 0.999], vec![0.3]] {
            assert_eq!(
                assign_clusters(&imp, &ClusterMethod::Quantile(fr.clone())),
                reference_quantile(&imp, &fr)
            );
        }
    }

    #[test]
    fn a_cut_has_exactly_m_elements_below_it() {
        let imp = [5.0f32, 1.0, 1.0, 3.0, 1.0];
        let cuts = select_cuts(&imp, &[0, 1, 2, 3, 4, 5, 9]);
        for (m, cut) in [0, 1, 2, 3, 4, 5, 5].iter().zip(&cuts) {
            let below = imp
                .iter()
                .enumerate()
                .filter(|&(i, &x)| cut.is_below(x, i))
                .count();
            assert_eq!(below, *m);
        }
        assert_eq!(cuts[6], Cut::ALL);
    }

    #[test]
    fn an_empty_parameter_set_gives_empty_clusters() {
        let c = cluster(&[], &ClusterMethod::Quantile(vec![0.5]));
        assert_eq!(
            (c.cluster.len(), c.counts, c.thresholds),
            (0, vec![0, 0], vec![f32::INFINITY])
        );
        let c = cluster(&[], &ClusterMethod::KMeans { k: 3 });
        assert_eq!(c.counts, vec![0, 0, 0]);
    }

    #[test]
    fn kmeans_separates_well_separated_log_groups() {
        let mut imp = vec![];
        for (v, n) in [(1e-8f32, 50), (1e-4, 30), (1.0, 20)] {
            imp.extend(std::iter::repeat_n(v, n));
        }
        let c = cluster(&imp, &ClusterMethod::KMeans { k: 3 });
        assert_eq!(c.counts, vec![50, 30, 20]);
        assert_eq!(c.thresholds, vec![1e-4, 1.0]);
    }

    #[test]
    fn the_segment_dp_finds_the_brute_force_optimum() {
        let mut g = crate::quant::importance::SplitMix64(11);
        for _ in 0..50 {
            let mut xs: Vec<f64> = (0..7).map(|_| g.next_f32() as f64 * 10.0).collect();
            xs.sort_by(f64::total_cmp); // bins come in ascending x
            let bins: Vec<(f64, f64, f64)> = xs
                .iter()
                .map(|&x| {
                    let c = 1.0 + (g.next_u64() % 4) as f64;
                    (c, c * x, c * x * x)
                })
                .collect();
            let sse = |starts: &[usize]| {
                let mut ends = starts[1..].to_vec();
                ends.push(bins.len());
                starts
                    .iter()
                    .zip(&ends)
                    .map(|(&a, &b)| {
                        let (c, s, q) = bins[a..b]
                            .iter()
                            .fold((0.0, 0.0, 0.0), |t, x| (t.0 + x.0, t.1 + x.1, t.2 + x.2));
                        q - s * s / c
                    })
                    .sum::<f64>()
            };
            for k in 1..=3usize {
                let mut best = f64::INFINITY;
                for a in 1..bins.len() {
                    for b in a + 1..bins.len() {
                        let starts: Vec<usize> = [0, a, b][..k].to_vec();
                        best = best.min(sse(&starts));
                    }
                }
                let got = sse(&optimal_segments(&bins, k));
                assert!(got <= best + 1e-9, "k={k}: {got} > {best}");
            }
        }
    }

    #[test]
    fn kmeans_clusters_are_contiguous_in_sorted_order() {
        let mut g = crate::quant::importance::SplitMix64(3);
        let imp: Vec<f32> = (0..20000)
            .map(|_| (g.next_f32() * 30.0 - 25.0).exp())
            .collect();
        let c = cluster(&imp, &ClusterMethod::KMeans { k: 4 });
        let order = sort_order(&imp);
        let sorted: Vec<u8> = order.iter().map(|&i| c.cluster[i as usize]).collect();
        assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
        assert!(c.counts.iter().all(|&n| n > 0));
    }

    #[test]
    fn kmeans_with_fewer_distinct_values_than_k_leaves_the_lowest_clusters_empty() {
        let c = cluster(&[2.0, 2.0, 5.0], &ClusterMethod::KMeans { k: 4 });
        assert_eq!(c.counts, vec![0, 0, 2, 1]);
        assert_eq!(c.cluster, vec![2, 2, 3]);
    }

    #[test]
    fn one_cluster_holds_everything() {
        let c = cluster(&[3.0, 1.0], &ClusterMethod::KMeans { k: 1 });
        assert_eq!((c.cluster, c.thresholds), (vec![0, 0], vec![]));
        assert_eq!(
            assign_clusters(&[3.0, 1.0], &ClusterMethod::Quantile(vec![])),
            vec![0, 0]
        );
    }
}
