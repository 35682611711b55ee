//! The `.agq` file: a small byte header naming the network and its tensors, then one
//! bitstream holding every tensor in exactly the CSR layout that [`super::csr`] accounts
//! ([`encode`]), or in one of the other encodings of [`super::encoding`]
//! ([`super::encoding::encode_with`]). Field widths and sizes: [`super::layout`]; byte by
//! byte description: `docs/FORMAT.md`.
//!
//! [`decode`] reads every encoding (named by the version byte) and accepts exactly the
//! canonical files the encoders write (so `encode_with(decode(b)?, e) == b`), and returns a
//! typed [`CodecError`] for anything else.

use super::bits::{BitReader, BitWriter, EndOfInput};
use super::encoding::{Encoding, encode_with};
use super::fixed_point::{FLOAT_WIDTH, code_range};
use super::layout::{DIM_BITS, FRAC_FIELD_BITS, MAGIC, MAX_HEADER, WIDTH_FIELD_BITS, bits_from_counts, field_bits, header_len, width_counts};
use super::model::{QuantModel, QuantTensor, count_nonzero};
use super::tensor::{cols_of, rows_of};

/// Format version written and read (the low 4 bits of the version byte; the high 4 bits
/// name the encoding, 0 = CSR: see [`Encoding::version_byte`]).
pub const VERSION: u8 = 1;
/// Largest parameter count [`decode`] accepts (memory guard; see [`decode_with_limit`]).
pub const DEFAULT_MAX_PARAMS: u64 = 1 << 27;

/// Why a model could not be written or a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The model breaks the canonical form of [`QuantTensor`] (encode only).
    InvalidModel {
        tensor: usize,
        reason: &'static str,
    },
    /// The file header would exceed [`MAX_HEADER`] bytes.
    HeaderTooLarge,
    BadMagic,
    UnsupportedVersion(u8),
    /// The file ends inside the header.
    TruncatedHeader,
    BadUtf8,
    /// A non-canonical or overlong LEB128 number in the header.
    BadVarint,
    /// Shape product overflows, rows/cols exceed 32 bits, or the total exceeds the limit.
    TooLarge {
        tensor: usize,
    },
    /// The header's count of widths exceeds 16 or its nnz exceeds the tensor size.
    BadCounts {
        tensor: usize,
    },
    /// The bitstream ends early.
    Truncated {
        tensor: usize,
    },
    /// The stream's rows/cols differ from the header's shape.
    ShapeMismatch {
        tensor: usize,
    },
    /// A width field that is not 2..=16 or 32, widths not ascending, or a float width
    /// with a nonzero fractional length.
    BadMeta {
        tensor: usize,
    },
    /// Row pointers that do not start at 0, decrease, or do not end at nnz.
    BadRowPointers {
        tensor: usize,
    },
    /// A column index out of range or not increasing within its row.
    BadColumn {
        tensor: usize,
    },
    BadTag {
        tensor: usize,
    },
    /// A stored value that is zero.
    ZeroValue {
        tensor: usize,
    },
    /// A listed width that no entry uses.
    UnusedWidth {
        tensor: usize,
    },
    /// Bytes after the last tensor beyond the padding, or padding bits that are not 0.
    TrailingData,
    /// An entropy-coded stream whose code table or coded words are invalid.
    BadCode {
        tensor: usize,
    },
    /// A file that decodes but is not the one the encoder writes for its model (e.g. a
    /// gap width or code table the encoder would not choose).
    NonCanonical,
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use CodecError::*;
        match self {
            InvalidModel { tensor, reason } => {
                write!(f, "tensor {tensor}: invalid model: {reason}")
            }
            HeaderTooLarge => write!(f, "file header larger than {MAX_HEADER} bytes"),
            BadMagic => write!(f, "not an .agq file (bad magic)"),
            UnsupportedVersion(v) => write!(f, "unsupported .agq version {v}"),
            TruncatedHeader => write!(f, "file ends inside the header"),
            BadUtf8 => write!(f, "a name is not UTF-8"),
            BadVarint => write!(f, "bad number in the header"),
            TooLarge { tensor } => write!(f, "tensor {tensor}: too large"),
            BadCounts { tensor } => write!(f, "tensor {tensor}: bad width or entry count"),
            Truncated { tensor } => write!(f, "tensor {tensor}: bitstream ends early"),
            ShapeMismatch { tensor } => {
                write!(f, "tensor {tensor}: rows/cols differ from the shape")
            }
            BadMeta { tensor } => write!(f, "tensor {tensor}: bad width table"),
            BadRowPointers { tensor } => write!(f, "tensor {tensor}: bad row pointers"),
            BadColumn { tensor } => write!(f, "tensor {tensor}: bad column index"),
            BadTag { tensor } => write!(f, "tensor {tensor}: bad width tag"),
            ZeroValue { tensor } => write!(f, "tensor {tensor}: stored value is zero"),
            UnusedWidth { tensor } => write!(f, "tensor {tensor}: listed width is unused"),
            TrailingData => write!(f, "data after the last tensor"),
            BadCode { tensor } => write!(f, "tensor {tensor}: bad code table or coded stream"),
            NonCanonical => write!(f, "not the canonical file of its model"),
        }
    }
}

