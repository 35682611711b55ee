//! Relative indices (Deep Compression's scheme): instead of its absolute column, each stored
//! entry carries its gap to the previous entry of its row in a field of `g` bits, and longer
//! gaps are bridged by filler entries. Layout: `docs/FORMAT.md`, "Relative indices".
//!
//! Within a row a cursor starts at column 0. An entry's gap field `x < M = 2^g - 1` places
//! it at column `cursor + x` and moves the cursor just past it; the field value `M` is a
//! filler: it moves the cursor `M` columns on and carries no tag and no value. So an entry
//! that skips `d` zero columns costs `d / M` fillers and the field `d % M`. `g` (1..=16) is
//! chosen per tensor to minimise `(nnz + fillers) * g`, ties to the smaller.

use super::bits::{BitReader, BitWriter, EndOfInput};
use super::codec::{CodecError, Prefix, read_entry, read_prefix, write_prefix, zeroed};
use super::layout::{GAP_WIDTH_FIELD, MAX_GAP_WIDTH, bits_from_counts, field_bits, width_counts};
use super::model::QuantTensor;
use super::report::TensorBits;

/// One stored entry in file order (rows top to bottom, columns ascending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Zero columns between the cursor (row start, or just past the previous entry of the
    /// row) and this entry.
    pub skip: u64,
    pub width: u8,
    pub code: i32,
}

/// The stored entries of `t` in file order.
pub fn entries(t: &QuantTensor) -> impl Iterator<Item = Entry> + '_ {
    let cols = t.cols().max(1);
    t.widths.chunks(cols).zip(t.codes.chunks(cols)).flat_map(|(row_w, row_k)| {
        let mut cursor = 0u64;
        row_w.iter().zip(row_k).enumerate().filter(|(_, (w, _))| **w != 0).map(move |(c, (&width, &code))| {
            let skip = c as u64 - cursor;
            cursor = c as u64 + 1;
            Entry { skip, width, code }
        })
    })
}

/// The skips of `t`'s entries as `(skip, count)`, ascending by skip.
pub fn skip_histogram(t: &QuantTensor) -> Vec<(u64, u64)> {
    let mut skips: Vec<u64> = entries(t).map(|e| e.skip).collect();
    skips.sort_unstable();
    let mut hist: Vec<(u64, u64)> = Vec::new();
    for d in skips {
        match hist.last_mut() {
            Some((s, n)) if *s == d => *n += 1,
            _ => hist.push((d, 1)),
        }
    }
    hist
}

/// `M = 2^g - 1`: the filler's field value and the columns it moves the cursor.
#[inline]
pub fn filler_step(g: u32) -> u64 {
    (1u64 << g) - 1
}

/// Filler entries needed at gap width `g` (1..=16) for a skip histogram.
pub fn fillers(hist: &[(u64, u64)], g: u32) -> u64 {
    let m = filler_step(g);
    hist.iter().map(|&(d, n)| d / m * n).sum()
}

/// The gap width minimising `(nnz + fillers) * g` over 1..=16, ties to the smaller.
pub fn best_gap_width(hist: &[(u64, u64)]) -> u32 {
    let nnz: u64 = hist.iter().map(|h| h.1).sum();
    (1..=MAX_GAP_WIDTH).min_by_key(|&g| ((nnz + fillers(hist, g)) as u128 * g as u128, g)).unwrap_or(1)
}

/// Writes tensor `t` (checked) with relative indices; returns its bits by part.
pub(crate) fn write_tensor(w: &mut BitWriter, t: &QuantTensor) -> TensorBits {
    let tag = write_prefix(w, t);
    let mut bits = bits_from_counts(t.rows() as u64, t.cols() as u64, &width_counts(&t.widths));
    let (_, tb, _) = field_bits(t.cols() as u64, t.fracs.len() as u64, 0);
    let hist = skip_histogram(t);
    let nnz: u64 = hist.iter().map(|h| h.1).sum();
    if nnz == 0 {
        return bits;
    }
    let g = best_gap_width(&hist);
    let m = filler_step(g);
    bits.meta += GAP_WIDTH_FIELD as u64;
    bits.indices = nnz * g as u64;
    bits.fillers = fillers(&hist, g) * g as u64;
    w.write(g as u64 - 1, GAP_WIDTH_FIELD);
    for e in entries(t) {
        for _ in 0..e.skip / m {
            w.write(m, g);
        }
        w.write(e.skip % m, g);
        w.write(tag[e.width as usize] as u64, tb);
        w.write(e.code as u32 as u64, e.width as u32);
    }
    bits
}

