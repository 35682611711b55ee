//! Re-accounting in milliseconds: the exact CSR report of PTQ, ITQ or combined
//! quantization for any clusters and widths, from an index built once per importance
//! vector (sort once, then prefix sums).
//!
//! [`account`](super::csr::account) of [`quantize_model`](super::model::quantize_model)
//! quantizes every value, O(n) per setting. Here every tensor is sorted once by
//! importance ([`SortedTensor`]); a cluster is then a contiguous range of that order in
//! every tensor (quantile cuts by binary search over the `(importance, flat index)` keys,
//! k-means thresholds from a histogram kept from the first query). Per (tensor, width)
//! group the accounting needs:
//! * the group's largest magnitude, for its fractional length `f`: block maxima of the
//!   magnitude codes;
//! * how many of its values are stored: a value at fixed width is stored iff
//!   `|x| * 2^f >= 1/2` (round half away from zero), i.e. iff its binary exponent is at
//!   least `-f - 1`; counts per exponent come from prefix-count checkpoints.
//!
//! The report equals `account(quantize_model(..))` field for field (tests check it on
//! random networks, special values included), and `bytes` is the size `encode` writes.

use super::cluster::{ClusterMethod, Cut, KMeansHistogram, kmeans_value};
use super::csr::report_of;
use super::error::QuantError;
use super::fixed_point::{FLOAT_WIDTH, frac_len_f64, is_valid_width};
use super::layout::{bits_from_counts, header_len_of};
use super::report::{Report, TensorReport};
use super::sorted_tensor::{SPECIAL_SLOTS, SortedTensor, representative};
use super::tensor::{ParamTensor, cols_of, rows_of};
use std::collections::BTreeMap;

/// A network's parameters indexed for re-accounting (about 11 bytes per parameter).
#[derive(Debug)]
pub struct Reaccounter {
    net: String,
    tensors: Vec<SortedTensor>,
    n: usize,
    /// The k-means histogram of the importances (k-means clusters without reading them).
    kmeans: KMeansHistogram,
}

/// What one setting accounts to.
#[derive(Debug, Clone, PartialEq)]
pub struct Accounting {
    /// Exactly `account(quantize_model(..))`, `bytes` included.
    pub report: Report,
    /// Parameters per assigned width (index = width, 0..=32), before the values that round
    /// to 0 are dropped: what `compress` calls `widths`.
    pub assigned: [u64; 33],
    /// The PTQ cluster boundaries as importances (`K - 1`; empty without PTQ).
    pub thresholds: Vec<f32>,
}

/// The PTQ half of a setting: the clusters and one width per cluster (least important first).
#[derive(Debug, Clone, Copy)]
pub struct PtqPlan<'a> {
    pub clusters: &'a ClusterMethod,
    pub widths: &'a [u8],
}

impl Reaccounter {
    /// Indexes `params` of network `net` by `importance` (flat, one per parameter). `None`
    /// when the index cannot reproduce the accounting exactly: a positive NaN importance,
    /// an ITQ width that is not 0, 2..=16 or 32, or 2^32 parameters or more.
    pub fn new(net: &str, params: &[ParamTensor], importance: &[f32]) -> Option<Self> {
        let n = super::tensor::total_len(params);
        if importance.len() != n || n >= u32::MAX as usize || importance.iter().any(|g| g.is_nan() && g.is_sign_positive()) {
            return None;
        }
        let mut tensors = Vec::with_capacity(params.len());
        let mut offset = 0;
        for p in params {
            if p.weight.len() != p.len() || p.width.as_ref().is_some_and(|w| w.len() != p.len()) {
                return None;
            }
            tensors.push(SortedTensor::new(p, offset, &importance[offset..offset + p.len()])?);
            offset += p.len();
        }
        Some(Self {
            net: net.to_string(),
            tensors,
            n,
            kmeans: KMeansHistogram::new(importance),
        })
    }

    /// Parameters indexed.
    pub fn params(&self) -> usize {
        self.n
    }

