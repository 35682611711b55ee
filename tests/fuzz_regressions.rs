//! Inputs found by `make fuzz` (examples/fuzz, docs/FUZZ.md), reduced, that once made a
//! door panic. Each must now give a typed error (or its documented result) instead.

use agq::quant::codec::{CodecError, DEFAULT_MAX_PARAMS, decode};

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
