//! Inputs found by `make fuzz` (examples/fuzz, docs/FUZZ.md), reduced, that once made a
//! door panic. Each must now give a typed error (or its documented result) instead.

use agq::opened_snapshot::{OpenError, OpenedSnapshot};
use agq::quant::codec::{CodecError, DEFAULT_MAX_PARAMS, decode};
use agq::snapshot::{Snapshot, SnapshotError};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// `.agq`: a tensor of shape `[0, 5, 2^63]` has no parameter, but the columns of its 2-D
/// view (`5 * 2^63`) overflowed while the decoder checked them.
#[test]
fn agq_a_zero_first_dimension_with_overflowing_columns_is_too_large() {
    let bytes = unhex("4147513101016e0200016503000580808080808080808001");
    assert_eq!(decode(&bytes), Err(CodecError::TooLarge { tensor: 0 }));
}

/// `.agq`: a header that claims a 4 GB tensor (2^32 parameters, every one pruned) is refused
/// before anything is allocated.
#[test]
fn agq_a_header_claiming_four_gigabytes_is_refused_before_allocating() {
    // AGQ1, CSR, net "n", 1 tensor "t" of shape [2^16, 2^16], no widths, nnz 0
    let mut bytes = b"AGQ1\x01\x01n\x01\x00\x01t\x02".to_vec();
    bytes.extend([0x80, 0x80, 0x04, 0x80, 0x80, 0x04, 0x00, 0x00]);
    assert!((1u64 << 32) > DEFAULT_MAX_PARAMS);
    assert_eq!(decode(&bytes), Err(CodecError::TooLarge { tensor: 0 }));
}

/// A snapshot file of one tensor `x` of `shape` (no values when a dimension is 0) and one of
/// a single value `y` with ITQ width 8.
fn snapshot_with_shape(shape: &[u64]) -> Vec<u8> {
    let header = serde_json::json!({
        "__metadata__": {"agq.format": "agq-snapshot/1", "agq.net": "n"},
        "weight/x": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]},
        "importance/x": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]},
        "weight/y": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
        "importance/y": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
        "width/y": {"dtype": "U8", "shape": [1], "data_offsets": [8, 9]},
    })
    .to_string();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(0.5f32.to_le_bytes());
    bytes.extend(0.25f32.to_le_bytes());
    bytes.push(8);
    bytes
}

/// Snapshot: a tensor of shape `[0, 2^32, 2^32]` has no value (safetensors accepts it), but
/// the columns of its 2-D view overflowed when the page quantized it.
#[test]
fn snapshot_a_zero_dimension_with_overflowing_columns_is_refused() {
    let bytes = snapshot_with_shape(&[0, 1 << 32, 1 << 32]);
    assert!(matches!(Snapshot::from_bytes(&bytes), Err(SnapshotError::ShapeTooLarge { .. })));
    match OpenedSnapshot::from_bytes(&bytes) {
        Err(e) => assert!(matches!(e, OpenError::Invalid(SnapshotError::ShapeTooLarge { .. })), "{e}"),
        Ok(_) => panic!("a shape whose columns overflow was opened"),
    }
}

/// Snapshot: a tensor of shape `[0, 2^33]` was opened, accounted (as if it could be written)
/// and then could not be written: an `.agq` file holds fewer than 2^32 columns.
#[test]
fn snapshot_a_tensor_an_agq_file_cannot_hold_is_refused_when_opened() {
    for shape in [[0, 1 << 33], [1 << 33, 0]] {
        let bytes = snapshot_with_shape(&shape);
        assert!(Snapshot::from_bytes(&bytes).is_ok(), "a valid snapshot");
        match OpenedSnapshot::from_bytes(&bytes) {
            Err(e) => assert!(matches!(e, OpenError::RowsOrColumns { .. }), "{e}"),
            Ok(_) => panic!("{shape:?} was opened, though no .agq file can hold it"),
        }
    }
}
