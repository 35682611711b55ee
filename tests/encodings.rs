//! The three `.agq` encodings on the committed AlexNet (CIFAR-10) snapshots: quantized with
//! the defaults, the network round trips bit for bit in each encoding, each file's bitstream
//! is its accounting to the bit and its length the accounted bytes, and damaged files are
//! typed errors.
#![cfg(not(target_arch = "wasm32"))]

use agq::quant::codec::{CodecError, decode};
use agq::quant::encoding::{Encoding, account_with, encode_with_bits};
use agq::quant::layout::header_len;
use agq::choices::Method;
use agq::quantize::{QuantizeRequest, quantize_snapshot};
use agq::snapshot::Snapshot;

#[test]
fn alexnet_round_trips_in_every_encoding_and_each_is_smaller_than_the_last() {
    let bytes = std::fs::read("www/snapshots/alexnet-itq.safetensors").unwrap();
    let snapshot = Snapshot::from_bytes(&bytes).unwrap();
    let model = quantize_snapshot(&snapshot, &QuantizeRequest::default()).unwrap().compressed.model;
    let mut sizes = Vec::new();
    for e in Encoding::ALL {
        let (file, bits) = encode_with_bits(&model, e).unwrap();
        let report = account_with(&model, e).unwrap();
        assert_eq!(bits, report.total_bits, "{e}");
        assert_eq!(file.len() as u64, header_len(&model) as u64 + bits.div_ceil(8), "{e}");
        assert_eq!(report.bytes, file.len() as u64, "{e}");
        assert_eq!(decode(&file).unwrap(), model, "{e}");
        // damaged: cut anywhere, or one byte of the bitstream changed
        for n in [0, 5, header_len(&model), file.len() / 2, file.len() - 1] {
            assert!(decode(&file[..n]).is_err(), "{e}: prefix {n}");
        }
        for at in (header_len(&model)..file.len()).step_by(file.len() / 7) {
            let mut damaged = file.clone();
            damaged[at] ^= 0x5a;
            match decode(&damaged) {
                Err(CodecError::InvalidModel { .. }) => panic!("{e}: not a decode error"),
                Err(_) => {}
                Ok(m) => assert_ne!(m, model, "{e}: byte {at}"),
            }
        }
        sizes.push(report.total_bits);
    }
    assert!(sizes[0] > sizes[1] && sizes[1] > sizes[2], "{sizes:?}");
}

/// Rows (outermost dimension) kept of each tensor by [`small_alexnet`].
const SMALL_ROWS: usize = 4;

/// The committed AlexNet ITQ snapshot with the first [`SMALL_ROWS`] rows of each tensor:
/// every layer's real weights, importances and ITQ widths, 39 thousand values of 2.5
/// million, so the debug build quantizes it in well under a second.
fn small_alexnet() -> Snapshot {
    let bytes = std::fs::read("www/snapshots/alexnet-itq.safetensors").unwrap();
    let mut snapshot = Snapshot::from_bytes(&bytes).unwrap();
    for p in &mut snapshot.params {
        let rows = p.shape[0].min(SMALL_ROWS);
        let len = p.len() / p.shape[0] * rows;
        p.shape[0] = rows;
        p.weight.truncate(len);
        p.importance.truncate(len);
        if let Some(w) = &mut p.width {
            w.truncate(len);
        }
        if let Some(t) = &mut p.taylor {
            t.truncate(len);
        }
    }
    snapshot
}

/// The report `quantize_snapshot` returns sizes its own file: the accounting's `bytes` is the
/// `.agq` file's length (and its bits the bitstream's) in every encoding, on a slice of the
/// AlexNet snapshot (PTQ without ITQ widths, combined with them).
#[test]
fn the_accounted_size_of_every_encoding_is_the_files_length() {
    let snapshot = small_alexnet();
    for method in [Method::Ptq, Method::Combined] {
        for e in Encoding::ALL {
            let request = QuantizeRequest { method, encoding: e, ..Default::default() };
            let c = quantize_snapshot(&snapshot, &request).unwrap().compressed;
            assert_eq!(c.report.bytes, c.bytes.len() as u64, "{method} {e}");
            let (_, bits) = encode_with_bits(&c.model, e).unwrap();
            assert_eq!(c.report.total_bits, bits, "{method} {e}");
        }
    }
}
