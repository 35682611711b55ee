//! Entropy coding (Deep Compression's last stage, with ANS in place of Huffman): the gaps of
//! the relative indices, the width tags and the values of each fixed-point width are each
//! one stream of symbols, written either raw (fixed-width fields) or ANS-coded with a static
//! table of its own (the `constriction` crate's ANS coder, 32-bit words), whichever is
//! smaller. Layout: `docs/FORMAT.md`, "Entropy coding".
//!
//! Every choice (gap width, table precision, raw or coded) is made with integer arithmetic
//! only, so a model encodes to the same bytes natively and in wasm, and the decoder can ask
//! for exactly the encoder's file.

use super::bits::{BitReader, BitWriter, EndOfInput};
use super::codec::{CodecError, Prefix, read_prefix, stored_code, write_prefix, zeroed};
use super::fixed_point::FLOAT_WIDTH;
use super::layout::{GAP_WIDTH_FIELD, MAX_GAP_WIDTH, bits_from_counts, field_bits, width_counts};
use super::model::QuantTensor;
use super::relative::{entries, filler_step, skip_histogram};
use super::report::TensorBits;
use constriction::stream::Decode;
use constriction::stream::model::DefaultContiguousCategoricalEntropyModel as Model;
use constriction::stream::stack::DefaultAnsCoder;

mod table;
use table::{Table, gamma_len, get_gamma, put_gamma};

/// Estimated bits (in units of 2^-16 bit) of a stream of symbols below `2^alphabet_bits`
/// with these counts of its used symbols: the smaller of raw and coded (table + ideal code
/// length + 32 bits of ANS flush).
fn estimate(counts: &[u64], alphabet_bits: u32) -> u64 {
    let n: u64 = counts.iter().sum();
    let raw = (n * alphabet_bits as u64) << 16;
    let used: Vec<u32> = (0..counts.len() as u32).filter(|&s| counts[s as usize] > 0).collect();
    let c: Vec<u64> = used.iter().map(|&s| counts[s as usize]).collect();
    let (table, data) = Table::best(used, &c);
    let flush = if table.symbols.len() >= 2 { 32 + gamma_len(data >> 21 | 1) } else { 0 };
    raw.min(((table.bits() + flush) << 16) + data)
}

/// The gap width of the entropy-coded index stream: the smallest estimate over 1..=16,
/// ties to the smaller width.
pub(crate) fn gap_width(hist: &[(u64, u64)]) -> u32 {
    (1..=MAX_GAP_WIDTH)
        .map(|g| {
            let m = filler_step(g);
            let mut counts = vec![0u64; 1 << g];
            for &(d, n) in hist {
                counts[(d % m) as usize] += n;
                counts[m as usize] += d / m * n;
            }
            (estimate(&counts, g), g)
        })
        .min()
        .map_or(1, |(_, g)| g)
}

/// ANS-codes `syms` (each in the table) with the table's model; `None` if it has none.
fn ans_words(table: &Table, syms: &[u32], alphabet_bits: u32) -> Option<Vec<u32>> {
    let model = table.model()?;
    let mut index = vec![0usize; 1 << alphabet_bits];
    for (k, &s) in table.symbols.iter().enumerate() {
        index[s as usize] = k;
    }
    let mut coder = DefaultAnsCoder::new();
    coder.encode_iid_symbols_reverse(syms.iter().map(|&s| index[s as usize]), &model).ok()?;
    coder.into_compressed().ok()
}

