//! Data-set parsers: bytes in (never paths), normalized `f32` images out.
//!
//! - [`mnist`]: IDX image and label files (MNIST, Fashion-MNIST), gzipped or not.
//! - [`cifar10`]: CIFAR-10 binary records, gzipped or not.
//! - [`gz`]: gzip detection (magic `1f 8b`) and decompression.

pub mod cifar10;
pub mod gz;
pub mod mnist;

use std::fmt;

/// A labelled image set held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `n x channels x height x width` values, row-major (NCHW), each pixel
    /// scaled to `[0, 1]` and then normalized per channel as `(x - mean) / std`.
    pub images: Vec<f32>,
    /// `n` class labels (0..=9 for MNIST and CIFAR-10).
    pub labels: Vec<u8>,
    /// Number of images.
    pub n: usize,
    /// Channels per image (1 for MNIST, 3 for CIFAR-10).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
}

impl Dataset {
    /// Values per image: `channels * height * width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Image `i` as `channels x height x width` values. Panics if `i >= n`.
    pub fn image(&self, i: usize) -> &[f32] {
        let len = self.image_len();
        &self.images[i * len..(i + 1) * len]
    }

    /// Keeps only the first `n` images (no-op when `n >= self.n`).
    pub fn truncate(&mut self, n: usize) {
        if n < self.n {
            self.n = n;
            self.images.truncate(n * self.image_len());
            self.labels.truncate(n);
        }
    }
}

/// Appends `pixels` (consecutive planes of `plane_len` bytes, channels cycling
/// `0..mean.len()`) to `out`, each scaled to `[0,1]` then normalized as
/// `(x - mean[c]) / std[c]` for its channel `c`.
pub(crate) fn normalize_into(out: &mut Vec<f32>, pixels: &[u8], mean: &[f32], std: &[f32], plane_len: usize) {
    for (p, plane) in pixels.chunks(plane_len).enumerate() {
        let c = p % mean.len();
        let (m, s) = (mean[c], std[c]);
        out.extend(plane.iter().map(|&x| (f32::from(x) / 255.0 - m) / s));
    }
}

/// Why a data file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The bytes start with the gzip magic but do not decompress.
    Gzip(String),
    /// The file does not start with the expected magic number.
    BadMagic { what: &'static str, expected: u32, found: u32 },
    /// Fewer bytes than the header or record size requires.
    Truncated { what: &'static str, expected: usize, found: usize },
    /// More bytes than the header announces.
    TrailingBytes { what: &'static str, expected: usize, found: usize },
    /// Image and label files hold different numbers of items.
    CountMismatch { images: usize, labels: usize },
    /// A label outside `0..classes`.
    BadLabel { index: usize, label: u8, classes: u8 },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Gzip(e) => write!(f, "gzip data does not decompress: {e}"),
            DataError::BadMagic { what, expected, found } => {
                write!(f, "{what}: bad magic number 0x{found:08x} (expected 0x{expected:08x})")
            }
            DataError::Truncated { what, expected, found } => {
                write!(f, "{what}: truncated ({found} bytes, expected {expected})")
            }
            DataError::TrailingBytes { what, expected, found } => {
                write!(f, "{what}: {found} bytes, but the header announces {expected}")
            }
            DataError::CountMismatch { images, labels } => {
                write!(f, "{images} images but {labels} labels")
            }
            DataError::BadLabel { index, label, classes } => {
                write!(f, "label {label} of item {index} is not below {classes}")
            }
        }
    }
}

impl std::error::Error for DataError {}

/// Test helper: the bytes of a data file, from `www/data/<www_rel>` if the
/// project has a copy, else from `../shared/data/<shared_rel>`; `None` (with a
/// printed note) if neither exists.
#[cfg(test)]
pub(crate) fn test_file(www_rel: &str, shared_rel: &str) -> Option<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [root.join("www/data").join(www_rel), root.join("../shared/data").join(shared_rel)];
    for path in &candidates {
        if let Ok(bytes) = std::fs::read(path) {
            return Some(bytes);
        }
    }
    println!("note: skipping, data file not found: {candidates:?}");
    None
}
