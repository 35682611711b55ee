//! MNIST-style IDX files (also Fashion-MNIST), gzipped or raw.
//!
//! Images: big-endian `u32` magic `0x00000803`, count, rows, cols, then
//! `count * rows * cols` bytes. Labels: magic `0x00000801`, count, then bytes.

use super::{DataError, Dataset, gz::maybe_gunzip, normalize_into};

/// Magic number of an IDX file of `u8` images (3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels (1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// MNIST training-set pixel mean after scaling to `[0,1]`.
pub const MEAN: f32 = 0.1307;
/// MNIST training-set pixel standard deviation after scaling to `[0,1]`.
pub const STD: f32 = 0.3081;

/// Raw IDX images: `n x rows x cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub n: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks the magic and the exact length of an IDX file with `dims`
/// dimensions; returns the dimensions and the payload.
fn idx<'a>(b: &'a [u8], magic: u32, dims: usize, what: &'static str) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let head = 4 + 4 * dims;
    if b.len() < 4 {
        return Err(DataError::Truncated { what, expected: head, found: b.len() });
    }
    let found = be_u32(b, 0);
    if found != magic {
        return Err(DataError::BadMagic { what, expected: magic, found });
    }
    if b.len() < head {
        return Err(DataError::Truncated { what, expected: head, found: b.len() });
    }
    let d: Vec<usize> = (0..dims).map(|i| be_u32(b, 4 + 4 * i) as usize).collect();
    let payload = d.iter().try_fold(1usize, |acc, &x| acc.checked_mul(x));
    let expected = payload.and_then(|p| p.checked_add(head)).unwrap_or(usize::MAX);
    if b.len() < expected {
        return Err(DataError::Truncated { what, expected, found: b.len() });
    }
    if b.len() > expected {
        return Err(DataError::TrailingBytes { what, expected, found: b.len() });
    }
    Ok((d, &b[head..]))
}

/// Parses an IDX image file (gzipped or raw).
pub fn parse_images(bytes: &[u8]) -> Result<IdxImages, DataError> {
    let raw = maybe_gunzip(bytes)?;
    let (d, px) = idx(&raw, IMAGES_MAGIC, 3, "IDX images")?;
    Ok(IdxImages { n: d[0], rows: d[1], cols: d[2], pixels: px.to_vec() })
}

/// Parses an IDX label file (gzipped or raw); every label must be below 10.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let raw = maybe_gunzip(bytes)?;
    let (_, labels) = idx(&raw, LABELS_MAGIC, 1, "IDX labels")?;
    if let Some(index) = labels.iter().position(|&l| l >= 10) {
        return Err(DataError::BadLabel { index, label: labels[index], classes: 10 });
    }
    Ok(labels.to_vec())
}

/// MNIST images and labels with the MNIST normalization `(x/255 - 0.1307) / 0.3081`.
pub fn load(images: &[u8], labels: &[u8]) -> Result<Dataset, DataError> {
    load_normalized(images, labels, MEAN, STD)
}

/// IDX images and labels normalized as `(x/255 - mean) / std`
/// (e.g. Fashion-MNIST with its own constants).
pub fn load_normalized(images: &[u8], labels: &[u8], mean: f32, std: f32) -> Result<Dataset, DataError> {
    let img = parse_images(images)?;
    let labels = parse_labels(labels)?;
    if img.n != labels.len() {
        return Err(DataError::CountMismatch { images: img.n, labels: labels.len() });
    }
    let mut out = Vec::with_capacity(img.pixels.len());
    normalize_into(&mut out, &img.pixels, &[mean], &[std], img.rows * img.cols);
    Ok(Dataset { images: out, labels, n: img.n, channels: 1, height: img.rows, width: img.cols })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_file;

    fn idx_images(n: u32, rows: u32, cols: u32, px: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [IMAGES_MAGIC, n, rows, cols] {
            b.extend(v.to_be_bytes());
        }
        b.extend(px);
        b
    }

    fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut b = LABELS_MAGIC.to_be_bytes().to_vec();
        b.extend((labels.len() as u32).to_be_bytes());
        b.extend(labels);
        b
    }

    #[test]
    fn a_tiny_idx_pair_parses_and_normalizes() {
        let d = load(&idx_images(2, 1, 2, &[0, 255, 51, 0]), &idx_labels(&[3, 9])).unwrap();
        assert_eq!((d.n, d.channels, d.height, d.width), (2, 1, 1, 2));
        assert_eq!(d.labels, vec![3, 9]);
        assert!((d.images[0] - (-MEAN / STD)).abs() < 1e-6);
        assert!((d.images[1] - (1.0 - MEAN) / STD).abs() < 1e-6);
        assert!((d.images[2] - (0.2 - MEAN) / STD).abs() < 1e-6);
    }

    #[test]
    fn a_wrong_magic_number_is_rejected() {
        let e = parse_images(&idx_labels(&[1, 2])).unwrap_err();
        assert!(matches!(e, DataError::BadMagic { expected: IMAGES_MAGIC, found: LABELS_MAGIC, .. }));
    }

    #[test]
    fn missing_pixels_are_reported_as_truncated() {
        let e = parse_images(&idx_images(2, 2, 2, &[0; 7])).unwrap_err();
        assert!(matches!(e, DataError::Truncated { expected: 24, found: 23, .. }));
        assert!(matches!(parse_labels(&[0, 0, 8]), Err(DataError::Truncated { .. })));
    }

    #[test]
    fn extra_bytes_after_the_announced_data_are_rejected() {
        assert!(matches!(parse_labels(&[idx_labels(&[1]), vec![0]].concat()), Err(DataError::TrailingBytes { .. })));
    }

    #[test]
    fn different_image_and_label_counts_are_a_count_mismatch() {
        let e = load(&idx_images(2, 1, 1, &[0, 0]), &idx_labels(&[1])).unwrap_err();
        assert_eq!(e, DataError::CountMismatch { images: 2, labels: 1 });
    }

    #[test]
    fn a_label_of_ten_or_more_is_rejected() {
        assert!(matches!(parse_labels(&idx_labels(&[1, 10])), Err(DataError::BadLabel { index: 1, .. })));
    }

    #[test]
    fn the_real_mnist_test_set_parses_with_known_labels_and_mean() {
        let (Some(img), Some(lab)) = (
            test_file("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz"),
            test_file("mnist/t10k-labels-idx1-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"),
        ) else {
            return;
        };
        let d = load(&img, &lab).unwrap();
        assert_eq!((d.n, d.channels, d.height, d.width), (10000, 1, 28, 28));
        assert_eq!(d.images.len(), 10000 * 784);
        assert_eq!(&d.labels[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
        // raw pixel mean of the test set is 0.1325 (README): normalized mean ~ 0.0058
        let mean = d.images.iter().map(|&x| f64::from(x)).sum::<f64>() / d.images.len() as f64;
        assert!((mean * f64::from(STD) + f64::from(MEAN) - 0.1325).abs() < 1e-3, "{mean}");
    }

    #[test]
    fn the_real_mnist_training_labels_parse() {
        let Some(lab) = test_file("mnist/train-labels-idx1-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz") else {
            return;
        };
        let labels = parse_labels(&lab).unwrap();
        assert_eq!(labels.len(), 60000);
        assert_eq!(&labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    }
}
