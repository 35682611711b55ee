//! MSB-first bit packing used by the `.agq` codec.
//!
//! Bit order: the first bit written is the most significant bit of the first byte.
//! A field of `n` bits holds the low `n` bits of its value, most significant first.

/// Appends fields of 0..=32 bits to a byte buffer.
#[derive(Debug, Default)]
pub struct BitWriter {
    /// The bytes so far, `pos` of them written; those past `pos` are room (zeros or stale
    /// words of [`BitWriter::write_all`], overwritten before they count).
    buf: Vec<u8>,
    pos: usize,
    acc: u64,
    nacc: u32,
    bits: u64,
}

impl BitWriter {
    /// A writer that appends after the bytes of `buf` (which stay untouched).
    pub fn with_buffer(buf: Vec<u8>) -> Self {
        BitWriter {
            pos: buf.len(),
            buf,
            acc: 0,
            nacc: 0,
            bits: 0,
        }
    }

    /// Makes room for `bytes` more bytes after `pos` (at least doubling when it grows).
    fn room(&mut self, bytes: usize) {
        let need = self.pos + bytes;
        if self.buf.len() < need {
            self.buf.resize(need.max(2 * self.buf.len()), 0);
        }
    }

    /// Writes the low `n` bits of `value` (`n <= 32`; extra high bits are ignored).
    #[inline]
    pub fn write(&mut self, value: u64, n: u32) {
        debug_assert!(n <= 32);
        let v = value & ((1u64 << n) - 1);
        // nacc < 32 here, so acc << n keeps all pending bits inside 64.
        self.acc = (self.acc << n) | v;
        self.nacc += n;
        self.bits += n as u64;
        if self.nacc >= 32 {
            self.nacc -= 32;
            let word = (self.acc >> self.nacc) as u32;
            self.room(4);
            self.buf[self.pos..self.pos + 4].copy_from_slice(&word.to_be_bytes());
            self.pos += 4;
        }
    }

    /// Writes every `(value, n)` field in order, as [`BitWriter::write`] would (`n <= 32`),
    /// with the writer's state in registers and no branch per field (the encoder's hot
    /// loop): every field stores the next word, and the position moves only when it is full.
    ///
    /// # Panics
    /// If `fields` has no upper bound on its length (`size_hint`).
    #[inline]
    pub fn write_all<I: IntoIterator<Item = (u64, u32)>>(&mut self, fields: I) {
        let fields = fields.into_iter();
        let most = fields.size_hint().1.expect("fields of a bounded length");
        self.room(4 * most + 4);
        let (mut acc, mut nacc, mut bits, mut pos) = (self.acc, self.nacc, self.bits, self.pos);
        let buf = &mut self.buf[..];
        for (value, n) in fields {
            debug_assert!(n <= 32);
            acc = (acc << n) | (value & ((1u64 << n) - 1));
            nacc += n;
            bits += n as u64;
            let full = nacc >= 32;
            // when full, nacc - 32 < 32 and this is the word; else a stale word, overwritten
            let word = (acc >> (nacc.wrapping_sub(32) & 31)) as u32;
            buf[pos..pos + 4].copy_from_slice(&word.to_be_bytes());
            pos += 4 * usize::from(full);
            nacc -= 32 * u32::from(full);
        }
        (self.acc, self.nacc, self.bits, self.pos) = (acc, nacc, bits, pos);
    }

    /// Number of bits written so far (not counting the initial buffer).
    pub fn bits_written(&self) -> u64 {
        self.bits
    }

    /// Pads with zero bits to a byte boundary (fewer than 8) and returns the buffer.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.truncate(self.pos);
        while self.nacc >= 8 {
            self.nacc -= 8;
            self.buf.push((self.acc >> self.nacc) as u8);
        }
        if self.nacc > 0 {
            self.buf.push((self.acc << (8 - self.nacc)) as u8);
        }
        self.buf
    }

    /// Makes room for about `bits` more bits.
    pub fn reserve_bits(&mut self, bits: u64) {
        self.room(usize::try_from(bits / 8 + 8).unwrap_or(0));
    }
}

/// The reader ran past the end of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndOfInput;