impl std::error::Error for CodecError {}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Check the canonical form of a tensor; returns its values per width.
pub(crate) fn check_tensor(i: usize, t: &QuantTensor) -> Result<[u64; 33], CodecError> {
    check_shape(i, t)?;
    let codes_ok = check_codes(t);
    let count = width_counts(&t.widths);
    if !codes_ok {
        return Err(CodecError::InvalidModel { tensor: i, reason: "invalid width, code out of range, zero where stored or nonzero where pruned" });
    }
    check_fracs(i, t, &count)?;
    Ok(count)
}

/// [`check_tensor`] of a tensor that [`super::model::quantize_model`] or
/// [`super::model::quantize_tensor_by`] made, which are canonical by construction: its
/// shape and width list are checked, not its values (debug builds check those too).
pub(crate) fn check_made_tensor(i: usize, t: &QuantTensor) -> Result<[u64; 33], CodecError> {
    check_shape(i, t)?;
    debug_assert!(check_codes(t), "a quantizer made a tensor that is not canonical");
    let count = width_counts(&t.widths);
    check_fracs(i, t, &count)?;
    Ok(count)
}

/// The lengths and sizes the file's fields can hold.
fn check_shape(i: usize, t: &QuantTensor) -> Result<(), CodecError> {
    let bad = |reason| Err(CodecError::InvalidModel { tensor: i, reason });
    let n: Option<usize> = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if n != Some(t.widths.len()) || t.codes.len() != t.widths.len() {
        return bad("widths/codes length differs from the shape");
    }
    if t.name.len() > 255 || t.shape.len() > 255 {
        return bad("name longer than 255 bytes or more than 255 dimensions");
    }
    if t.rows() > u32::MAX as usize
        || t.cols() > u32::MAX as usize
        || t.widths.len() >= u32::MAX as usize
    {
        return bad("rows, cols or size of 2^32 or more");
    }
    Ok(())
}

/// Whether every width is valid, every code in its width's range, and the codes are 0
/// exactly where the width is 0.
fn check_codes(t: &QuantTensor) -> bool {
    // per width byte: the code range as `lo` and `span` (a code is in range when `k - lo`,
    // wrapping, is at most `span` as u32), invalid widths, and the bits that make a code nonzero
    let (mut lo, mut span, mut invalid, mut mask) = ([0i32; 256], [0u32; 256], [true; 256], [-1i32; 256]);
    invalid[0] = false;
    for w in 2..=16u8 {
        let (l, h) = code_range(w);
        (lo[w as usize], span[w as usize], invalid[w as usize]) = (l, h.abs_diff(l), false);
    }
    (lo[32], span[32], invalid[32], mask[32]) = (i32::MIN, u32::MAX, false, 0x7fff_ffff);
    let mut ok = true;
    for (&w, &k) in t.widths.iter().zip(&t.codes) {
        let wi = w as usize;
        let in_range = k.wrapping_sub(lo[wi]) as u32 <= span[wi];
        let stored_iff_nonzero = (w == 0) == (k & mask[wi] == 0);
        ok &= in_range & stored_iff_nonzero & !invalid[wi];
    }
    ok
}