    /// Accounts a setting: `ptq` clusters the importances (None: every cluster is float),
    /// `itq` applies the tensors' ITQ widths (combined: the minimum of both).
    pub fn account(&self, ptq: Option<PtqPlan>, itq: bool) -> Result<Accounting, QuantError> {
        let (ranks, widths, thresholds) = match ptq {
            None => (self.tensors.iter().map(|t| vec![0, t.len()]).collect(), vec![FLOAT_WIDTH], Vec::new()),
            Some(plan) => self.cluster_ranks(plan)?,
        };
        let mut assigned = [0u64; 33];
        let mut histogram = [0u64; 33];
        let mut reports = Vec::with_capacity(self.tensors.len());
        for (t, ranks) in self.tensors.iter().zip(&ranks) {
            let (report, count) = self.account_tensor(t, ranks, &widths, itq, &mut assigned);
            for (h, c) in histogram.iter_mut().zip(count) {
                *h += c;
            }
            reports.push(report);
        }
        Ok(Accounting { report: self.report(reports, &histogram), assigned, thresholds })
    }

    /// Per tensor the sorted-position bounds of the K clusters (K + 1 ranks), the widths,
    /// and the thresholds.
    #[allow(clippy::type_complexity)]
    fn cluster_ranks(&self, plan: PtqPlan) -> Result<(Vec<Vec<usize>>, Vec<u8>, Vec<f32>), QuantError> {
        let k = plan.clusters.k();
        if !(1..=256).contains(&k) {
            return Err(QuantError::ClusterCount(k));
        }
        if plan.widths.len() != k {
            return Err(QuantError::WidthCount { clusters: k, widths: plan.widths.len() });
        }
        if let Some(b) = plan.widths.iter().find(|&&b| !is_valid_width(b)) {
            return Err(QuantError::InvalidWidth(*b));
        }
        let (per_cut, thresholds): (Vec<Vec<usize>>, Vec<f32>) = match plan.clusters {
            ClusterMethod::Quantile(fractions) => {
                if fractions.iter().any(|f| f.is_nan()) {
                    return Err(QuantError::NanFraction);
                }
                let mut positions: Vec<usize> =
                    fractions.iter().map(|f| ((f * self.n as f64).floor().max(0.0) as usize).min(self.n)).collect();
                positions.sort_unstable();
                let cuts: Vec<u64> = positions.iter().map(|&m| self.cut_at(m)).collect();
                let thresholds = cuts.iter().map(|&c| Cut::from_raw(c).importance()).collect();
                (cuts.iter().map(|&c| self.tensors.iter().map(|t| t.rank_below_cut(c)).collect()).collect(), thresholds)
            }
            ClusterMethod::KMeans { k } => {
                let thresholds = self.kmeans.thresholds(*k);
                let mut sorted = thresholds.clone();
                sorted.sort_by(f32::total_cmp);
                let ranks = sorted
                    .iter()
                    .map(|&th| self.tensors.iter().map(|t| t.rank_where(|g| kmeans_value(g) < th)).collect())
                    .collect();
                (ranks, thresholds)
            }
        };
        let ranks = self
            .tensors
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut r = vec![0];
                r.extend(per_cut.iter().map(|cut| cut[i]));
                r.push(t.len());
                r
            })
            .collect();
        Ok((ranks, plan.widths.to_vec(), thresholds))
    }

    /// The `(importance key, flat index)` of the element at ascending position `m` over all
    /// tensors (`u64::MAX` when `m >= n`): first the smallest importance key with more than
    /// `m` elements at or below it (a binary search over the 32-bit keys), then the tie by
    /// flat index (tensors are in flat order, equal keys ascend by index inside each).
    fn cut_at(&self, m: usize) -> u64 {
        if m >= self.n {
            return u64::MAX;
        }
        let at_most = |key: u32| self.tensors.iter().map(|t| t.count_at_most(key)).sum::<usize>();
        let (mut lo, mut hi) = (0u32, u32::MAX); // at_most(hi) > m: no key is u32::MAX (no +NaN)
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if at_most(mid) > m { hi = mid } else { lo = mid + 1 }
        }
        let mut rest = m - self.tensors.iter().map(|t| t.key_range(lo).0).sum::<usize>();
        for t in &self.tensors {
            let (below, equal) = t.key_range(lo);
            if rest < equal {
                return (u64::from(lo) << 32) | t.flat_index_at(below + rest) as u64;
            }
            rest -= equal;
        }
        unreachable!("at_most(key) > m elements lie at or below the key")
    }

    /// One tensor's report and its per-width counts of stored values (index 0: not stored);
    /// adds its assigned widths to `assigned`.
    fn account_tensor(
        &self,
        t: &SortedTensor,
        ranks: &[usize],
        widths: &[u8],
        itq: bool,
        assigned: &mut [u64; 33],
    ) -> (TensorReport, [u64; 33]) {
        let slots = t.slots();
        let prefix: Vec<Vec<u32>> = ranks.iter().map(|&r| t.prefix_counts(r)).collect();
        // per final width: counts per slot and the largest magnitude code
        let mut groups: BTreeMap<u8, (Vec<u64>, u16)> = BTreeMap::new();
        for (c, &ptq_width) in widths.iter().enumerate() {
            let (lo, hi) = (ranks[c], ranks[c + 1]);
            if lo == hi {
                continue;
            }
            for (class, &itq_width) in t.class_widths.iter().enumerate() {
                let width = if itq { ptq_width.min(itq_width) } else { ptq_width };
                let range = class * slots..(class + 1) * slots;
                let diff = prefix[c + 1][range.clone()].iter().zip(&prefix[c][range]).map(|(a, b)| u64::from(a - b));
                let (counts, max) = groups.entry(width).or_insert_with(|| (vec![0; slots], 0));
                let mut size = 0;
                for (g, d) in counts.iter_mut().zip(diff) {
                    *g += d;
                    size += d;
                }
                if size == 0 {
                    continue;
                }
                assigned[width as usize] += size;
                if (2..=16).contains(&width) {
                    *max = (*max).max(t.range_max(class, lo, hi));
                }
            }
        }
        let mut count = [0u64; 33];
        for (&width, (counts, max)) in &groups {
            let stored = stored_count(t, width, counts, *max);
            count[width as usize] += stored;
            count[0] += counts.iter().sum::<u64>() - stored;
        }
        let (rows, cols) = (rows_of(&t.shape) as u64, cols_of(&t.shape) as u64);
        let bits = bits_from_counts(rows, cols, &count);
        let report = TensorReport {
            name: t.name.clone(),
            rows,
            cols,
            params: t.len() as u64,
            nnz: count[1..].iter().sum(),
            bits,
            total: bits.total(),
        };
        (report, count)
    }

    fn report(&self, tensors: Vec<TensorReport>, histogram: &[u64; 33]) -> Report {
        let header = header_len_of(
            &self.net,
            self.tensors.iter().zip(&tensors).map(|(t, r)| (t.name.as_str(), t.shape.as_slice(), r.nnz)),
        );
        report_of(&self.net, tensors, histogram, header)
    }
}

/// Stored values of a `width` group with `counts` per slot and largest finite code `max`.
fn stored_count(t: &SortedTensor, width: u8, counts: &[u64], max: u16) -> u64 {
    // slot 1, NaN: code 0 at a fixed width (not stored), its bits as a float (stored)
    let inf = counts[2];
    match width {
        0 => 0,
        FLOAT_WIDTH => counts.iter().sum::<u64>() - counts[0],
        _ => {
            let f = i32::from(frac_len_f64(representative(max), width));
            let finite: u64 = t
                .slot_exponents
                .iter()
                .zip(&counts[SPECIAL_SLOTS..])
                .filter(|&(&e, _)| e >= -f - 1)
                .map(|(_, &c)| c)
                .sum();
            finite + inf
        }
    }
}