/// Reads tensor `i` written by [`write_tensor`].
pub(crate) fn read_tensor(
    r: &mut BitReader,
    i: usize,
    name: String,
    shape: Vec<usize>,
    nw: usize,
    nnz: u64,
) -> Result<QuantTensor, CodecError> {
    let trunc = |_: EndOfInput| CodecError::Truncated { tensor: i };
    let Prefix { rows, cols, fracs, ptr } = read_prefix(r, i, &shape, nw, nnz)?;
    let (_, tb, _) = field_bits(cols as u64, nw as u64, nnz);
    let (mut widths, mut codes) = zeroed(i, rows * cols)?;
    let mut used = [false; 16];
    if nnz > 0 {
        let g = r.read(GAP_WIDTH_FIELD).map_err(trunc)? + 1;
        let m = filler_step(g);
        let bad_column = CodecError::BadColumn { tensor: i };
        for row in 0..rows {
            let mut cursor = 0u64;
            for _ in ptr[row]..ptr[row + 1] {
                let col = loop {
                    let x = r.read(g).map_err(trunc)? as u64;
                    if x < m {
                        break cursor + x;
                    }
                    // a filler must be followed by an entry of the same row
                    cursor += m;
                    if cursor >= cols as u64 {
                        return Err(bad_column);
                    }
                };
                if col >= cols as u64 {
                    return Err(bad_column);
                }
                cursor = col + 1;
                let (width, k) = read_entry(r, i, &fracs, tb, &mut used)?;
                let at = row * cols + col as usize;
                widths[at] = width;
                codes[at] = k;
            }
        }
    }
    if used[..nw].iter().any(|&u| !u) {
        return Err(CodecError::UnusedWidth { tensor: i });
    }
    Ok(QuantTensor { name, shape, widths, fracs, codes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::codec::decode;
    use crate::quant::encoding::{Encoding, account_with, encode_with};
    use crate::quant::model::quantize_model;
    use crate::quant::tensor::ParamTensor;

    /// One row of 40 columns with entries at 0, 1, 9 and 39 (skips 0, 0, 7, 29).
    fn row() -> QuantTensor {
        let mut w = vec![0.0f32; 40];
        for (c, v) in [(0, 1.0), (1, -1.0), (9, 0.5), (39, 0.25)] {
            w[c] = v;
        }
        quantize_model("n", &[ParamTensor::new("t", vec![1, 40], w)], &[4; 40]).tensors.remove(0)
    }

    #[test]
    fn skips_count_the_zero_columns_since_the_cursor() {
        let skips: Vec<u64> = entries(&row()).map(|e| e.skip).collect();
        assert_eq!(skips, vec![0, 0, 7, 29]);
        assert_eq!(skip_histogram(&row()), vec![(0, 2), (7, 1), (29, 1)]);
    }

    #[test]
    fn fillers_bridge_gaps_longer_than_the_field() {
        let h = skip_histogram(&row());
        // g = 2: M = 3, 7 / 3 + 29 / 3 = 2 + 9 fillers; g = 3: M = 7, 1 + 4; g = 5: none
        assert_eq!((fillers(&h, 2), fillers(&h, 3), fillers(&h, 5)), (11, 5, 0));
        // (4 + fillers) * g: g=1 40, g=2 30, g=3 27, g=4 (M=15: 1 filler) 20, g=5 20: ties to 4
        assert_eq!(fillers(&h, 4), 1);
        assert_eq!(best_gap_width(&h), 4);
    }

    #[test]
    fn the_accounting_is_the_formula_and_the_bits_written() {
        let m = crate::quant::model::QuantModel { net: "n".into(), tensors: vec![row()] };
        let r = account_with(&m, Encoding::Relative).unwrap();
        let b = r.tensors[0].bits;
        // 4 entries of 4-bit gaps + 1 filler, no tags, 4 * 4 value bits, (1 + 1) * 3 row ptr bits
        assert_eq!((b.indices, b.fillers, b.tags, b.values, b.row_ptr, b.meta, b.header), (16, 4, 0, 16, 6, 17, 64));
        let bytes = encode_with(&m, Encoding::Relative).unwrap();
        assert_eq!(bytes.len() as u64, r.bytes);
        assert_eq!(decode(&bytes).unwrap(), m);
    }

    #[test]
    fn a_dense_row_needs_one_bit_per_entry() {
        let m = quantize_model("n", &[ParamTensor::new("t", vec![2, 8], vec![1.0; 16])], &[8; 16]);
        let h = skip_histogram(&m.tensors[0]);
        assert_eq!((best_gap_width(&h), fillers(&h, 1)), (1, 0));
    }

    #[test]
    fn a_damaged_gap_field_is_an_error() {
        let m = crate::quant::model::QuantModel { net: "n".into(), tensors: vec![row()] };
        let mut bytes = encode_with(&m, Encoding::Relative).unwrap();
        let h = crate::quant::layout::header_len(&m);
        // bitstream: 64 header + 13 meta + 6 row ptr + 4 g, then the first gap field (4 bits)
        let at = 64 + 13 + 6 + 4;
        for b in at..at + 4 {
            bytes[h + b / 8] |= 0x80 >> (b % 8);
        }
        assert!(decode(&bytes).is_err());
    }
}
