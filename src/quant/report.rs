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
