//! One tensor's values in ascending importance order, with what CSR accounting needs of
//! any contiguous range of that order: counts per (ITQ width, binary exponent) from
//! prefix-count checkpoints, and the largest magnitude from block maxima.
//!
//! Magnitude code of a value `x` (16 bits): [`ZERO_CODE`] for ±0, [`NAN_CODE`],
//! [`INF_CODE`]; for finite nonzero `x`, `((E + 150) << 4) | L` with `E = floor(log2 |x|)`
//! (-149..=127) and `L` the number of leading 1 bits of its fraction, at most 15. Codes
//! of finite values order like their magnitudes as far as `(E, L)` goes, and `(E, L)` is
//! all that [`super::fixed_point::frac_len`] needs of a group's largest magnitude for
//! widths up to 16 (see [`representative`]).

use super::cluster::{sort_key, sort_order};
use super::tensor::ParamTensor;

/// Code of ±0.0 (never stored).
pub const ZERO_CODE: u16 = 0;
/// Code of NaN (stored only as a float).
pub const NAN_CODE: u16 = 0xFFFE;
/// Code of ±infinity (stored at every nonzero width: fixed point saturates).
pub const INF_CODE: u16 = 0xFFFF;
/// Sorted positions between two prefix-count checkpoints.
const CHECKPOINT: usize = 1024;
/// Sorted positions per block of the block maxima.
const BLOCK: usize = 256;
/// Count slots before the exponents: zero, NaN, infinity.
pub const SPECIAL_SLOTS: usize = 3;

/// The magnitude code of `x` (module doc).
pub fn magnitude_code(x: f32) -> u16 {
    if x == 0.0 {
        ZERO_CODE
    } else if x.is_nan() {
        NAN_CODE
    } else if x.is_infinite() {
        INF_CODE
    } else {
        let bits = f64::from(x.abs()).to_bits(); // every f32 is a normal f64
        let e = (bits >> 52) as i32 - 1023;
        let ones = ((bits & ((1 << 52) - 1)) << 12).leading_ones().min(15);
        (((e + 150) as u16) << 4) | ones as u16
    }
}

/// The binary exponent `E` of a finite nonzero code.
#[inline]
pub fn code_exponent(code: u16) -> i32 {
    i32::from(code >> 4) - 150
}

/// A magnitude with the same exponent and leading fraction ones as every value of `code`:
/// `2^E * (2 - 2^-L)`. `frac_len` gives it the same fractional length as any of them at
/// widths 2..=16 (it moves down by one exactly when the first `b - 1` fraction bits are 1).
pub fn representative(code: u16) -> f64 {
    if code == ZERO_CODE || code >= NAN_CODE {
        return 0.0;
    }
    let ones = i32::from(code & 15);
    super::fixed_point::pow2(code_exponent(code)) * (2.0 - super::fixed_point::pow2(-ones))
}

/// One tensor sorted by importance (ascending by `f32::total_cmp`, ties by index).
#[derive(Debug, Clone)]
pub struct SortedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    /// Flat index of the tensor's first value.
    pub offset: usize,
    /// Local index of the value at each sorted position.
    order: Vec<u32>,
    /// [`sort_key`] of the importance at each sorted position (non-decreasing).
    keys: Vec<u32>,
    /// Magnitude code of the value at each sorted position.
    codes: Vec<u16>,
    /// ITQ class of the value at each sorted position (empty: one class).
    classes: Vec<u8>,
    /// ITQ width of each class, ascending.
    pub class_widths: Vec<u8>,
    /// Count slot of each finite exponent `E + 150` present, else `u16::MAX`.
    slot_of_exponent: Vec<u16>,
    /// Exponent of each slot after [`SPECIAL_SLOTS`], ascending.
    pub slot_exponents: Vec<i32>,
    /// Per checkpoint `j`: counts per `[class][slot]` over sorted positions `< j * CHECKPOINT`.
    checkpoints: Vec<u32>,
    /// Per block: the largest finite code per class (0 when none).
    block_max: Vec<u16>,
}

