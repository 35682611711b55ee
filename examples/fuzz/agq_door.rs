//! The `.agq` door: a quantized model file read by the decoder, in each encoding (CSR,
//! relative, entropy). Properties checked beside "no panic": a file that decodes is the
//! canonical file of its model (`encode_with(decode(b), encoding) == b`, as the decoder
//! promises), and its accounting gives its size.
//!
//! The decoder runs with a parameter limit of [`FUZZ_MAX_PARAMS`] instead of the default
//! 2^27 (`decode` is `decode_with_limit(b, 2^27)`): a 30-byte file may legitimately hold a
//! fully pruned tensor of 2^27 parameters, which decodes to 640 MB; the smaller limit keeps
//! the run fast and takes the same path.

use crate::Door;
use crate::mutate::{INTERESTING, Pick, mutate_bytes, number, random_bytes};
use agq::quant::codec::{CodecError, decode_with_limit};
use agq::quant::encoding::{Encoding, account_with, encode_with, encoding_of};
use agq::quant::model::{QuantModel, quantize_model};
use agq::quant::tensor::ParamTensor;
use agq::rng::SplitMix64;

/// The largest model the fuzzed decoder accepts.
pub const FUZZ_MAX_PARAMS: u64 = 1 << 16;

const WIDTHS: [u8; 17] = [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 32];

fn weights(rng: &mut SplitMix64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.index(16) {
            0 => 0.0,
            1 => *rng.pick(&[1e-30, -3e38, 65504.0, f32::MIN_POSITIVE, -1e-45]),
            _ => (rng.next_f32() * 2.0 - 1.0) * [0.01, 0.1, 1.0, 8.0][rng.index(4)],
        })
        .collect()
}

/// A random small model: 1 to 4 tensors of up to 4 dimensions, widths drawn from a few
/// per tensor (pruned more often), some tensors wide and sparse.
fn random_model(rng: &mut SplitMix64) -> QuantModel {
    let mut params = Vec::new();
    let mut widths = Vec::new();
    for t in 0..1 + rng.index(4) {
        let shape: Vec<usize> = match rng.index(6) {
            0 => vec![],
            1 => vec![rng.range(0, 40) as usize],
            2 => vec![1 + rng.index(3), rng.range(1, 400) as usize],
            3 => vec![1 + rng.index(4), 1 + rng.index(3), 1 + rng.index(3), 1 + rng.index(3)],
            _ => vec![rng.range(0, 12) as usize, rng.range(1, 24) as usize],
        };
        let n: usize = shape.iter().product();
        let choices: Vec<u8> = (0..1 + rng.index(5)).map(|_| *rng.pick(&WIDTHS)).collect();
        let prune = [0, 1, 2, 8][rng.index(4)];
        widths.extend((0..n).map(|_| if rng.index(10) < prune { 0 } else { *rng.pick(&choices) }));
        params.push(ParamTensor::new(format!("t{t}.weight"), shape, weights(rng, n)));
    }
    let net = *rng.pick(&["lenet300", "n", "", "very-long-network-name"]);
    quantize_model(net, &params, &widths)
}

/// Fixed seed models: mixed widths with float, empty and fully pruned tensors, a sparse
/// wide row (relative fillers), a large skewed tensor (ANS-coded streams), one width only.
fn seed_models() -> Vec<QuantModel> {
    let a = ParamTensor::new("fc.weight", vec![3, 4], (0..12).map(|i| (i as f32 - 5.5) * 0.3).collect());
    let b = ParamTensor::new("fc.bias", vec![3], vec![0.25, -1e-7, 7.0]);
    let mixed = quantize_model("tiny", &[a, b], &[0, 4, 8, 32, 4, 4, 0, 16, 2, 2, 8, 8, 32, 32, 6]);
    let e = ParamTensor::new("e", vec![0, 5], vec![]);
    let p = ParamTensor::new("p", vec![7, 1], vec![1.0; 7]);
    let pruned = quantize_model("n", &[e, p], &[0; 7]);
    let mut row = vec![0.0f32; 300];
    for (c, v) in [(0, 1.0), (1, -1.0), (9, 0.5), (150, 0.25), (299, -0.75)] {
        row[c] = v;
    }
    let sparse = quantize_model("sparse", &[ParamTensor::new("row", vec![1, 300], row)], &[4; 300]);
    let mut rng = SplitMix64::new(11);
    let big: Vec<f32> = (0..512).map(|_| (rng.next_f32() - 0.5) * (rng.next_f32() * rng.next_f32())).collect();
    let big_widths: Vec<u8> = (0..512).map(|i| [0, 0, 0, 4, 4, 4, 4, 8, 0, 4, 2, 32][i % 12]).collect();
    let skewed = quantize_model("lenet5", &[ParamTensor::new("conv.weight", vec![8, 4, 4, 4], big)], &big_widths);
    let scalar = ParamTensor::new("s", vec![], vec![-2.5]);
    let one = ParamTensor::new("one", vec![4, 6], (0..24).map(|i| (i % 5) as f32 - 2.0).collect());
    let single = quantize_model("x", &[scalar, one], &[8; 25]);
    vec![mixed, pruned, sparse, skewed, single]
}