/// Writes one stream of symbols below `2^alphabet_bits`: a mode bit, then either the raw
/// fields or the table, the word count and the ANS words, whichever is smaller (ties raw).
/// Adds the raw fields or words to `data`, the mode, table and count bits to `side`.
fn write_stream(w: &mut BitWriter, syms: &[u32], alphabet_bits: u32, data: &mut u64, side: &mut u64) {
    let raw = syms.len() as u64 * alphabet_bits as u64;
    let mut counts = vec![0u64; 1 << alphabet_bits];
    syms.iter().for_each(|&s| counts[s as usize] += 1);
    let used: Vec<u32> = (0..counts.len() as u32).filter(|&s| counts[s as usize] > 0).collect();
    let c: Vec<u64> = used.iter().map(|&s| counts[s as usize]).collect();
    let coded = (!used.is_empty()).then(|| Table::best(used, &c).0).and_then(|table| {
        let words = if table.symbols.len() >= 2 { Some(ans_words(&table, syms, alphabet_bits)?) } else { None };
        let framing = words.as_ref().map_or(0, |v| gamma_len(v.len() as u64 + 1));
        let bits = table.bits() + framing + 32 * words.as_ref().map_or(0, |v| v.len() as u64);
        Some((table, words, framing, bits))
    });
    *side += 1;
    match coded {
        Some((table, words, framing, bits)) if bits < raw => {
            w.write(1, 1);
            table.write(w);
            *side += table.bits() + framing;
            if let Some(words) = words {
                put_gamma(w, words.len() as u64 + 1);
                words.iter().for_each(|&x| w.write(x as u64, 32));
                *data += 32 * words.len() as u64;
            }
        }
        _ => {
            w.write(0, 1);
            syms.iter().for_each(|&s| w.write(s as u64, alphabet_bits));
            *data += raw;
        }
    }
}

/// Writes tensor `t` (checked) entropy-coded; returns its bits by part.
pub(crate) fn write_tensor(w: &mut BitWriter, t: &QuantTensor) -> TensorBits {
    let tag = write_prefix(w, t);
    let mut bits = bits_from_counts(t.rows() as u64, t.cols() as u64, &width_counts(&t.widths));
    (bits.values, bits.indices, bits.tags) = (0, 0, 0);
    let hist = skip_histogram(t);
    if hist.is_empty() {
        return bits;
    }
    let g = gap_width(&hist);
    let m = filler_step(g);
    bits.meta += GAP_WIDTH_FIELD as u64;
    w.write(g as u64 - 1, GAP_WIDTH_FIELD);
    let mut gaps = Vec::new();
    for e in entries(t) {
        gaps.extend(std::iter::repeat_n(m as u32, (e.skip / m) as usize));
        gaps.push((e.skip % m) as u32);
    }
    write_stream(w, &gaps, g, &mut bits.indices, &mut bits.tables);
    let (_, tb, _) = field_bits(t.cols() as u64, t.fracs.len() as u64, 0);
    if t.fracs.len() >= 2 {
        let tags: Vec<u32> = entries(t).map(|e| tag[e.width as usize] as u32).collect();
        write_stream(w, &tags, tb, &mut bits.tags, &mut bits.tables);
    }
    for &(width, _) in &t.fracs {
        let of_width = entries(t).filter(|e| e.width == width);
        if width == FLOAT_WIDTH {
            for e in of_width {
                w.write(e.code as u32 as u64, 32);
                bits.values += 32;
            }
        } else {
            let half = 1i32 << (width - 1);
            let vals: Vec<u32> = of_width.map(|e| (e.code + half) as u32).collect();
            write_stream(w, &vals, width as u32, &mut bits.values, &mut bits.tables);
        }
    }
    bits
}

/// A stream being read: raw fields, one symbol repeated, or ANS-coded symbols.
enum Source {
    Raw(u32),
    Same(u32),
    Coded { coder: DefaultAnsCoder, model: Model, symbols: Vec<u32> },
}

impl Source {
    /// Reads a stream's mode, table and words (see [`write_stream`]).
    fn read(r: &mut BitReader, i: usize, alphabet_bits: u32) -> Result<Source, CodecError> {
        let trunc = |_: EndOfInput| CodecError::Truncated { tensor: i };
        if r.read(1).map_err(trunc)? == 0 {
            return Ok(Source::Raw(alphabet_bits));
        }
        let table = Table::read(r, i, alphabet_bits)?;
        if let [only] = table.symbols[..] {
            return Ok(Source::Same(only));
        }
        let model = table.model().ok_or(CodecError::BadCode { tensor: i })?;
        let len = get_gamma(r, i)? - 1;
        if len.saturating_mul(32) > r.remaining() {
            return Err(CodecError::Truncated { tensor: i });
        }
        let words: Vec<u32> = (0..len).map(|_| r.read(32).map_err(trunc)).collect::<Result<_, _>>()?;
        let coder = DefaultAnsCoder::from_compressed(words).map_err(|_| CodecError::BadCode { tensor: i })?;
        Ok(Source::Coded { coder, model, symbols: table.symbols })
    }

