//! A quantized network: per tensor the effective width and code of every value.

use super::fixed_point::{self, FLOAT_WIDTH, code_range, frac_len, pow2, quantize_scaled};
use super::tensor::{ParamTensor, cols_of, rows_of};

/// One quantized tensor. Canonical form (what [`quantize_model`] and the decoder produce):
/// `widths[i] == 0` exactly when value `i` is not stored (pruned, or rounded to 0, or a
/// ±0.0 float), and then `codes[i] == 0`; `fracs` lists every width that occurs among the
/// stored values once, ascending, with its fractional length (0 for width 32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantTensor {
    pub name: String,
    pub shape: Vec<usize>,
    /// Effective width per value, row-major (0, 2..=16 or 32).
    pub widths: Vec<u8>,
    /// `(width, frac)` per distinct nonzero width, ascending by width.
    pub fracs: Vec<(u8, i8)>,
    /// Two's complement code `k` per value (value = `k * 2^-frac`); the f32 bits for width 32.
    pub codes: Vec<i32>,
}

impl QuantTensor {
    pub fn rows(&self) -> usize {
        rows_of(&self.shape)
    }
    pub fn cols(&self) -> usize {
        cols_of(&self.shape)
    }
    pub fn len(&self) -> usize {
        self.widths.len()
    }
    pub fn is_empty(&self) -> bool {
        self.widths.is_empty()
    }
    /// Number of stored (nonzero) values.
    pub fn nnz(&self) -> usize {
        count_nonzero(&self.widths)
    }
    /// Fractional length of `width` (0 if the width is not stored).
    pub fn frac_of(&self, width: u8) -> i8 {
        self.fracs.iter().find(|f| f.0 == width).map_or(0, |f| f.1)
    }
    /// The values, row-major.
    pub fn dequantized(&self) -> Vec<f32> {
        let mut frac = [0i8; 33];
        for &(w, f) in &self.fracs {
            frac[w as usize & 31] = f; // 32 shares slot 0 with width 0: both ignore frac
        }
        self.widths
            .iter()
            .zip(&self.codes)
            .map(|(&w, &k)| fixed_point::dequantize(k, w, frac[w as usize & 31]))
            .collect()
    }
}

/// Number of nonzero bytes of `bytes`, eight at a time (a byte is nonzero when adding
/// 0x7f to its low seven bits, or its own high bit, sets the high bit).
pub fn count_nonzero(bytes: &[u8]) -> usize {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder().iter().filter(|&&b| b != 0).count();
    words.fold(tail, |n, w| {
        let v = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        n + (((v & LOW7) + LOW7 | v) & !LOW7).count_ones() as usize
    })
}

/// A quantized network: its tensors in flat order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantModel {
    /// Architecture name, e.g. `"lenet-300-100"` (at most 255 bytes to be encodable).
    pub net: String,
    pub tensors: Vec<QuantTensor>,
}

impl QuantModel {
    /// Values of every tensor, row-major.
    pub fn dequantized(&self) -> Vec<Vec<f32>> {
        self.tensors.iter().map(QuantTensor::dequantized).collect()
    }
    /// Total number of parameters.
    pub fn params(&self) -> usize {
        self.tensors.iter().map(QuantTensor::len).sum()
    }
}

/// Quantize every tensor: per tensor and per distinct width, `frac` from the largest finite
/// `|w|` among that tensor's values of that width; then the codes. Values whose code is 0
/// (and ±0.0 floats) become width 0. `widths_flat` has one width per flat parameter.
///
/// # Panics
/// If `widths_flat.len()` differs from the total parameter count, a tensor's `weight` length
/// differs from its shape's product, or a width is not 0, 2..=16 or 32.
pub fn quantize_model(net: &str, params: &[ParamTensor], widths_flat: &[u8]) -> QuantModel {
    assert_eq!(
        widths_flat.len(),
        super::tensor::total_len(params),
        "one width per parameter"
    );
    let mut start = 0;
    let tensors = params
        .iter()
        .map(|p| {
            let widths = &widths_flat[start..start + p.weight.len()];
            start += p.weight.len();
            quantize_tensor_by(p, |i| widths[i], None)
        })
        .collect();
    QuantModel {
        net: net.to_string(),
        tensors,
    }
}

