//! The storage encodings of a quantized network: CSR (the thesis's accounting, the default),
//! relative indices (Deep Compression's gaps with fillers) and entropy coding (ANS over the
//! gaps, tags and values). Each has an exact accounting ([`account_with`]: the bits counted
//! are the bits [`encode_with`] writes) and decodes bit for bit ([`super::codec::decode`]
//! detects the encoding from the file's version byte). Layouts: `docs/FORMAT.md`.

use super::bits::BitWriter;
use super::codec::{CodecError, VERSION, check_made_tensor, check_tensor, encode_counted, write_head};
use super::csr::{account, report_from};
use super::layout::{MAGIC, bits_from_counts};
use super::model::{QuantModel, QuantTensor};
use super::report::{EncodingSize, Report, TensorBits};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How the tensors of an `.agq` file are laid out (serde: `"csr"`, `"relative"`, `"entropy"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Absolute column indices of `ceil(log2(cols))` bits (METHOD.md's CSR accounting).
    #[default]
    Csr,
    /// Column gaps of `g` bits per entry, filler entries for longer gaps.
    Relative,
    /// The relative gaps, the width tags and the values entropy-coded (ANS) per tensor.
    Entropy,
}

impl Encoding {
    /// Every encoding, in the order the command line lists them.
    pub const ALL: [Encoding; 3] = [Encoding::Csr, Encoding::Relative, Encoding::Entropy];

    /// The name on the command line and in reports: `csr`, `relative` or `entropy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Csr => "csr",
            Encoding::Relative => "relative",
            Encoding::Entropy => "entropy",
        }
    }

    /// The file's version byte: format version 1 in the low 4 bits, the encoding in the high
    /// 4 bits (0 CSR, 1 relative, 2 entropy), so a CSR file is a version-1 file as before.
    pub fn version_byte(self) -> u8 {
        let code = match self {
            Encoding::Csr => 0,
            Encoding::Relative => 1,
            Encoding::Entropy => 2,
        };
        code << 4 | VERSION
    }

    /// The encoding a version byte names (`None`: unsupported).
    pub fn from_version_byte(byte: u8) -> Option<Encoding> {
        Encoding::ALL.into_iter().find(|e| e.version_byte() == byte)
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An encoding name that is not `csr`, `relative` or `entropy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEncoding(pub String);

impl fmt::Display for UnknownEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown encoding {:?} (expected csr, relative or entropy)", self.0)
    }
}

impl std::error::Error for UnknownEncoding {}

impl FromStr for Encoding {
    type Err = UnknownEncoding;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Encoding::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownEncoding(s.to_string()))
    }
}

/// The encoding of an `.agq` file, from its magic and version byte alone.
pub fn encoding_of(bytes: &[u8]) -> Result<Encoding, CodecError> {
    if bytes.len() < 5 {
        return Err(if bytes.len() < 4 || bytes[..4] == MAGIC {
            CodecError::TruncatedHeader
        } else {
            CodecError::BadMagic
        });
    }
    if bytes[..4] != MAGIC {
        return Err(CodecError::BadMagic);
    }
    Encoding::from_version_byte(bytes[4]).ok_or(CodecError::UnsupportedVersion(bytes[4]))
}

/// The gap width `g` (bits per gap field) `encoding` writes tensor `t` with; `None` for CSR
/// and for a tensor with no stored value.
pub fn gap_width_of(t: &QuantTensor, encoding: Encoding) -> Option<u32> {
    let hist = super::relative::skip_histogram(t);
    match encoding {
        _ if hist.is_empty() => None,
        Encoding::Csr => None,
        Encoding::Relative => Some(super::relative::best_gap_width(&hist)),
        Encoding::Entropy => Some(super::entropy::gap_width(&hist)),
    }
}

/// Writes tensor `t` (already checked) in `encoding` (not CSR); returns its bits by part.
fn write_tensor(w: &mut BitWriter, t: &QuantTensor, encoding: Encoding) -> TensorBits {
    match encoding {
        Encoding::Relative => super::relative::write_tensor(w, t),
        _ => super::entropy::write_tensor(w, t),
    }
}

/// The storage report of `model` in `encoding`: per tensor and part, the bits
/// [`encode_with`] writes; `bytes` is the file's size. CSR is [`account`] (any model); the
/// others check the model's canonical form (`InvalidModel` otherwise).
pub fn account_with(model: &QuantModel, encoding: Encoding) -> Result<Report, CodecError> {
    if encoding == Encoding::Csr {
        return Ok(account(model));
    }
    let parts = model
        .tensors
        .iter()
        .enumerate()
        .map(|(i, t)| Ok((check_tensor(i, t)?, write_tensor(&mut BitWriter::default(), t, encoding))))
        .collect::<Result<Vec<_>, CodecError>>()?;
    Ok(report_from(model, parts))
}

/// The size of `model` in every encoding, in [`Encoding::ALL`] order (CSR first): each
/// [`account_with`], so each `bytes` is what [`encode_with`] writes.
pub fn sizes(model: &QuantModel) -> Result<Vec<EncodingSize>, CodecError> {
    Encoding::ALL.into_iter().map(|e| Ok(EncodingSize::of(e, &account_with(model, e)?))).collect()
}

/// [`sizes`] reusing `report`, the accounting of `model` in `encoding` (a model is accounted
/// only in the encodings it was not yet).
pub fn sizes_with(model: &QuantModel, encoding: Encoding, report: &Report) -> Result<Vec<EncodingSize>, CodecError> {
    Encoding::ALL
        .into_iter()
        .map(|e| Ok(EncodingSize::of(e, &if e == encoding { report.clone() } else { account_with(model, e)? })))
        .collect()
}

/// [`encode_with`] and [`account_with`] in one pass over the model: the file and its
/// report (`report.bytes` is the file's length), each tensor checked and counted once.
pub fn encode_accounted(model: &QuantModel, encoding: Encoding) -> Result<(Vec<u8>, Report), CodecError> {
    encode_accounted_checked(model, encoding, check_tensor)
}

/// [`encode_accounted`] of a model that [`crate::quant::model::quantize_tensor_by`] (or
/// `quantize_model`) made: canonical by construction, so its values are not checked again
/// (only its shapes and width lists).
pub(crate) fn encode_accounted_made(model: &QuantModel, encoding: Encoding) -> Result<(Vec<u8>, Report), CodecError> {
    encode_accounted_checked(model, encoding, check_made_tensor)
}

/// [`encode_accounted`] with `check` giving each tensor's stored values per width (or why
/// it cannot be written).
fn encode_accounted_checked(
    model: &QuantModel,
    encoding: Encoding,
    check: fn(usize, &QuantTensor) -> Result<[u64; 33], CodecError>,
) -> Result<(Vec<u8>, Report), CodecError> {
    let counts = model.tensors.iter().enumerate().map(|(i, t)| check(i, t)).collect::<Result<Vec<_>, _>>()?;
    let mut w = BitWriter::with_buffer(write_head(model, encoding.version_byte())?);
    if encoding == Encoding::Csr {
        let bits = counts.iter().zip(&model.tensors).map(|(c, t)| bits_from_counts(t.rows() as u64, t.cols() as u64, c).total());
        w.reserve_bits(bits.sum());
    }
    let mut parts = Vec::with_capacity(model.tensors.len());
    for (t, &count) in model.tensors.iter().zip(&counts) {
        let before = w.bits_written();
        let bits = if encoding == Encoding::Csr {
            super::codec::write_tensor(&mut w, t);
            bits_from_counts(t.rows() as u64, t.cols() as u64, &count)
        } else {
            write_tensor(&mut w, t, encoding)
        };
        debug_assert_eq!(w.bits_written() - before, bits.total());
        parts.push((count, bits));
    }
    let report = report_from(model, parts);
    let bytes = w.finish();
    debug_assert_eq!(report.bytes, bytes.len() as u64, "the accounted size is the file's");
    Ok((bytes, report))
}

/// Writes `model` as an `.agq` file in `encoding` (CSR: exactly [`super::codec::encode`]).
pub fn encode_with(model: &QuantModel, encoding: Encoding) -> Result<Vec<u8>, CodecError> {
    encode_with_bits(model, encoding).map(|(bytes, _)| bytes)
}

/// [`encode_with`], and the length in bits of the bitstream it wrote (after the byte header,
/// before the padding): what [`account_with`] counts as `total_bits`.
pub fn encode_with_bits(model: &QuantModel, encoding: Encoding) -> Result<(Vec<u8>, u64), CodecError> {
    if encoding == Encoding::Csr {
        return encode_counted(model);
    }
    for (i, t) in model.tensors.iter().enumerate() {
        check_tensor(i, t)?;
    }
    let mut w = BitWriter::with_buffer(write_head(model, encoding.version_byte())?);
    for t in &model.tensors {
        let before = w.bits_written();
        let bits = write_tensor(&mut w, t, encoding);
        debug_assert_eq!(w.bits_written() - before, bits.total());
    }
    let written = w.bits_written();
    Ok((w.finish(), written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::codec::decode;
    use crate::quant::model::quantize_model;
    use crate::quant::tensor::ParamTensor;

    #[test]
    fn names_parse_and_print_back() {
        for e in Encoding::ALL {
            assert_eq!(e.to_string().parse::<Encoding>(), Ok(e));
        }
        assert_eq!(" Entropy ".parse::<Encoding>(), Ok(Encoding::Entropy));
        assert!("huffman".parse::<Encoding>().unwrap_err().to_string().contains("csr, relative or entropy"));
        assert_eq!(Encoding::default(), Encoding::Csr);
    }

    #[test]
    fn the_version_byte_names_the_encoding() {
        let bytes: Vec<u8> = Encoding::ALL.iter().map(|e| e.version_byte()).collect();
        assert_eq!(bytes, [0x01, 0x11, 0x21]);
        assert_eq!(Encoding::from_version_byte(0x02), None);
        assert_eq!(encoding_of(b"AGQ1\x21rest"), Ok(Encoding::Entropy));
        assert_eq!(encoding_of(b"AGQ1\x31"), Err(CodecError::UnsupportedVersion(0x31)));
        assert_eq!(encoding_of(b"AGQ"), Err(CodecError::TruncatedHeader));
        assert_eq!(encoding_of(b"XYZ1\x01"), Err(CodecError::BadMagic));
    }

    #[test]
    fn the_examples_in_format_md_are_what_encode_with_writes() {
        let p = ParamTensor::new("b", vec![3], vec![1.0, 0.0, -0.5]);
        let m = quantize_model("x", &[p], &[4, 4, 4]);
        let head = |v: u8| vec![0x41, 0x47, 0x51, 0x31, v, 0x01, 0x78, 0x01, 0x00, 0x01, 0x62, 0x01, 0x03, 0x01, 0x02];
        let dims = [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03];
        for (e, stream, bits) in [
            (Encoding::Relative, &[0x20, 0x11, 0x01, 0x2e][..], 96),
            (Encoding::Entropy, &[0x20, 0x11, 0x01, 0x31, 0x80][..], 98),
        ] {
            let want: Vec<u8> = head(e.version_byte()).into_iter().chain(dims).chain(stream.iter().copied()).collect();
            assert_eq!(encode_with_bits(&m, e).unwrap(), (want, bits), "{e}");
        }
        let b = account_with(&m, Encoding::Relative).unwrap().tensors[0].bits;
        assert_eq!((b.indices, b.fillers, b.values, b.meta, b.row_ptr), (2, 1, 8, 17, 4));
        let b = account_with(&m, Encoding::Entropy).unwrap().tensors[0].bits;
        assert_eq!((b.indices, b.tables, b.values, b.meta, b.row_ptr), (3, 2, 8, 17, 4));
    }

    #[test]
    fn the_sizes_add_up_by_part_and_are_the_files_written() {
        let w: Vec<f32> = (0..900).map(|i| if i % 5 == 0 || i % 11 == 0 { (i as f32).cos() } else { 0.0 }).collect();
        let widths: Vec<u8> = (0..900).map(|i| [0, 3, 5, 8, 16, 32][i % 6]).collect();
        let bias: Vec<f32> = (0..30).map(|i| i as f32 * 0.1).collect();
        let p = [ParamTensor::new("w", vec![30, 30], w), ParamTensor::new("b", vec![30], bias)];
        let widths: Vec<u8> = widths.into_iter().chain([4; 30]).collect();
        let m = quantize_model("n", &p, &widths);
        for e in Encoding::ALL {
            let one_pass = encode_accounted(&m, e).unwrap();
            assert_eq!(one_pass, (encode_with(&m, e).unwrap(), account_with(&m, e).unwrap()), "{e}: encode_accounted");
        }
        let all = sizes(&m).unwrap();
        assert_eq!(all.iter().map(|s| s.encoding).collect::<Vec<_>>(), Encoding::ALL);
        assert_eq!(all.iter().map(|s| s.reference).collect::<Vec<_>>(), [true, false, false]);
        for s in &all {
            let (bytes, bits) = encode_with_bits(&m, s.encoding).unwrap();
            assert_eq!((s.bytes, s.total_bits), (bytes.len() as u64, bits), "{}", s.encoding);
            assert_eq!(s.parts.total(), s.total_bits, "{}: the parts add up to the total", s.encoding);
            for t in &s.tensors {
                assert_eq!(t.bits.total(), t.total, "{} {}: the parts add up to the tensor's bits", s.encoding, t.name);
            }
            assert_eq!(s.tensors.iter().map(|t| t.total).sum::<u64>(), s.total_bits);
            assert_eq!(s.ratio, 32.0 * 930.0 / s.total_bits as f64);
            assert_eq!(s.bits_per_param, s.total_bits as f64 / 930.0);
        }
        // the parts each encoding has: fillers only relative, tables only entropy
        assert_eq!((all[0].parts.fillers, all[0].parts.tables), (0, 0));
        assert_eq!(all[2].parts.fillers, 0);
        assert!(all[2].parts.tables > 0);
        for e in Encoding::ALL {
            assert_eq!(sizes_with(&m, e, &account_with(&m, e).unwrap()).unwrap(), all);
        }
        let json = serde_json::to_value(&all[2]).unwrap();
        assert_eq!((json["encoding"].as_str(), json["reference"].as_bool()), (Some("entropy"), Some(false)));
        assert_eq!(serde_json::from_str::<Encoding>("\"relative\"").unwrap(), Encoding::Relative);
    }

    #[test]
    fn every_encoding_round_trips_and_its_size_is_its_accounting() {
        let w: Vec<f32> = (0..600).map(|i| if i % 7 == 0 { (i as f32).sin() } else { 0.0 }).collect();
        let widths: Vec<u8> = (0..600).map(|i| [4, 6, 8, 32][i % 4]).collect();
        let m = quantize_model("n", &[ParamTensor::new("t", vec![20, 30], w)], &widths);
        for e in Encoding::ALL {
            let bytes = encode_with(&m, e).unwrap();
            let r = account_with(&m, e).unwrap();
            assert_eq!(bytes.len() as u64, r.bytes, "{e}");
            assert_eq!(decode(&bytes).unwrap(), m, "{e}");
            assert_eq!(encoding_of(&bytes), Ok(e));
        }
    }
}
