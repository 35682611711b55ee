//! Transparent gzip: data files may arrive gzipped (`.gz`) or raw.

use super::DataError;
use std::borrow::Cow;
use std::io::Read;

/// The two magic bytes that open every gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// True when `bytes` starts with the gzip magic `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// The bytes themselves, or their decompression when they start with the gzip
/// magic (all concatenated gzip members are read).
pub fn maybe_gunzip(bytes: &[u8]) -> Result<Cow<'_, [u8]>, DataError> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4));
    flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| DataError::Gzip(e.to_string()))?;
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn raw_bytes_pass_through_unchanged() {
        let raw = [0u8, 0, 8, 3, 1, 2];
        assert!(matches!(maybe_gunzip(&raw).unwrap(), Cow::Borrowed(b) if b == raw));
    }

    #[test]
    fn gzipped_bytes_are_decompressed() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(maybe_gunzip(&gzip(&data)).unwrap().as_ref(), &data[..]);
    }

    #[test]
    fn a_corrupt_gzip_stream_is_a_gzip_error() {
        let mut gz = gzip(&[7u8; 100]);
        gz.truncate(12);
        assert!(matches!(maybe_gunzip(&gz), Err(DataError::Gzip(_))));
    }
}
