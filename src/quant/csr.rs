//! Exact CSR storage accounting (METHOD.md "Storage accounting (CSR)").
//!
//! Per tensor (a `rows x cols` matrix): every stored entry costs its width `b` + `ceil(log2
//! cols)` index bits + `ceil(log2 W)` tag bits (W = distinct stored widths; no tag when
//! W <= 1); row pointers `(rows + 1) * ceil(log2(nnz + 1))`; 13 bits per stored width;
//! a 64-bit header. `ceil(log2 1) = ceil(log2 0) = 0`. The formulas are
//! [`super::layout::bits_from_counts`], which the writer's sizes come from too.

use super::layout::{bits_from_counts, file_len, header_len, width_counts};
use super::model::{QuantModel, QuantTensor};
pub use super::report::TensorBits;
use super::report::{Report, TensorReport};
use std::collections::BTreeMap;

/// Bits of one tensor, and its per-width counts (index = width, 0..=32).
pub fn tensor_bits(t: &QuantTensor) -> (TensorBits, [u64; 33]) {
    let count = width_counts(&t.widths);
    (
        bits_from_counts(t.rows() as u64, t.cols() as u64, &count),
        count,
    )
}

/// The storage report of `model` (`bytes` is the size [`super::codec::encode`] writes).
pub fn account(model: &QuantModel) -> Report {
    report_from(model, model.tensors.iter().map(|t| {
        let (bits, count) = tensor_bits(t);
        (count, bits)
    }))
}

/// The report of `model` from each tensor's values per width (index = width, 0 = not
/// stored) and bits by part, in tensor order (any encoding).
pub fn report_from(model: &QuantModel, parts: impl IntoIterator<Item = ([u64; 33], TensorBits)>) -> Report {
    let mut hist = [0u64; 33];
    let tensors = model
        .tensors
        .iter()
        .zip(parts)
        .map(|(t, (count, bits))| {
            for (h, c) in hist.iter_mut().zip(count) {
                *h += c;
            }
            TensorReport {
                name: t.name.clone(),
                rows: t.rows() as u64,
                cols: t.cols() as u64,
                params: t.len() as u64,
                nnz: count[1..].iter().sum(),
                bits,
                total: bits.total(),
            }
        })
        .collect();
    report_of(&model.net, tensors, &hist, header_len(model))
}

/// The report of `net` from its tensors' lines, the per-width value counts over all tensors
/// (index = width, 0 = not stored) and the `.agq` file header's length in bytes.
pub fn report_of(net: &str, tensors: Vec<TensorReport>, histogram: &[u64; 33], header_bytes: usize) -> Report {
    let params: u64 = tensors.iter().map(|t| t.params).sum();
    let total_bits: u64 = tensors.iter().map(|t| t.total).sum();
    Report {
        net: net.to_string(),
        params,
        nnz: tensors.iter().map(|t| t.nnz).sum(),
        total_bits,
        ratio: if total_bits == 0 { 0.0 } else { 32.0 * params as f64 / total_bits as f64 },
        bytes: file_len(header_bytes, total_bits),
        widths_histogram: (0..=32u8)
            .filter(|&w| histogram[w as usize] > 0)
            .map(|w| (w, histogram[w as usize]))
            .collect::<BTreeMap<_, _>>(),
        tensors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::model::quantize_model;
    use crate::quant::tensor::ParamTensor;

    #[test]
    fn every_part_of_the_csr_layout_is_counted() {
        // 3 x 5 matrix, widths 4 and 8 stored: 4 entries
        let w = vec![
            1.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0,
        ];
        let widths = [4, 0, 0, 4, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8];
        let m = quantize_model("n", &[ParamTensor::new("t", vec![3, 5], w)], &widths);
        let r = account(&m);
        let b = r.tensors[0].bits;
        assert_eq!(
            b,
            TensorBits {
                values: 24,
                indices: 12,
                tags: 4,
                row_ptr: 12,
                meta: 26,
                header: 64,
                ..Default::default()
            }
        );
        assert_eq!((r.total_bits, r.nnz, r.params), (142, 4, 15));
        assert!((r.ratio - 32.0 * 15.0 / 142.0).abs() < 1e-12);
    }

    #[test]
    fn a_single_width_needs_no_tag() {
        let m = quantize_model(
            "n",
            &[ParamTensor::new("b", vec![4], vec![1.0, 2.0, 3.0, 4.0])],
            &[8; 4],
        );
        let b = account(&m).tensors[0].bits;
        assert_eq!(
            b,
            TensorBits {
                values: 32,
                indices: 8,
                tags: 0,
                row_ptr: 6,
                meta: 13,
                header: 64,
                ..Default::default()
            }
        );
    }

    #[test]
    fn a_fully_pruned_tensor_costs_only_its_header() {
        let m = quantize_model(
            "n",
            &[ParamTensor::new("b", vec![2, 3], vec![1.0; 6])],
            &[0; 6],
        );
        let r = account(&m);
        assert_eq!(r.tensors[0].total, 64);
        assert_eq!(r.widths_histogram, BTreeMap::from([(0, 6)]));
    }

    #[test]
    fn the_histogram_counts_effective_widths() {
        let m = quantize_model(
            "n",
            &[ParamTensor::new("b", vec![3], vec![1.0, 1e-6, 2.0])],
            &[32, 4, 4],
        );
        assert_eq!(
            account(&m).widths_histogram,
            BTreeMap::from([(0, 1), (4, 1), (32, 1)])
        );
    }

    #[test]
    fn the_report_round_trips_through_json() {
        let m = quantize_model(
            "n",
            &[ParamTensor::new("b", vec![3], vec![1.0, 1e-6, 2.0])],
            &[32, 4, 4],
        );
        let r = account(&m);
        let back: Report = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
