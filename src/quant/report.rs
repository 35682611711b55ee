//! The compression report (serde JSON).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bits of one tensor by part, in the layout of the file's encoding (see `docs/FORMAT.md`).
/// The formulas below are CSR's; the relative-index and entropy-coded encodings fill the
/// same parts with their own fields (FORMAT.md, "Encodings").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TensorBits {
    /// Sum over stored entries of their width (entropy: raw and coded value bits).
    pub values: u64,
    /// `nnz * ceil(log2(cols))` (relative: `nnz * g`; entropy: the coded gap stream).
    pub indices: u64,
    /// `nnz * ceil(log2(W))`, W = distinct stored widths (entropy: the coded tag stream).
    pub tags: u64,
    /// `(rows + 1) * ceil(log2(nnz + 1))`.
    pub row_ptr: u64,
    /// `13 * W` (5 bits width + 8 bits fractional length per width; relative and entropy:
    /// plus 4 bits for the gap width `g` when nnz > 0).
    pub meta: u64,
    /// 64 (rows and cols, 32 bits each).
    pub header: u64,
    /// Relative indices: the filler entries, `g` bits each (0 in CSR and entropy).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fillers: u64,
    /// Entropy coding: stream modes, code tables and coded stream lengths (0 otherwise).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tables: u64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

impl TensorBits {
    pub fn total(&self) -> u64 {
        self.values + self.indices + self.tags + self.row_ptr + self.meta + self.header + self.fillers + self.tables
    }
}

/// One tensor's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorReport {
    pub name: String,
    pub rows: u64,
    pub cols: u64,
    /// Values in the tensor (`rows * cols`).
    pub params: u64,
    /// Stored (nonzero) values.
    pub nnz: u64,
    pub bits: TensorBits,
    /// `bits.total()`.
    pub total: u64,
}

/// Storage accounting of a quantized model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub net: String,
    /// Parameters (every weight and bias).
    pub params: u64,
    /// Stored (nonzero) values.
    pub nnz: u64,
    /// Sum of the tensors' totals (the file header is not counted).
    pub total_bits: u64,
    /// `32 * params / total_bits` (0 when there are no bits).
    pub ratio: f64,
    /// Size of the `.agq` file in bytes: file header + `ceil(total_bits / 8)`.
    pub bytes: u64,
    /// Parameters per effective width (0 counts pruned and rounded-to-zero values).
    pub widths_histogram: BTreeMap<u8, u64>,
    pub tensors: Vec<TensorReport>,
}

/// The size of a quantized network in one encoding: what the page shows side by side
/// (`docs/FORMAT.md` section 5 for the parts of each encoding).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EncodingSize {
    /// `csr`, `relative` or `entropy`.
    pub encoding: super::encoding::Encoding,
    /// True for CSR: the thesis's accounting, the reference the others are compared with.
    pub reference: bool,
    /// Parameters (every weight and bias).
    pub params: u64,
    /// Bits of the tensors: the bitstream before the padding (the byte header not counted).
    pub total_bits: u64,
    /// `total_bits / params`, in bits per parameter (0 without parameters).
    pub bits_per_param: f64,
    /// `32 * params / total_bits` (0 without bits).
    pub ratio: f64,
    /// Size of the `.agq` file in this encoding, in bytes (header + `ceil(total_bits / 8)`).
    pub bytes: u64,
    /// Bits by part summed over the tensors; `parts.total() == total_bits`.
    pub parts: TensorBits,
    /// Per tensor, in file order: its bits by part and their total.
    pub tensors: Vec<TensorReport>,
}

impl EncodingSize {
    /// The size `report` (the accounting of the model in `encoding`) gives.
    pub fn of(encoding: super::encoding::Encoding, report: &Report) -> Self {
        let mut parts = TensorBits::default();
        for t in &report.tensors {
            let b = t.bits;
            parts.values += b.values;
            parts.indices += b.indices;
            parts.tags += b.tags;
            parts.row_ptr += b.row_ptr;
            parts.meta += b.meta;
            parts.header += b.header;
            parts.fillers += b.fillers;
            parts.tables += b.tables;
        }
        EncodingSize {
            encoding,
            reference: encoding == super::encoding::Encoding::Csr,
            params: report.params,
            total_bits: report.total_bits,
            bits_per_param: if report.params == 0 { 0.0 } else { report.total_bits as f64 / report.params as f64 },
            ratio: report.ratio,
            bytes: report.bytes,
            parts,
            tensors: report.tensors.clone(),
        }
    }
}