/// Whether `fracs` lists exactly the widths that `count` (stored values per width) has.
fn check_fracs(i: usize, t: &QuantTensor, count: &[u64; 33]) -> Result<(), CodecError> {
    let bad = |reason| Err(CodecError::InvalidModel { tensor: i, reason });
    let want: Vec<u8> = (1..=32u8).filter(|&w| count[w as usize] > 0).collect();
    if t.fracs.iter().map(|f| f.0).ne(want.iter().copied()) {
        return bad("fracs do not list exactly the stored widths, ascending");
    }
    if t.fracs.iter().any(|&(w, f)| w == FLOAT_WIDTH && f != 0) {
        return bad("width 32 with a nonzero fractional length");
    }
    Ok(())
}

/// Write `model` as an `.agq` file.
pub fn encode(model: &QuantModel) -> Result<Vec<u8>, CodecError> {
    encode_counted(model).map(|(bytes, _)| bytes)
}

/// [`encode`], and the bits of the bitstream written before the padding.
pub(crate) fn encode_counted(model: &QuantModel) -> Result<(Vec<u8>, u64), CodecError> {
    let mut bits = 0u64;
    for (i, t) in model.tensors.iter().enumerate() {
        bits += bits_from_counts(t.rows() as u64, t.cols() as u64, &check_tensor(i, t)?).total();
    }
    let mut w = BitWriter::with_buffer(write_head(model, VERSION)?);
    w.reserve_bits(bits);
    for t in &model.tensors {
        write_tensor(&mut w, t);
    }
    debug_assert_eq!(w.bits_written(), bits);
    let written = w.bits_written();
    Ok((w.finish(), written))
}

/// The file header of `model` with `version` as its version byte (tensors already checked).
pub(crate) fn write_head(model: &QuantModel, version: u8) -> Result<Vec<u8>, CodecError> {
    if model.net.len() > 255 || model.tensors.len() > u16::MAX as usize {
        return Err(CodecError::InvalidModel {
            tensor: 0,
            reason: "net name over 255 bytes or too many tensors",
        });
    }
    let hlen = header_len(model);
    if hlen > MAX_HEADER {
        return Err(CodecError::HeaderTooLarge);
    }
    let mut head = Vec::with_capacity(hlen);
    head.extend_from_slice(&MAGIC);
    head.push(version);
    head.push(model.net.len() as u8);
    head.extend_from_slice(model.net.as_bytes());
    head.extend_from_slice(&(model.tensors.len() as u16).to_le_bytes());
    for t in &model.tensors {
        head.push(t.name.len() as u8);
        head.extend_from_slice(t.name.as_bytes());
        head.push(t.shape.len() as u8);
        for &d in &t.shape {
            put_varint(&mut head, d as u64);
        }
        head.push(t.fracs.len() as u8);
        put_varint(&mut head, t.nnz() as u64);
    }
    debug_assert_eq!(head.len(), hlen);
    Ok(head)
}

/// Writes the parts every encoding shares: header (rows, cols), meta, row pointers. Returns
/// each width's tag (its position in the meta list), indexed by width.
pub(crate) fn write_prefix(w: &mut BitWriter, t: &QuantTensor) -> [u8; 33] {
    let (rows, cols) = (t.rows(), t.cols());
    let (_, _, pb) = field_bits(cols as u64, t.fracs.len() as u64, t.nnz() as u64);
    w.write(rows as u64, DIM_BITS);
    w.write(cols as u64, DIM_BITS);
    let mut tag = [0u8; 33];
    for (j, &(width, frac)) in t.fracs.iter().enumerate() {
        tag[width as usize] = j as u8;
        w.write(width as u64 & 31, WIDTH_FIELD_BITS);
        w.write(frac as u8 as u64, FRAC_FIELD_BITS);
    }
    if pb > 0 {
        let mut p = 0u64;
        w.write(0, pb);
        for row in t.widths.chunks(cols) {
            p += count_nonzero(row) as u64;
            w.write(p, pb);
        }
    }
    tag
}