/// The header of a file, parsed into fields that the mutator changes and writes back.
#[derive(Clone, Debug)]
struct Header {
    version: u8,
    net: Vec<u8>,
    count: Option<u16>,
    tensors: Vec<TensorHead>,
    body: Vec<u8>,
}

#[derive(Clone, Debug)]
struct TensorHead {
    name: Vec<u8>,
    dims: Vec<u64>,
    nw: u8,
    nnz: u64,
    /// write the dims and nnz as overlong varints
    overlong: bool,
}

fn varint(out: &mut Vec<u8>, mut v: u64, overlong: bool) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    if overlong {
        out.push(v as u8 | 0x80);
        out.push(0);
    } else {
        out.push(v as u8);
    }
}

fn read_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

impl Header {
    fn parse(b: &[u8]) -> Option<Header> {
        let mut pos = 4;
        let version = *b.get(pos)?;
        pos += 1;
        let nl = *b.get(pos)? as usize;
        let net = b.get(pos + 1..pos + 1 + nl)?.to_vec();
        pos += 1 + nl;
        let count = u16::from_le_bytes([*b.get(pos)?, *b.get(pos + 1)?]);
        pos += 2;
        let mut tensors = Vec::new();
        for _ in 0..count {
            let nl = *b.get(pos)? as usize;
            let name = b.get(pos + 1..pos + 1 + nl)?.to_vec();
            pos += 1 + nl;
            let ndim = *b.get(pos)?;
            pos += 1;
            let dims = (0..ndim).map(|_| read_varint(b, &mut pos)).collect::<Option<Vec<_>>>()?;
            let nw = *b.get(pos)?;
            pos += 1;
            let nnz = read_varint(b, &mut pos)?;
            tensors.push(TensorHead { name, dims, nw, nnz, overlong: false });
        }
        Some(Header { version, net, count: None, tensors, body: b.get(pos..)?.to_vec() })
    }

    fn write(&self) -> Vec<u8> {
        let mut out = b"AGQ1".to_vec();
        out.push(self.version);
        out.push(self.net.len() as u8);
        out.extend_from_slice(&self.net[..self.net.len().min(255)]);
        out.extend_from_slice(&self.count.unwrap_or(self.tensors.len() as u16).to_le_bytes());
        for t in &self.tensors {
            out.push(t.name.len() as u8);
            out.extend_from_slice(&t.name[..t.name.len().min(255)]);
            out.push(t.dims.len() as u8);
            for &d in &t.dims {
                varint(&mut out, d, t.overlong);
            }
            out.push(t.nw);
            varint(&mut out, t.nnz, t.overlong);
        }
        out.extend_from_slice(&self.body);
        out
    }
}

/// Sets `n` bits at bit `at` of `body` (MSB first) to `value`.
fn set_bits(body: &mut [u8], at: usize, n: usize, value: u64) {
    for k in 0..n {
        let bit = at + k;
        if bit / 8 >= body.len() {
            return;
        }
        let on = value >> (n - 1 - k) & 1 == 1;
        let mask = 0x80u8 >> (bit % 8);
        if on { body[bit / 8] |= mask } else { body[bit / 8] &= !mask }
    }
}