impl SortedTensor {
    /// Sorts `p` by `importance` (its slice of the flat vector). `None` when an ITQ width
    /// is not 0, 2..=16 or 32, or there are more than 255 distinct ones.
    pub fn new(p: &ParamTensor, offset: usize, importance: &[f32]) -> Option<Self> {
        let len = p.weight.len();
        let order = sort_order(importance);
        let keys: Vec<u32> = order.iter().map(|&i| sort_key(importance[i as usize])).collect();
        let codes: Vec<u16> = order.iter().map(|&i| magnitude_code(p.weight[i as usize])).collect();
        let mut class_widths: Vec<u8> = p.width.as_ref().map_or(vec![32], |w| {
            let mut seen = [false; 256];
            w.iter().for_each(|&b| seen[b as usize] = true);
            (0..=255u8).filter(|&b| seen[b as usize]).collect()
        });
        if class_widths.is_empty() {
            class_widths.push(32);
        }
        if class_widths.len() > 255 || !class_widths.iter().all(|&b| super::fixed_point::is_valid_width(b)) {
            return None;
        }
        let classes: Vec<u8> = match &p.width {
            Some(w) if class_widths.len() > 1 => {
                let mut class_of = [0u8; 256];
                for (c, &b) in class_widths.iter().enumerate() {
                    class_of[b as usize] = c as u8;
                }
                order.iter().map(|&i| class_of[w[i as usize] as usize]).collect()
            }
            _ => Vec::new(),
        };
        let mut present = [false; 278];
        for &c in codes.iter().filter(|&&c| c != ZERO_CODE && c < NAN_CODE) {
            present[(c >> 4) as usize] = true;
        }
        let mut slot_of_exponent = vec![u16::MAX; 278];
        let mut slot_exponents = Vec::new();
        for e in (0..278).filter(|&e| present[e]) {
            slot_of_exponent[e] = (SPECIAL_SLOTS + slot_exponents.len()) as u16;
            slot_exponents.push(e as i32 - 150);
        }
        let mut t = SortedTensor {
            name: p.name.clone(),
            shape: p.shape.clone(),
            offset,
            order,
            keys,
            codes,
            classes,
            class_widths,
            slot_of_exponent,
            slot_exponents,
            checkpoints: Vec::new(),
            block_max: Vec::new(),
        };
        t.build_checkpoints(len);
        t.build_block_max(len);
        Some(t)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Number of count slots per class.
    pub fn slots(&self) -> usize {
        SPECIAL_SLOTS + self.slot_exponents.len()
    }

    #[inline]
    fn class_at(&self, p: usize) -> usize {
        self.classes.get(p).map_or(0, |&c| c as usize)
    }

    #[inline]
    fn slot_of(&self, code: u16) -> usize {
        match code {
            ZERO_CODE => 0,
            NAN_CODE => 1,
            INF_CODE => 2,
            c => self.slot_of_exponent[(c >> 4) as usize] as usize,
        }
    }

    fn build_checkpoints(&mut self, len: usize) {
        let row = self.class_widths.len() * self.slots();
        let mut counts = vec![0u32; row];
        let mut checkpoints = Vec::with_capacity((len / CHECKPOINT + 1) * row);
        for p in 0..len {
            if p.is_multiple_of(CHECKPOINT) {
                checkpoints.extend_from_slice(&counts);
            }
            counts[self.class_at(p) * self.slots() + self.slot_of(self.codes[p])] += 1;
        }
        if len.is_multiple_of(CHECKPOINT) {
            checkpoints.extend_from_slice(&counts);
        }
        self.checkpoints = checkpoints;
    }

    fn build_block_max(&mut self, len: usize) {
        let classes = self.class_widths.len();
        let mut block_max = vec![0u16; len.div_ceil(BLOCK) * classes];
        for p in 0..len {
            let code = self.codes[p];
            let m = &mut block_max[(p / BLOCK) * classes + self.class_at(p)];
            if code < NAN_CODE && code > *m {
                *m = code;
            }
        }
        self.block_max = block_max;
    }

    /// Counts per `[class][slot]` over the sorted positions `0..rank`.
    pub fn prefix_counts(&self, rank: usize) -> Vec<u32> {
        let row = self.class_widths.len() * self.slots();
        let cp = rank / CHECKPOINT;
        let mut counts = self.checkpoints[cp * row..(cp + 1) * row].to_vec();
        for p in cp * CHECKPOINT..rank {
            counts[self.class_at(p) * self.slots() + self.slot_of(self.codes[p])] += 1;
        }
        counts
    }

    /// The largest finite nonzero magnitude code of class `class` among sorted positions
    /// `lo..hi` (0 when there is none).
    pub fn range_max(&self, class: usize, lo: usize, hi: usize) -> u16 {
        let classes = self.class_widths.len();
        let scan = |a: usize, b: usize| {
            (a..b)
                .filter(|&p| self.class_at(p) == class && self.codes[p] < NAN_CODE)
                .map(|p| self.codes[p])
                .max()
                .unwrap_or(0)
        };
        let (first_block, end_block) = (lo.div_ceil(BLOCK), hi / BLOCK);
        if first_block >= end_block {
            return scan(lo, hi);
        }
        let blocks = (first_block..end_block).map(|b| self.block_max[b * classes + class]).max().unwrap_or(0);
        blocks.max(scan(lo, first_block * BLOCK)).max(scan(end_block * BLOCK, hi))
    }

    /// `(positions with a key below `key`, positions with exactly `key`)`.
    pub fn key_range(&self, key: u32) -> (usize, usize) {
        let below = self.keys.partition_point(|&k| k < key);
        (below, self.keys[below..].partition_point(|&k| k == key))
    }

    /// Positions with a key at or below `key`.
    pub fn count_at_most(&self, key: u32) -> usize {
        self.keys.partition_point(|&k| k <= key)
    }

    /// The flat index of the value at sorted position `p`.
    pub fn flat_index_at(&self, p: usize) -> usize {
        self.offset + self.order[p] as usize
    }

    /// Sorted positions whose `(importance key, flat index)` is below `cut`.
    pub fn rank_below_cut(&self, cut: u64) -> usize {
        let (key, index) = ((cut >> 32) as u32, (cut & 0xFFFF_FFFF) as usize);
        let lo = self.keys.partition_point(|&k| k < key);
        let hi = lo + self.keys[lo..].partition_point(|&k| k == key);
        // equal keys are in ascending index order
        lo + self.order[lo..hi].partition_point(|&i| self.offset + (i as usize) < index)
    }

    /// Sorted positions whose importance `g` satisfies `pred(g)`, which must hold for a
    /// prefix of the ascending order.
    pub fn rank_where(&self, pred: impl Fn(f32) -> bool) -> usize {
        self.keys.partition_point(|&k| pred(super::cluster::from_key(k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::fixed_point::frac_len;

    #[test]
    fn codes_keep_exponent_and_leading_ones() {
        assert_eq!(magnitude_code(0.0), ZERO_CODE);
        assert_eq!(magnitude_code(-0.0), ZERO_CODE);
        assert_eq!(magnitude_code(f32::NAN), NAN_CODE);
        assert_eq!(magnitude_code(f32::NEG_INFINITY), INF_CODE);
        assert_eq!(code_exponent(magnitude_code(1.0)), 0);
        assert_eq!(magnitude_code(1.0) & 15, 0);
        assert_eq!(magnitude_code(-1.75) & 15, 2);
        assert_eq!(code_exponent(magnitude_code(f32::from_bits(1))), -149);
        assert_eq!(code_exponent(magnitude_code(f32::MAX)), 127);
        assert_eq!(magnitude_code(f32::MAX) & 15, 15);
    }

    #[test]
    fn the_representative_has_the_fractional_length_of_every_value_of_its_code() {
        let mut g = crate::rng::SplitMix64(5);
        // mantissas at and just below every 2 - 2^-L, then random bit patterns
        let edges = (0..24).flat_map(|l| {
            let m = 2.0f32 - (-(l as f32)).exp2();
            [m, f32::from_bits(m.to_bits() - 1)].map(|m| m * (-6.0 * l as f32).exp2())
        });
        let random = (0..20_000).map(|_| f32::from_bits((g.next_u64() as u32) & 0x7fff_ffff));
        for x in edges.chain(random) {
            if !x.is_finite() || x == 0.0 {
                continue;
            }
            let r = representative(magnitude_code(x));
            for b in 2..=16 {
                assert_eq!(frac_len(x, b), crate::quant::fixed_point::frac_len_f64(r, b), "{x:e} at {b}");
            }
        }
    }
}
