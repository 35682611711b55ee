use super::*;
use crate::quant::codec::decode;
use crate::quant::encoding::{Encoding, account_with, encode_with};
use crate::quant::layout::header_len;
use crate::quant::model::{QuantModel, quantize_model};
use crate::quant::tensor::ParamTensor;

fn model(shape: Vec<usize>, weight: impl Fn(usize) -> f32, width: impl Fn(usize) -> u8) -> QuantModel {
    let n: usize = shape.iter().product();
    let p = ParamTensor::new("t", shape, (0..n).map(&weight).collect());
    quantize_model("n", &[p], &(0..n).map(width).collect::<Vec<_>>())
}

fn round_trip(m: &QuantModel) -> TensorBits {
    let bytes = encode_with(m, Encoding::Entropy).unwrap();
    let r = account_with(m, Encoding::Entropy).unwrap();
    assert_eq!(bytes.len() as u64, header_len(m) as u64 + r.total_bits.div_ceil(8));
    assert_eq!(decode(&bytes).unwrap(), *m);
    r.tensors[0].bits
}

#[test]
fn a_dense_tensor_of_one_width_spends_no_bits_on_indices_or_tags() {
    let m = model(vec![16, 64], |i| (i % 7) as f32 + 1.0, |_| 6);
    let b = round_trip(&m);
    // the gap stream is one symbol (0): its table only; no tag stream with one width
    assert_eq!((b.indices, b.tags), (0, 0));
    assert!(b.values < 1024 * 6, "{b:?}");
}

#[test]
fn skewed_tags_and_gaps_cost_less_than_their_raw_fields() {
    // 1 in 3 columns stored; 1 in 20 stored values at width 8, the rest at width 4
    let m = model(vec![40, 90], |i| if i % 3 == 0 { 0.5 + (i % 7) as f32 / 10.0 } else { 0.0 }, |i| if i % 60 == 0 { 8 } else { 4 });
    let nnz = m.tensors[0].nnz() as u64;
    let b = round_trip(&m);
    assert!(b.tags < nnz / 2, "{b:?}");
    let csr = account_with(&m, Encoding::Csr).unwrap().tensors[0].bits;
    assert!(b.indices + b.tables < csr.indices, "{b:?} vs {csr:?}");
}

#[test]
fn floats_fillers_and_empty_rows_round_trip() {
    let m = model(vec![7, 300], |i| if i % 97 == 0 || i % 131 == 5 { (i as f32).sin() * 3.0 } else { 0.0 }, |i| [32, 16, 2, 9][i % 4]);
    round_trip(&m);
    let empty = model(vec![3, 0], |_| 1.0, |_| 8);
    round_trip(&empty);
    let pruned = model(vec![3, 4], |_| 1.0, |_| 0);
    assert_eq!(round_trip(&pruned).total(), 64);
}

#[test]
fn every_truncation_and_byte_flip_is_an_error_or_the_same_file() {
    let m = model(vec![5, 50], |i| if i % 4 == 1 { (i as f32).cos() } else { 0.0 }, |i| [4, 6, 32][i % 3]);
    let bytes = encode_with(&m, Encoding::Entropy).unwrap();
    for n in 0..bytes.len() {
        assert!(decode(&bytes[..n]).is_err(), "prefix {n}");
    }
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[at] ^= 1 << bit;
            // a flip in a name or a fractional length gives another valid file
            if let Ok(back) = decode(&b) {
                assert_eq!(encode_with(&back, Encoding::Entropy).unwrap(), b, "flip {at}.{bit}");
                assert_ne!(back, m);
            }
        }
    }
}

#[test]
fn the_gap_width_follows_the_density() {
    let dense: Vec<(u64, u64)> = vec![(0, 1000), (1, 30)];
    let sparse: Vec<(u64, u64)> = (0..200).map(|d| (d, 10)).collect();
    assert!(gap_width(&dense) < gap_width(&sparse), "{} {}", gap_width(&dense), gap_width(&sparse));
}
