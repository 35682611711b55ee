//! The sizes of the `.agq` file (`docs/FORMAT.md`): pure arithmetic shared by the writer
//! and reader ([`super::codec`] and the other encodings) and by the accountings
//! ([`super::csr`], [`super::encoding`], [`super::reaccount`]), so the bits accounted are
//! the bits written by construction.
//!
//! Units: `*_BITS` constants and [`TensorBits`] count bits; [`header_len`], [`file_len`] and
//! [`MAX_HEADER`] count bytes. A tensor is its `rows x cols` view ([`super::tensor::rows_of`],
//! [`super::tensor::cols_of`]).

use super::model::QuantModel;
use super::report::TensorBits;

/// File magic, the first 4 bytes of the header.
pub const MAGIC: [u8; 4] = *b"AGQ1";
/// Largest byte header, in bytes.
pub const MAX_HEADER: usize = 4096;

/// Bits of each of a tensor record's `rows` and `cols` fields.
pub const DIM_BITS: u32 = 32;
/// Bits of a tensor record's header: `rows` and `cols`.
pub const TENSOR_HEADER_BITS: u64 = 2 * DIM_BITS as u64;
/// Bits of a meta entry's width (2..=16 as is, 32 written as 0).
pub const WIDTH_FIELD_BITS: u32 = 5;
/// Bits of a meta entry's fractional length (two's complement).
pub const FRAC_FIELD_BITS: u32 = 8;
/// Bits of the meta per stored width: its width and fractional length.
pub const META_BITS_PER_WIDTH: u64 = (WIDTH_FIELD_BITS + FRAC_FIELD_BITS) as u64;
/// Relative and entropy-coded tensors with `nnz > 0`: bits of the meta field holding `g - 1`.
pub const GAP_WIDTH_FIELD: u32 = 4;
/// Largest gap width `g` in bits (what [`GAP_WIDTH_FIELD`] holds).
pub const MAX_GAP_WIDTH: u32 = 1 << GAP_WIDTH_FIELD;

/// `ceil(log2(x))`, with 0 for `x <= 1`.
#[inline]
pub fn ceil_log2(x: u64) -> u32 {
    if x <= 1 { 0 } else { 64 - (x - 1).leading_zeros() }
}

/// Bits per field of one tensor with `cols` columns, `distinct_widths` stored widths (`W`)
/// and `nnz` stored values: `(column index, width tag, row pointer)`, i.e.
/// `(ceil(log2 cols), ceil(log2 W), ceil(log2(nnz + 1)))`.
pub fn field_bits(cols: u64, distinct_widths: u64, nnz: u64) -> (u32, u32, u32) {
    (ceil_log2(cols), ceil_log2(distinct_widths), ceil_log2(nnz + 1))
}

/// Values per width (index = width, 0..=32; widths above 32 are counted as 32).
pub fn width_counts(widths: &[u8]) -> [u64; 33] {
    // four tables: runs of one width (mostly 0) do not wait on each other's increments
    let mut tables = [[0u64; 256]; 4];
    let quads = widths.chunks_exact(4);
    for &w in quads.remainder() {
        tables[0][w as usize] += 1;
    }
    for q in quads {
        for (table, &w) in tables.iter_mut().zip(q) {
            table[w as usize] += 1;
        }
    }
    let mut count = [0u64; 33];
    for table in &tables {
        for (w, &c) in table.iter().enumerate() {
            count[w.min(32)] += c;
        }
    }
    count
}

/// Bits of the CSR record of a `rows x cols` tensor with `count[w]` values of width `w`
/// (`count[0]`: not stored), by part.
pub fn bits_from_counts(rows: u64, cols: u64, count: &[u64; 33]) -> TensorBits {
    let nnz: u64 = count[1..].iter().sum();
    let distinct = count[1..].iter().filter(|&&c| c > 0).count() as u64;
    let (ib, tb, pb) = field_bits(cols, distinct, nnz);
    TensorBits {
        values: (1..=32).map(|w| w as u64 * count[w]).sum(),
        indices: nnz * ib as u64,
        tags: nnz * tb as u64,
        row_ptr: (rows + 1) * pb as u64,
        meta: META_BITS_PER_WIDTH * distinct,
        header: TENSOR_HEADER_BITS,
        ..TensorBits::default()
    }
}

/// Bytes of `v` as a shortest LEB128 varint (7 bits per byte).
pub fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Bytes of the byte header of `model`, the same in every encoding.
pub fn header_len(model: &QuantModel) -> usize {
    header_len_of(&model.net, model.tensors.iter().map(|t| (t.name.as_str(), t.shape.as_slice(), t.nnz() as u64)))
}

/// [`header_len`] from the network name and each tensor's `(name, shape, nnz)`: magic,
/// version byte, name length and name, `u16` tensor count; per tensor its name length and
/// name, dimension count, shape varints, width count and `nnz` varint.
pub fn header_len_of<'a>(net: &str, tensors: impl IntoIterator<Item = (&'a str, &'a [usize], u64)>) -> usize {
    let mut n = MAGIC.len() + 1 + 1 + net.len() + 2;
    for (name, shape, nnz) in tensors {
        n += 1 + name.len() + 1 + shape.iter().map(|&d| varint_len(d as u64)).sum::<usize>();
        n += 1 + varint_len(nnz);
    }
    n
}

/// Bytes of an `.agq` file with a `header_bytes` header and a bitstream of `total_bits`
/// bits: the bitstream is padded with 0 to 7 zero bits to a whole byte.
pub fn file_len(header_bytes: usize, total_bits: u64) -> u64 {
    header_bytes as u64 + total_bits.div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_log2_of_one_is_zero() {
        let got: Vec<u32> = [0u64, 1, 2, 3, 4, 5, 8, 9, 784, 1 << 32].iter().map(|&x| ceil_log2(x)).collect();
        assert_eq!(got, vec![0, 0, 1, 2, 2, 3, 3, 4, 10, 32]);
    }

    #[test]
    fn varints_take_seven_bits_a_byte() {
        let got: Vec<usize> = [0u64, 127, 128, 16383, 16384, u64::MAX].iter().map(|&v| varint_len(v)).collect();
        assert_eq!(got, vec![1, 1, 2, 2, 3, 10]);
    }

    #[test]
    fn the_format_md_example_is_15_header_bytes_and_93_bits() {
        // network "x", one tensor "b" of shape [3] with nnz = 2, all of width 4
        assert_eq!(header_len_of("x", [("b", &[3usize][..], 2)]), 15);
        let mut count = [0u64; 33];
        (count[0], count[4]) = (1, 2);
        assert_eq!(bits_from_counts(1, 3, &count).total(), 93);
        assert_eq!(file_len(15, 93), 27);
    }
}