/// Writes the CSR record of tensor `t` (already checked).
pub(crate) fn write_tensor(w: &mut BitWriter, t: &QuantTensor) {
    let tag = write_prefix(w, t);
    let (cols, nnz) = (t.cols(), t.nnz() as u64);
    let (ib, tb, _) = field_bits(cols as u64, t.fracs.len() as u64, nnz);
    if nnz == 0 {
        return;
    }
    let max_width = t.fracs.last().map_or(0, |f| f.0 as u32);
    if ib + tb + max_width <= 32 {
        // one field per stored entry: pruned entries are skipped by a branch, which costs
        // less than writing them as empty fields once a few in ten are pruned
        let mut len = [0u32; 33];
        let mut pre = [0u64; 33]; // tag << width
        for &(width, _) in &t.fracs {
            len[width as usize] = ib + tb + width as u32;
            pre[width as usize] = (tag[width as usize] as u64) << width;
        }
        for (row_w, row_k) in t.widths.chunks(cols).zip(t.codes.chunks(cols)) {
            w.write_all(
                row_w
                    .iter()
                    .zip(row_k)
                    .enumerate()
                    .filter(|(_, (width, _))| **width != 0)
                    .map(|(c, (&width, &k))| {
                        let wi = width as usize;
                        let value = k as u32 as u64 & ((1u64 << width) - 1);
                        (
                            ((c as u64) << (tb + width as u32)) | pre[wi] | value,
                            len[wi],
                        )
                    }),
            );
        }
        return;
    }
    for (row_w, row_k) in t.widths.chunks(cols).zip(t.codes.chunks(cols)) {
        for (c, (&width, &k)) in row_w.iter().zip(row_k).enumerate() {
            if width != 0 {
                w.write(c as u64, ib);
                w.write(tag[width as usize] as u64, tb);
                w.write(k as u32 as u64, width as u32);
            }
        }
    }
}

struct Head<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Head<'_> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        if self.pos >= MAX_HEADER {
            return Err(CodecError::HeaderTooLarge);
        }
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(CodecError::TruncatedHeader)?;
        self.pos += 1;
        Ok(b)
    }
    fn string(&mut self) -> Result<String, CodecError> {
        let n = self.byte()? as usize;
        let bytes: Vec<u8> = (0..n).map(|_| self.byte()).collect::<Result<_, _>>()?;
        String::from_utf8(bytes).map_err(|_| CodecError::BadUtf8)
    }
    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            if i == 9 && b > 1 {
                return Err(CodecError::BadVarint);
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(CodecError::BadVarint); // overlong
                }
                return Ok(v);
            }
        }
        Err(CodecError::BadVarint)
    }
}

/// Read an `.agq` file with the default size limit [`DEFAULT_MAX_PARAMS`].
pub fn decode(bytes: &[u8]) -> Result<QuantModel, CodecError> {
    decode_with_limit(bytes, DEFAULT_MAX_PARAMS)
}