    fn next(&mut self, r: &mut BitReader, i: usize) -> Result<u32, CodecError> {
        match self {
            Source::Raw(bits) => r.read(*bits).map_err(|_| CodecError::Truncated { tensor: i }),
            Source::Same(s) => Ok(*s),
            Source::Coded { coder, model, symbols } => {
                let k = coder.decode_symbol(&*model).map_err(|_| CodecError::BadCode { tensor: i })?;
                symbols.get(k).copied().ok_or(CodecError::BadCode { tensor: i })
            }
        }
    }

    /// Every coded word must have been used.
    fn finish(self, i: usize) -> Result<(), CodecError> {
        match self {
            Source::Coded { coder, .. } if !coder.is_empty() => Err(CodecError::BadCode { tensor: i }),
            _ => Ok(()),
        }
    }
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
    let Prefix { rows, cols, fracs, ptr } = read_prefix(r, i, &shape, nw, nnz)?;
    let (mut widths, mut codes) = zeroed(i, rows * cols)?;
    if nnz == 0 {
        return Ok(QuantTensor { name, shape, widths, fracs, codes });
    }
    let g = r.read(GAP_WIDTH_FIELD).map_err(|_| CodecError::Truncated { tensor: i })? + 1;
    let m = filler_step(g);
    let mut at: Vec<usize> = Vec::new(); // flat position of each entry
    let mut tag: Vec<u8> = Vec::new();
    if at.try_reserve_exact(nnz as usize).is_err() || tag.try_reserve_exact(nnz as usize).is_err() {
        return Err(CodecError::TooLarge { tensor: i });
    }
    let mut src = Source::read(r, i, g)?;
    for row in 0..rows {
        let mut cursor = 0u64;
        for _ in ptr[row]..ptr[row + 1] {
            let col = loop {
                let x = src.next(r, i)? as u64;
                if x < m {
                    break cursor + x;
                }
                cursor += m;
                if cursor >= cols as u64 {
                    return Err(CodecError::BadColumn { tensor: i });
                }
            };
            if col >= cols as u64 {
                return Err(CodecError::BadColumn { tensor: i });
            }
            cursor = col + 1;
            at.push(row * cols + col as usize);
        }
    }
    src.finish(i)?;
    let (_, tb, _) = field_bits(cols as u64, nw as u64, nnz);
    if nw >= 2 {
        let mut src = Source::read(r, i, tb)?;
        for _ in 0..nnz {
            let t = src.next(r, i)?;
            tag.push(u8::try_from(t).ok().filter(|&t| (t as usize) < nw).ok_or(CodecError::BadTag { tensor: i })?);
        }
        src.finish(i)?;
    } else {
        tag.resize(nnz as usize, 0);
    }
    let mut count = [0u64; 16];
    tag.iter().for_each(|&t| count[t as usize] += 1);
    if count[..nw].contains(&0) {
        return Err(CodecError::UnusedWidth { tensor: i });
    }
    for (j, &(width, _)) in fracs.iter().enumerate() {
        let mut src = if width == FLOAT_WIDTH { Source::Raw(32) } else { Source::read(r, i, width as u32)? };
        for (&pos, _) in at.iter().zip(&tag).filter(|(_, t)| **t as usize == j) {
            let v = src.next(r, i)?;
            let k = if width == FLOAT_WIDTH { stored_code(i, v, width)? } else { v as i32 - (1 << (width - 1)) };
            if k == 0 {
                return Err(CodecError::ZeroValue { tensor: i });
            }
            (widths[pos], codes[pos]) = (width, k);
        }
        src.finish(i)?;
    }
    Ok(QuantTensor { name, shape, widths, fracs, codes })
}

#[cfg(test)]
mod tests;