/// Reads MSB-first fields of 0..=32 bits from a byte slice.
#[derive(Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// position in bits from the start of `bytes`
    pos: u64,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, pos: 0 }
    }

    /// Reads `n <= 32` bits as an unsigned value.
    #[inline]
    pub fn read(&mut self, n: u32) -> Result<u32, EndOfInput> {
        debug_assert!(n <= 32);
        if n == 0 {
            return Ok(0);
        }
        let end = self.pos + n as u64;
        if end > self.bytes.len() as u64 * 8 {
            return Err(EndOfInput);
        }
        let byte = (self.pos / 8) as usize;
        let shift = (self.pos % 8) as u32;
        // load up to 8 bytes big-endian starting at `byte` (n + shift <= 39 bits needed)
        let mut word = [0u8; 8];
        let avail = (self.bytes.len() - byte).min(8);
        word[..avail].copy_from_slice(&self.bytes[byte..byte + avail]);
        let w = u64::from_be_bytes(word);
        self.pos = end;
        Ok(((w << shift) >> (64 - n)) as u32)
    }

    /// Bits consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Bits left in the slice.
    pub fn remaining(&self) -> u64 {
        self.bytes.len() as u64 * 8 - self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_in_the_order_written() {
        let mut w = BitWriter::default();
        let fields = [
            (5u64, 3u32),
            (0, 0),
            (0xdead_beef, 32),
            (1, 1),
            (0x1fff, 13),
            (7, 33 - 30),
        ];
        for &(v, n) in &fields {
            w.write(v, n);
        }
        let total: u32 = fields.iter().map(|f| f.1).sum();
        let mut w2 = BitWriter::default();
        w2.write_all(fields.iter().copied());
        assert_eq!(w2.finish(), {
            let mut w3 = BitWriter::default();
            fields.iter().for_each(|&(v, n)| w3.write(v, n));
            w3.finish()
        });
        assert_eq!(w.bits_written(), total as u64);
        let bytes = w.finish();
        assert_eq!(bytes.len(), (total as usize).div_ceil(8));
        let mut r = BitReader::new(&bytes);
        for &(v, n) in &fields {
            assert_eq!(r.read(n).unwrap() as u64, v);
        }
        assert!(r.remaining() < 8);
    }

    #[test]
    fn write_and_write_all_mixed_give_the_bits_in_order_after_the_prefix() {
        let mut g = crate::rng::SplitMix64(11);
        for round in 0..200 {
            let prefix: Vec<u8> = (0..round % 5).map(|i| i as u8 ^ 0xa5).collect();
            let mut w = BitWriter::with_buffer(prefix.clone());
            let mut want: Vec<bool> = Vec::new();
            for _ in 0..(g.next_u64() % 6) {
                let fields: Vec<(u64, u32)> = (0..g.next_u64() % 40).map(|_| (g.next_u64(), (g.next_u64() % 33) as u32)).collect();
                for &(v, n) in &fields {
                    want.extend((0..n).rev().map(|b| v >> b & 1 == 1));
                }
                if g.next_u64() % 2 == 0 {
                    w.write_all(fields.iter().copied());
                } else {
                    fields.iter().for_each(|&(v, n)| w.write(v, n));
                }
            }
            assert_eq!(w.bits_written(), want.len() as u64);
            let bytes = w.finish();
            assert_eq!(&bytes[..prefix.len()], &prefix[..], "round {round}");
            assert_eq!(bytes.len(), prefix.len() + want.len().div_ceil(8), "round {round}");
            let got: Vec<bool> = bytes[prefix.len()..].iter().flat_map(|&b| (0..8).rev().map(move |i| b >> i & 1 == 1)).collect();
            assert_eq!(&got[..want.len()], &want[..], "round {round}");
            assert!(got[want.len()..].iter().all(|&b| !b), "round {round}: zero padding");
        }
    }

    #[test]
    fn first_bit_written_is_the_top_bit_of_the_first_byte() {
        let mut w = BitWriter::default();
        w.write(1, 1);
        assert_eq!(w.finish(), vec![0x80]);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read(7), Ok(0x7f));
        assert_eq!(r.read(2), Err(EndOfInput));
    }
}