/// Read an `.agq` file holding at most `max_params` parameters (larger: `TooLarge`).
pub fn decode_with_limit(bytes: &[u8], max_params: u64) -> Result<QuantModel, CodecError> {
    let mut h = Head { bytes, pos: 0 };
    let magic = [h.byte()?, h.byte()?, h.byte()?, h.byte()?];
    if magic != MAGIC {
        return Err(CodecError::BadMagic);
    }
    let version = h.byte()?;
    let encoding = Encoding::from_version_byte(version).ok_or(CodecError::UnsupportedVersion(version))?;
    let net = h.string()?;
    let count = u16::from_le_bytes([h.byte()?, h.byte()?]) as usize;
    let mut heads = Vec::with_capacity(count);
    let mut total = 0u64;
    for i in 0..count {
        let name = h.string()?;
        let ndim = h.byte()? as usize;
        let shape: Vec<u64> = (0..ndim).map(|_| h.varint()).collect::<Result<_, _>>()?;
        let too_large = CodecError::TooLarge { tensor: i };
        let n = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or(too_large.clone())?;
        let shape: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<_, _>>()
            .map_err(|_| too_large.clone())?;
        total = total.checked_add(n).ok_or(too_large.clone())?;
        // the 2-D view's columns are checked apart from `n`: with a zero first dimension,
        // `n` is 0 while the product of the other dimensions may overflow
        let cols = shape.iter().skip(usize::from(shape.len() >= 2)).try_fold(1usize, |a, &d| a.checked_mul(d));
        if total > max_params
            || rows_of(&shape) > u32::MAX as usize
            || cols.is_none_or(|c| c > u32::MAX as usize)
        {
            return Err(too_large);
        }
        let nw = h.byte()? as usize;
        let nnz = h.varint()?;
        if nnz > u32::MAX as u64 - 1 {
            return Err(too_large);
        }
        if nw > 16 || nnz > n || (nnz == 0) != (nw == 0) {
            return Err(CodecError::BadCounts { tensor: i });
        }
        heads.push((name, shape, nw, nnz));
    }
    let mut r = BitReader::new(&bytes[h.pos..]);
    let mut tensors = Vec::with_capacity(count);
    for (i, (name, shape, nw, nnz)) in heads.into_iter().enumerate() {
        tensors.push(match encoding {
            Encoding::Csr => read_tensor(&mut r, i, name, shape, nw, nnz)?,
            Encoding::Relative => super::relative::read_tensor(&mut r, i, name, shape, nw, nnz)?,
            Encoding::Entropy => super::entropy::read_tensor(&mut r, i, name, shape, nw, nnz)?,
        });
    }
    if r.remaining() >= 8 || r.read(r.remaining() as u32) != Ok(0) {
        return Err(CodecError::TrailingData);
    }
    let model = QuantModel { net, tensors };
    // CSR's checks above make a CSR file canonical; the other encodings also choose gap
    // widths, stream modes and code tables, so the file must be exactly what the encoder writes
    if encoding != Encoding::Csr && encode_with(&model, encoding).as_deref() != Ok(bytes) {
        return Err(CodecError::NonCanonical);
    }
    Ok(model)
}

/// The parts of a tensor every encoding shares, as read: rows, cols, the `(width, frac)`
/// list and the row pointers (`rows + 1` of them; empty when nnz = 0).
pub(crate) struct Prefix {
    pub rows: usize,
    pub cols: usize,
    pub fracs: Vec<(u8, i8)>,
    pub ptr: Vec<u64>,
}

/// Reads and checks the header, meta and row pointers of tensor `i`.
pub(crate) fn read_prefix(
    r: &mut BitReader,
    i: usize,
    shape: &[usize],
    nw: usize,
    nnz: u64,
) -> Result<Prefix, CodecError> {
    let trunc = |_: EndOfInput| CodecError::Truncated { tensor: i };
    let (rows, cols) = (rows_of(shape), cols_of(shape));
    if r.read(DIM_BITS).map_err(trunc)? as usize != rows || r.read(DIM_BITS).map_err(trunc)? as usize != cols {
        return Err(CodecError::ShapeMismatch { tensor: i });
    }
    let (_, _, pb) = field_bits(cols as u64, nw as u64, nnz);
    let mut fracs: Vec<(u8, i8)> = Vec::with_capacity(nw);
    for _ in 0..nw {
        let code = r.read(WIDTH_FIELD_BITS).map_err(trunc)? as u8;
        let width = if code == 0 { FLOAT_WIDTH } else { code };
        let frac = r.read(FRAC_FIELD_BITS).map_err(trunc)? as u8 as i8;
        let ascending = fracs.last().is_none_or(|l| l.0 < width);
        if width < 2 || !ascending || (width == FLOAT_WIDTH && frac != 0) {
            return Err(CodecError::BadMeta { tensor: i });
        }
        fracs.push((width, frac));
    }
    // row pointers: each costs pb > 0 bits when nnz > 0, so their count is bounded by the input
    let mut ptr = Vec::new();
    if pb > 0 {
        if (rows as u64 + 1) * pb as u64 > r.remaining() {
            return Err(CodecError::Truncated { tensor: i });
        }
        ptr.reserve_exact(rows + 1);
        for _ in 0..=rows {
            let p = r.read(pb).map_err(trunc)? as u64;
            if ptr.last().is_some_and(|&l| p < l) || (ptr.is_empty() && p != 0) {
                return Err(CodecError::BadRowPointers { tensor: i });
            }
            ptr.push(p);
        }
        if ptr[rows] != nnz {
            return Err(CodecError::BadRowPointers { tensor: i });
        }
    }
    Ok(Prefix { rows, cols, fracs, ptr })
}