/// Quantizes tensor `p` (as [`quantize_model`] does) where value `i` has the width
/// `width_of(i)`, and appends those widths to `assigned` when given. The widths are found
/// in the same pass that finds each width's largest `|w|`, so a width computed from other
/// arrays (PTQ clusters, ITQ widths) needs no flat array of its own.
///
/// # Panics
/// If `p.weight.len()` differs from its shape's product, or a width is not 0, 2..=16 or 32.
#[inline(never)] // one call per tensor; named in profiles
pub fn quantize_tensor_by(p: &ParamTensor, width_of: impl Fn(usize) -> u8, assigned: Option<&mut Vec<u8>>) -> QuantTensor {
    assert_eq!(p.weight.len(), p.len(), "weight length of {}", p.name);
    // the widths, and the largest finite |w| per width byte (-1 where the width does not
    // occur; NaN and infinities count as 0); 4 interleaved tables break the store->load chain
    let mut maxes = [[-1f32; 256]; 4];
    // (a plain loop: as an iterator adaptor its body would live in a function of its own,
    // which reads what `width_of` captured from memory again after every store)
    let mut out_w = vec![0u8; p.weight.len()];
    for (i, (&x, o)) in p.weight.iter().zip(&mut out_w).enumerate() {
        let w = width_of(i);
        let a = x.abs();
        let a = if a < f32::INFINITY { a } else { 0.0 };
        let m = &mut maxes[i & 3][w as usize];
        *m = if a > *m { a } else { *m };
        *o = w;
    }
    let max_abs: Vec<f32> = (0..256).map(|w| maxes.iter().fold(-1f32, |m, t| m.max(t[w]))).collect();
    if let Some(w) = (0..=255u8).find(|&w| max_abs[w as usize] >= 0.0 && !fixed_point::is_valid_width(w)) {
        panic!("invalid width {w}");
    }
    if let Some(assigned) = assigned {
        assigned.extend_from_slice(&out_w);
    }
    // per width: (scale 2^f, lo, hi); widths 0 and 32 have scale 0 and range [0, 0]
    let mut tab = [(0f32, 0f32, 0f32); 64];
    let mut frac = [0i8; 33];
    for w in 2..=16u8 {
        frac[w as usize] = frac_len(max_abs[w as usize].max(0.0), w); // -1: the width is absent
        let (lo, hi) = code_range(w);
        tab[w as usize] = (pow2(frac[w as usize] as i32) as f32, lo as f32, hi as f32);
    }
    // one pass, without a branch per value: the code of every value, its effective width
    // (0 where the code is 0) and the set of effective widths that occur (a store per value
    // into `seen`, where a running bit set would be a load and a store through memory). The
    // codes are collected, not written into a zeroed array: nothing to clear first.
    let mut seen = [false; 64];
    let codes: Vec<i32> = p
        .weight
        .iter()
        .zip(&mut out_w)
        .map(|(&x, o)| {
            let w = *o;
            let (scale, lo, hi) = tab[w as usize & 63];
            let fixed = quantize_scaled(x, scale, lo, hi);
            let float = if x == 0.0 { 0 } else { x.to_bits() as i32 };
            let k = if w == FLOAT_WIDTH { float } else { fixed };
            *o = w & u8::from(k != 0).wrapping_neg();
            seen[*o as usize & 63] = true;
            k
        })
        .collect();
    let fracs = (1..=32u8)
        .filter(|&w| seen[w as usize])
        .map(|w| (w, frac[w as usize]))
        .collect();
    QuantTensor {
        name: p.name.clone(),
        shape: p.shape.clone(),
        widths: out_w,
        fracs,
        codes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(w: Vec<f32>) -> ParamTensor {
        ParamTensor::new("t", vec![2, w.len() / 2], w)
    }

    #[test]
    fn frac_is_chosen_per_tensor_and_width_group() {
        let p = tensor(vec![0.9, 3.0, 0.5, -0.2]);
        let m = quantize_model("n", &[p], &[4, 8, 4, 8]);
        // width 4 group max 0.9 -> f 3; width 8 group max 3.0 -> f 5 (3*32 = 96 <= 127)
        assert_eq!(m.tensors[0].fracs, vec![(4, 3), (8, 5)]);
        assert_eq!(m.tensors[0].codes, vec![7, 96, 4, -6]);
    }

    #[test]
    fn a_value_that_rounds_to_zero_is_not_stored() {
        let p = tensor(vec![1.0, 0.01, -0.0, 0.0]);
        let m = quantize_model("n", &[p], &[4, 4, 32, 32]);
        let t = &m.tensors[0];
        assert_eq!(
            (t.widths.clone(), t.codes.clone(), t.nnz()),
            (vec![4, 0, 0, 0], vec![4, 0, 0, 0], 1)
        );
        assert_eq!(t.fracs, vec![(4, 2)]);
    }

    #[test]
    fn float_width_keeps_the_value_bit_for_bit() {
        let p = tensor(vec![0.123_456_79, -7e-20]);
        let m = quantize_model("n", std::slice::from_ref(&p), &[32, 32]);
        assert_eq!(m.dequantized()[0], p.weight);
        assert_eq!(m.tensors[0].fracs, vec![(32, 0)]);
    }

    #[test]
    fn dequantized_values_are_codes_times_the_step() {
        let p = tensor(vec![0.9, 3.0, 0.5, -0.2]);
        let m = quantize_model("n", &[p], &[4, 8, 4, 0]);
        assert_eq!(m.dequantized()[0], vec![0.875, 3.0, 0.5, 0.0]);
    }

    #[test]
    fn count_nonzero_counts_every_nonzero_byte() {
        let bytes: Vec<u8> = (0..1003u32).map(|i| [0u8, 1, 0x80, 0x7f, 0, 0xff, 0, 0][(i * 7 % 8) as usize]).collect();
        assert_eq!(count_nonzero(&bytes), bytes.iter().filter(|&&b| b != 0).count());
        assert_eq!(count_nonzero(&[]), 0);
        assert_eq!(count_nonzero(&[0, 0, 3]), 1);
    }

    #[test]
    fn widths_are_split_by_tensor_in_flat_order() {
        let a = tensor(vec![1.0, 2.0]);
        let b = ParamTensor::new("b", vec![3], vec![4.0, 5.0, 6.0]);
        let m = quantize_model("n", &[a, b], &[8, 0, 0, 16, 16]);
        assert_eq!(m.tensors[0].widths, vec![8, 0]);
        assert_eq!(m.tensors[1].widths, vec![0, 16, 16]);
        assert_eq!(m.params(), 5);
    }

    #[test]
    #[should_panic(expected = "invalid width")]
    fn width_one_is_rejected() {
        quantize_model("n", &[tensor(vec![1.0, 2.0])], &[1, 8]);
    }

    #[test]
    #[should_panic(expected = "invalid width 17")]
    fn an_invalid_width_is_rejected_on_a_nan_or_infinite_value_too() {
        quantize_model("n", &[tensor(vec![f32::NAN, f32::INFINITY])], &[17, 17]);
    }

    #[test]
    fn the_widths_given_by_a_function_are_appended_to_assigned() {
        let p = tensor(vec![0.9, 3.0, 0.5, -0.2]);
        let mut assigned = vec![7];
        let t = quantize_tensor_by(&p, |i| [4, 8, 4, 0][i], Some(&mut assigned));
        assert_eq!(assigned, vec![7, 4, 8, 4, 0]);
        assert_eq!(t, quantize_model("n", &[p], &[4, 8, 4, 0]).tensors.remove(0));
    }
}
