//! CIFAR-10 binary records, gzipped or raw: each record is 1 label byte then
//! 3072 pixel bytes (1024 red, 1024 green, 1024 blue; each plane 32x32
//! row-major). No header; any number of records.

use super::{DataError, Dataset, gz::maybe_gunzip, normalize_into};

/// Bytes per record: 1 label + 3 x 32 x 32 pixels.
pub const RECORD_BYTES: usize = 1 + 3 * 32 * 32;
/// Per-channel (R, G, B) mean of the training set after scaling to `[0,1]`.
pub const MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
/// Per-channel (R, G, B) standard deviation after scaling to `[0,1]`.
pub const STD: [f32; 3] = [0.2470, 0.2435, 0.2616];

/// Parses one file of CIFAR-10 records into a normalized `n x 3 x 32 x 32` set.
pub fn load(bytes: &[u8]) -> Result<Dataset, DataError> {
    load_batches(&[bytes])
}

/// Parses and concatenates several record files (e.g. `data_batch_1..5`).
pub fn load_batches(files: &[&[u8]]) -> Result<Dataset, DataError> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for bytes in files {
        let raw = maybe_gunzip(bytes)?;
        if raw.len() % RECORD_BYTES != 0 {
            let expected = raw.len().div_ceil(RECORD_BYTES) * RECORD_BYTES;
            return Err(DataError::Truncated { what: "CIFAR-10 records", expected, found: raw.len() });
        }
        images.reserve(raw.len());
        for rec in raw.chunks_exact(RECORD_BYTES) {
            if rec[0] >= 10 {
                let index = labels.len();
                return Err(DataError::BadLabel { index, label: rec[0], classes: 10 });
            }
            labels.push(rec[0]);
            normalize_into(&mut images, &rec[1..], &MEAN, &STD, 1024);
        }
    }
    Ok(Dataset { images, n: labels.len(), labels, channels: 3, height: 32, width: 32 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_file;

    #[test]
    fn a_synthetic_record_parses_into_chw_planes() {
        let mut rec = vec![4u8];
        rec.extend([255u8; 1024]);
        rec.extend([0u8; 1024]);
        rec.extend([51u8; 1024]);
        let d = load(&[rec.clone(), rec].concat()).unwrap();
        assert_eq!((d.n, d.channels, d.height, d.width, d.labels.clone()), (2, 3, 32, 32, vec![4, 4]));
        let img = d.image(1);
        assert!((img[0] - (1.0 - MEAN[0]) / STD[0]).abs() < 1e-6);
        assert!((img[1024] - (-MEAN[1] / STD[1])).abs() < 1e-6);
        assert!((img[3071] - (0.2 - MEAN[2]) / STD[2]).abs() < 1e-6);
    }

    #[test]
    fn a_partial_record_is_reported_as_truncated() {
        let e = load(&vec![0u8; RECORD_BYTES + 5]).unwrap_err();
        assert!(
            matches!(e, DataError::Truncated { expected, found, .. } if expected == 2 * RECORD_BYTES && found == RECORD_BYTES + 5)
        );
    }

    #[test]
    fn a_label_byte_of_ten_or_more_is_rejected() {
        let mut rec = vec![0u8; 2 * RECORD_BYTES];
        rec[RECORD_BYTES] = 200;
        assert!(matches!(load(&rec), Err(DataError::BadLabel { index: 1, label: 200, .. })));
    }

    #[test]
    fn the_real_cifar10_test_subset_parses_with_known_labels_and_pixels() {
        let Some(bytes) =
            test_file("cifar10/test_batch_first1000.bin.gz", "cifar10-partial/test_batch_first1000.bin.gz")
        else {
            return;
        };
        let d = load(&bytes).unwrap();
        assert_eq!(d.n, 1000);
        assert_eq!(&d.labels[..10], &[3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
        // README spot check: test[0] red starts 158 159 165
        let px = |v: f32, c: usize| ((v * STD[c] + MEAN[c]) * 255.0).round() as u8;
        assert_eq!([px(d.images[0], 0), px(d.images[1], 0), px(d.images[2], 0)], [158, 159, 165]);
        // README: red channel mean of this subset is 0.4967
        let red: f64 =
            (0..d.n).map(|i| d.image(i)[..1024].iter().map(|&v| f64::from(v * STD[0] + MEAN[0])).sum::<f64>()).sum();
        assert!((red / (d.n as f64 * 1024.0) - 0.4967).abs() < 1e-3);
    }
}