/// `n` zero widths and codes, or `TooLarge` when they cannot be allocated.
pub(crate) fn zeroed(i: usize, n: usize) -> Result<(Vec<u8>, Vec<i32>), CodecError> {
    let mut widths = Vec::new();
    let mut codes = Vec::new();
    if widths.try_reserve_exact(n).is_err() || codes.try_reserve_exact(n).is_err() {
        return Err(CodecError::TooLarge { tensor: i });
    }
    widths.resize(n, 0u8);
    codes.resize(n, 0i32);
    Ok((widths, codes))
}

/// Reads the tag (`tb` bits) and the value of one stored entry; marks its width as used.
#[inline]
pub(crate) fn read_entry(
    r: &mut BitReader,
    i: usize,
    fracs: &[(u8, i8)],
    tb: u32,
    used: &mut [bool; 16],
) -> Result<(u8, i32), CodecError> {
    let trunc = |_: EndOfInput| CodecError::Truncated { tensor: i };
    let t = r.read(tb).map_err(trunc)? as usize;
    let &(width, _) = fracs.get(t).ok_or(CodecError::BadTag { tensor: i })?;
    used[t] = true;
    Ok((width, stored_code(i, r.read(width as u32).map_err(trunc)?, width)?))
}

/// The code of a stored value from its `width` low bits `v`; a zero value is an error.
#[inline]
pub(crate) fn stored_code(i: usize, v: u32, width: u8) -> Result<i32, CodecError> {
    let k = if width == FLOAT_WIDTH {
        v as i32
    } else {
        ((v << (32 - width)) as i32) >> (32 - width)
    };
    if k == 0 || (width == FLOAT_WIDTH && k & 0x7fff_ffff == 0) {
        return Err(CodecError::ZeroValue { tensor: i });
    }
    Ok(k)
}