/// One structure-aware mutation of a parsed file.
fn mutate_header(rng: &mut SplitMix64, h: &mut Header, donors: &[Vec<u8>]) {
    let n = h.tensors.len();
    match rng.index(16) {
        0 => {
            let any = rng.next_u64() as u8;
            h.version = *rng.pick(&[0x01, 0x11, 0x21, 0x31, 0x00, 0x02, 0x10, 0xff, any]);
        }
        1 => {
            h.net = match rng.index(4) {
                0 => Vec::new(),
                1 => vec![b'n'; 255],
                2 => vec![0xff, 0xfe],
                _ => random_bytes(rng, 12),
            }
        }
        2 => h.count = Some(*rng.pick(&[0, 1, 2, (n as u16).wrapping_add(1), (n as u16).wrapping_sub(1), u16::MAX])),
        3 if n > 0 => {
            let i = rng.index(n);
            match rng.index(3) {
                0 => {
                    h.tensors.remove(i);
                }
                1 => {
                    let t = h.tensors[i].clone();
                    h.tensors.insert(rng.index(n + 1), t);
                }
                _ => h.tensors.swap(i, rng.index(n)),
            }
        }
        4 if n > 0 => {
            let t = &mut h.tensors[rng.index(n)];
            t.name = match rng.index(3) {
                0 => vec![b'x'; 255],
                1 => vec![0xc3],
                _ => random_bytes(rng, 8),
            };
        }
        5..=7 if n > 0 => {
            let t = &mut h.tensors[rng.index(n)];
            match rng.index(5) {
                0 => t.dims.push(*rng.pick(&INTERESTING)),
                1 => {
                    t.dims.pop();
                }
                2 if !t.dims.is_empty() => {
                    let d = rng.index(t.dims.len());
                    t.dims[d] = if rng.one_in(2) { *rng.pick(&INTERESTING) } else { t.dims[d].wrapping_add(rng.range(0, 2)).wrapping_sub(1) };
                }
                3 => t.dims = (0..rng.index(300)).map(|_| rng.range(0, 2)).collect(),
                _ => t.dims.reverse(),
            }
        }
        8 | 9 if n > 0 => {
            let t = &mut h.tensors[rng.index(n)];
            match rng.index(4) {
                0 => t.nw = *rng.pick(&[0, 1, 2, 3, 15, 16, 17, 255]),
                1 => t.nw = t.nw.wrapping_add(1),
                2 => t.nnz = *rng.pick(&INTERESTING),
                _ => t.nnz = t.nnz.wrapping_add(rng.range(0, 2)).wrapping_sub(1),
            }
        }
        10 if n > 0 => h.tensors[rng.index(n)].overlong = true,
        11 => {
            // a tensor's stream header (rows, cols: 32 bits each at the start of the first
            // tensor's stream) or a field near it
            let field = rng.index(2) * 32;
            let value = if rng.one_in(2) { *rng.pick(&INTERESTING) } else { number(rng) };
            set_bits(&mut h.body, field, 32, value);
        }
        12 => {
            // bits near the start of the stream: meta, row pointers, the gap width, tables
            if !h.body.is_empty() {
                let bit = 64 + rng.index((h.body.len() * 8).saturating_sub(64).clamp(1, 200));
                let len = 1 + rng.index(12);
                let value = rng.next_u64();
                set_bits(&mut h.body, bit, len, value);
            }
        }
        13 => match rng.index(3) {
            0 => h.body.truncate(rng.index(h.body.len() + 1)),
            1 => h.body.extend(random_bytes(rng, 16)),
            _ => h.body.extend(vec![0u8; rng.range(1, 8) as usize]),
        },
        14 => {
            // another file's bitstream under this header
            if let Some(other) = Header::parse(rng.pick(donors).as_slice()) {
                h.body = other.body;
            }
        }
        _ => mutate_bytes(rng, &mut h.body, 3, 16, &[]),
    }
}

pub fn door() -> Door {
    let mut seeds = Vec::new();
    for m in seed_models() {
        for e in Encoding::ALL {
            let bytes = encode_with(&m, e).expect("a seed model encodes");
            assert!(decode_with_limit(&bytes, FUZZ_MAX_PARAMS).as_ref() == Ok(&m), "a seed file does not decode");
            seeds.push(bytes);
        }
    }
    Door {
        name: "agq",
        generate: Box::new(move |rng| {
            let mut base = if rng.one_in(8) {
                encode_with(&random_model(rng), *rng.pick(&Encoding::ALL)).unwrap_or_default()
            } else {
                rng.pick(&seeds).clone()
            };
            match rng.index(16) {
                0 => {
                    let mut b = random_bytes(rng, 200);
                    if rng.one_in(2) {
                        b.splice(0..0, b"AGQ1".iter().copied().chain([*rng.pick(&[0x01, 0x11, 0x21])]));
                    }
                    b
                }
                1 => base, // a valid file (random models mostly)
                2..=4 => {
                    let hot = base.len().min(64);
                    mutate_bytes(rng, &mut base, 4, hot, &seeds);
                    base
                }
                _ => {
                    let Some(mut h) = Header::parse(&base) else { return base };
                    for _ in 0..1 + rng.index(3) {
                        mutate_header(rng, &mut h, &seeds);
                    }
                    let mut b = h.write();
                    if rng.one_in(8) {
                        mutate_bytes(rng, &mut b, 2, 0, &[]);
                    }
                    b
                }
            }
        }),
        run,
    }
}

/// The variant name of an error: `Truncated` for `Truncated { tensor: 0 }`.
fn variant(e: &CodecError) -> String {
    let d = format!("{e:?}");
    d.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("?").to_string()
}

fn run(bytes: &[u8]) -> String {
    match decode_with_limit(bytes, FUZZ_MAX_PARAMS) {
        Err(e) => variant(&e),
        Ok(model) => {
            let encoding = encoding_of(bytes).expect("a decoded file has an encoding");
            let again = encode_with(&model, encoding);
            assert!(again.as_deref() == Ok(bytes), "a decoded file is not the canonical file of its model ({encoding})");
            let report = account_with(&model, encoding).expect("a decoded model accounts");
            assert_eq!(report.bytes, bytes.len() as u64, "the accounting of a decoded file is not its size ({encoding})");
            format!("ok {encoding}")
        }
    }
}