fn read_tensor(
    r: &mut BitReader,
    i: usize,
    name: String,
    shape: Vec<usize>,
    nw: usize,
    nnz: u64,
) -> Result<QuantTensor, CodecError> {
    let trunc = |_: EndOfInput| CodecError::Truncated { tensor: i };
    let Prefix { rows, cols, fracs, ptr } = read_prefix(r, i, &shape, nw, nnz)?;
    let (ib, tb, _) = field_bits(cols as u64, nw as u64, nnz);
    let (mut widths, mut codes) = zeroed(i, rows * cols)?;
    let mut used = [false; 16];
    for row in 0..if nnz == 0 { 0 } else { rows } {
        let mut next_col = 0u64;
        for _ in ptr[row]..ptr[row + 1] {
            let c = r.read(ib).map_err(trunc)? as u64;
            if c < next_col || c >= cols as u64 {
                return Err(CodecError::BadColumn { tensor: i });
            }
            next_col = c + 1;
            let (width, k) = read_entry(r, i, &fracs, tb, &mut used)?;
            let at = row * cols + c as usize;
            widths[at] = width;
            codes[at] = k;
        }
    }
    if used[..nw].iter().any(|&u| !u) {
        return Err(CodecError::UnusedWidth { tensor: i });
    }
    Ok(QuantTensor {
        name,
        shape,
        widths,
        fracs,
        codes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::csr::account;
    use crate::quant::model::quantize_model;
    use crate::quant::tensor::ParamTensor;

    fn model() -> QuantModel {
        let a = ParamTensor::new(
            "fc.weight",
            vec![3, 4],
            (0..12).map(|i| (i as f32 - 5.5) * 0.3).collect(),
        );
        let b = ParamTensor::new("fc.bias", vec![3], vec![0.25, -1e-7, 7.0]);
        quantize_model(
            "tiny",
            &[a, b],
            &[0, 4, 8, 32, 4, 4, 0, 16, 2, 2, 8, 8, 32, 32, 6],
        )
    }

    #[test]
    fn decode_inverts_encode_bit_for_bit() {
        let m = model();
        let bytes = encode(&m).unwrap();
        assert_eq!(decode(&bytes).unwrap(), m);
    }

    #[test]
    fn the_file_size_is_header_plus_accounted_bits_rounded_up_to_a_byte() {
        let m = model();
        let bytes = encode(&m).unwrap();
        let r = account(&m);
        assert_eq!(
            bytes.len() as u64,
            header_len(&m) as u64 + r.total_bits.div_ceil(8)
        );
        assert_eq!(bytes.len() as u64, r.bytes);
    }

    #[test]
    fn the_example_in_format_md_is_what_encode_writes() {
        let p = ParamTensor::new("b", vec![3], vec![1.0, 0.0, -0.5]);
        let m = quantize_model("x", &[p], &[4, 4, 4]);
        let want: Vec<u8> = vec![
            0x41, 0x47, 0x51, 0x31, 0x01, 0x01, 0x78, 0x01, 0x00, 0x01, 0x62, 0x01, 0x03, 0x01,
            0x02, // header
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x20, 0x11, 0x09,
            0x70, // bitstream
        ];
        assert_eq!(encode(&m).unwrap(), want);
        assert_eq!(account(&m).total_bits, 93);
    }

    #[test]
    fn the_file_starts_with_the_magic_and_version() {
        assert_eq!(&encode(&model()).unwrap()[..5], b"AGQ1\x01");
    }

    #[test]
    fn every_truncation_is_a_typed_error() {
        let bytes = encode(&model()).unwrap();
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn extra_bytes_after_the_last_tensor_are_rejected() {
        let mut bytes = encode(&model()).unwrap();
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(CodecError::TrailingData));
    }

    #[test]
    fn a_bad_magic_is_rejected() {
        assert_eq!(decode(b"AGQ2\x01"), Err(CodecError::BadMagic));
        assert_eq!(decode(b"AGQ1\x02"), Err(CodecError::UnsupportedVersion(2)));
    }

    #[test]
    fn a_header_over_four_kib_is_an_error() {
        let ps: Vec<ParamTensor> = (0..40)
            .map(|i| ParamTensor::new(format!("{i:0>200}"), vec![1], vec![1.0]))
            .collect();
        let m = quantize_model("n", &ps, &[8; 40]);
        assert_eq!(encode(&m), Err(CodecError::HeaderTooLarge));
    }

    #[test]
    fn a_non_canonical_model_is_not_encoded() {
        let m = model();
        let (w, k) = (&m.tensors[0].widths, &m.tensors[0].codes);
        assert_eq!((w[1], w[2], w[3], w[7], w[8]), (4, 8, 32, 16, 2), "the cases below assume these widths");
        // (index, width, code): each breaks one rule of the canonical form
        let cases: [(usize, Option<u8>, i32); 10] = [
            (1, None, 0),            // stored (width 4) with code 0
            (0, None, 1),            // pruned (width 0) with a nonzero code
            (1, None, 8),            // above width 4's range [-8, 7]
            (1, None, -9),           // below it
            (8, None, 2),            // above width 2's range [-2, 1]
            (7, None, 32768),        // above width 16's range
            (3, None, i32::MIN),     // width 32 with the bits of -0.0
            (1, Some(1), k[1]),      // width 1 does not exist
            (1, Some(17), k[1]),     // nor 17 to 31
            (2, Some(33), k[2]),     // nor above 32
        ];
        for (i, width, code) in cases {
            let mut bad = m.clone();
            bad.tensors[0].codes[i] = code;
            if let Some(width) = width {
                bad.tensors[0].widths[i] = width;
            }
            assert!(
                matches!(encode(&bad), Err(CodecError::InvalidModel { tensor: 0, .. })),
                "value {i} at width {width:?} with code {code}"
            );
        }
        let mut edge = m.clone();
        (edge.tensors[0].codes[1], edge.tensors[0].codes[7]) = (-8, -32768); // the ranges' ends
        assert!(encode(&edge).is_ok());
    }

    #[test]
    fn the_size_limit_guards_decoding() {
        let bytes = encode(&model()).unwrap();
        assert_eq!(
            decode_with_limit(&bytes, 10),
            Err(CodecError::TooLarge { tensor: 0 })
        );
    }

    #[test]
    fn an_empty_and_a_pruned_tensor_round_trip() {
        let a = ParamTensor::new("e", vec![0, 5], vec![]);
        let b = ParamTensor::new("p", vec![7, 1], vec![1.0; 7]);
        let m = quantize_model("n", &[a, b], &[0; 7]);
        assert_eq!(decode(&encode(&m).unwrap()).unwrap(), m);
    }
}
