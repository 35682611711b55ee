//! The static code table of one entropy-coded stream, and the Elias gamma numbers it is
//! written with. All sizes in bits; estimates in units of 2^-16 bit, integers only.

use super::Model;
use crate::quant::bits::{BitReader, BitWriter};
use crate::quant::codec::CodecError;
use crate::quant::layout::ceil_log2;

/// Precision of constriction's default categorical model: frequencies out of 2^24.
const MODEL_PRECISION: u32 = 24;
/// Bits of the field holding a table's precision minus one.
const PRECISION_FIELD: u32 = 5;
/// Most leading zeros of a gamma code the reader accepts (numbers below 2^41).
const MAX_GAMMA_ZEROS: u32 = 40;

/// Bits of the Elias gamma code of `n >= 1`: `2 * floor(log2 n) + 1`.
pub fn gamma_len(n: u64) -> u64 {
    2 * (63 - n.max(1).leading_zeros() as u64) + 1
}

/// Writes `n >= 1` as an Elias gamma code: `floor(log2 n)` zero bits, then `n` in binary.
pub fn put_gamma(w: &mut BitWriter, n: u64) {
    let z = 63 - n.max(1).leading_zeros();
    for _ in 0..z / 32 {
        w.write(0, 32);
    }
    w.write(0, z % 32);
    if z >= 32 {
        w.write(n >> 32, z + 1 - 32);
        w.write(n & 0xffff_ffff, 32);
    } else {
        w.write(n, z + 1);
    }
}

/// Reads an Elias gamma code (of at most [`MAX_GAMMA_ZEROS`] leading zeros).
pub fn get_gamma(r: &mut BitReader, i: usize) -> Result<u64, CodecError> {
    let trunc = |_| CodecError::Truncated { tensor: i };
    let mut z = 0;
    while r.read(1).map_err(trunc)? == 0 {
        z += 1;
        if z > MAX_GAMMA_ZEROS {
            return Err(CodecError::BadCode { tensor: i });
        }
    }
    let rest = if z > 32 {
        (r.read(z - 32).map_err(trunc)? as u64) << 32 | r.read(32).map_err(trunc)? as u64
    } else {
        r.read(z).map_err(trunc)? as u64
    };
    Ok(1u64 << z | rest)
}

/// `log2(x)` for `x >= 1` in units of 2^-16 bit (rounded down), integer arithmetic only.
pub fn log2_fx(x: u64) -> u64 {
    let e = 63 - x.max(1).leading_zeros();
    // the mantissa x / 2^e in [1, 2) as a 32-bit fraction
    let mut m: u64 = if e <= 32 { x << (32 - e) } else { x >> (e - 32) };
    let mut frac = 0u64;
    for bit in (0..16).rev() {
        m = ((m as u128 * m as u128) >> 32) as u64;
        if m >= 1 << 33 {
            m >>= 1;
            frac |= 1 << bit;
        }
    }
    (e as u64) << 16 | frac
}

/// Frequencies out of `2^p` (each at least 1) proportional to `counts` (all > 0, at most
/// `2^p` of them): rounded to nearest, then the excess taken one at a time from the most
/// frequent symbols, or the shortfall given to the most frequent one.
fn quantize(counts: &[u64], p: u32) -> Vec<u32> {
    let (t, n) = (1u128 << p, counts.iter().map(|&c| c as u128).sum::<u128>().max(1));
    let mut q: Vec<u64> = counts.iter().map(|&c| ((c as u128 * t * 2 + n) / (2 * n)).max(1) as u64).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let mut sum: u64 = q.iter().sum();
    let t = t as u64;
    while sum > t {
        for &k in &order {
            if sum > t && q[k] > 1 {
                q[k] -= 1;
                sum -= 1;
            }
        }
    }
    if let Some(&top) = order.first() {
        q[top] += t - sum;
    }
    q.into_iter().map(|x| x as u32).collect()
}

/// The model of one stream: its used symbols, ascending, and (when there are two or more)
/// their frequencies out of `2^precision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub symbols: Vec<u32>,
    pub freqs: Vec<u32>,
    pub precision: u32,
}

impl Table {
    /// The table of the used `symbols` (ascending) with these counts (all > 0), at the
    /// precision that minimises table bits + ideal code length (ties to the lower), and that
    /// code length in units of 2^-16 bit.
    pub fn best(symbols: Vec<u32>, counts: &[u64]) -> (Table, u64) {
        if symbols.len() < 2 {
            return (Table { symbols, freqs: Vec::new(), precision: 0 }, 0);
        }
        let lo = ceil_log2(symbols.len() as u64).max(1);
        let hi = (ceil_log2(counts.iter().sum()) + 1).min(MODEL_PRECISION).max(lo);
        let mut best: Option<(u64, Table, u64)> = None;
        for p in lo..=hi {
            let freqs = quantize(counts, p);
            let data: u64 = counts.iter().zip(&freqs).map(|(&c, &q)| c * (((p as u64) << 16) - log2_fx(q as u64))).sum();
            let table = Table { symbols: symbols.clone(), freqs, precision: p };
            let cost = (table.bits() << 16) + data;
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, table, data));
            }
        }
        best.map(|(_, t, d)| (t, d)).unwrap_or_default()
    }

    /// Bits of [`Table::write`].
    pub fn bits(&self) -> u64 {
        let n = self.symbols.len();
        let mut bits = gamma_len(n as u64);
        let mut prev = None;
        for &s in &self.symbols {
            bits += gamma_len(prev.map_or(s as u64 + 1, |p: u32| (s - p) as u64));
            prev = Some(s);
        }
        if n >= 2 {
            bits += PRECISION_FIELD as u64 + self.freqs[..n - 1].iter().map(|&q| gamma_len(q as u64)).sum::<u64>();
        }
        bits
    }

    /// The count of symbols, the first symbol + 1 and the gaps between them (gamma); when
    /// two or more: the precision - 1 (5 bits) and all frequencies but the last (gamma).
    pub fn write(&self, w: &mut BitWriter) {
        let n = self.symbols.len();
        put_gamma(w, n as u64);
        let mut prev = None;
        for &s in &self.symbols {
            put_gamma(w, prev.map_or(s as u64 + 1, |p: u32| (s - p) as u64));
            prev = Some(s);
        }
        if n >= 2 {
            w.write(self.precision as u64 - 1, PRECISION_FIELD);
            self.freqs[..n - 1].iter().for_each(|&q| put_gamma(w, q as u64));
        }
    }

    /// Reads a table of symbols below `2^alphabet_bits` (1..=16) and checks it.
    pub fn read(r: &mut BitReader, i: usize, alphabet_bits: u32) -> Result<Table, CodecError> {
        let bad = CodecError::BadCode { tensor: i };
        let n = get_gamma(r, i)?;
        if n > 1 << alphabet_bits {
            return Err(bad);
        }
        let mut symbols = Vec::with_capacity(n as usize);
        let mut next = 0u64;
        for _ in 0..n {
            let s = next + get_gamma(r, i)? - 1;
            if s >= 1 << alphabet_bits {
                return Err(bad);
            }
            symbols.push(s as u32);
            next = s + 1;
        }
        if n < 2 {
            return Ok(Table { symbols, freqs: Vec::new(), precision: 0 });
        }
        let p = r.read(PRECISION_FIELD).map_err(|_| CodecError::Truncated { tensor: i })? + 1;
        if p > MODEL_PRECISION || 1u64 << p < n {
            return Err(bad);
        }
        let mut freqs = Vec::with_capacity(n as usize);
        let mut sum = 0u64;
        for _ in 1..n {
            let q = get_gamma(r, i)?;
            sum += q;
            if sum >= 1 << p {
                return Err(bad);
            }
            freqs.push(q as u32);
        }
        freqs.push(((1u64 << p) - sum) as u32);
        Ok(Table { symbols, freqs, precision: p })
    }

    /// The ANS model (frequencies scaled to 2^24); `None` for fewer than two symbols.
    pub fn model(&self) -> Option<Model> {
        if self.symbols.len() < 2 {
            return None;
        }
        let shift = MODEL_PRECISION - self.precision;
        Model::from_nonzero_fixed_point_probabilities(self.freqs.iter().map(|&q| q << shift), false).ok()
    }
}

impl Default for Table {
    fn default() -> Self {
        Table { symbols: vec![0], freqs: Vec::new(), precision: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_codes_read_back() {
        let ns = [1u64, 2, 3, 7, 8, 1000, (1 << 32) - 1, 1 << 32, (1 << 40) + 5];
        let mut w = BitWriter::default();
        ns.iter().for_each(|&n| put_gamma(&mut w, n));
        assert_eq!(w.bits_written(), ns.iter().map(|&n| gamma_len(n)).sum::<u64>());
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        for &n in &ns {
            assert_eq!(get_gamma(&mut r, 0), Ok(n));
        }
        assert_eq!(get_gamma(&mut BitReader::new(&[0; 8]), 0), Err(CodecError::BadCode { tensor: 0 }));
    }

    #[test]
    fn the_fixed_point_log_is_within_one_unit() {
        for x in [1u64, 2, 3, 5, 100, 4095, 1 << 24, (1 << 40) + 12345] {
            let want = (x as f64).log2() * 65536.0;
            assert!((log2_fx(x) as f64 - want).abs() <= 1.0, "{x}: {} vs {want}", log2_fx(x));
        }
    }

    #[test]
    fn quantized_frequencies_are_positive_and_sum_to_the_precision() {
        for (counts, p) in [(vec![1u64, 1, 1, 1], 2), (vec![1000, 1, 1, 1, 1], 3), (vec![5, 3, 900000, 1], 12)] {
            let q = quantize(&counts, p);
            assert_eq!(q.iter().map(|&x| x as u64).sum::<u64>(), 1 << p);
            assert!(q.iter().all(|&x| x >= 1));
        }
        assert_eq!(quantize(&[3, 1], 2), vec![3, 1]);
    }

    #[test]
    fn a_table_writes_its_size_and_reads_back() {
        let (t, _) = Table::best(vec![0, 5, 6, 200], &[100, 3, 50, 1]);
        let mut w = BitWriter::default();
        t.write(&mut w);
        assert_eq!(w.bits_written(), t.bits());
        let bytes = w.finish();
        assert_eq!(Table::read(&mut BitReader::new(&bytes), 0, 8), Ok(t.clone()));
        assert_eq!(Table::read(&mut BitReader::new(&bytes), 0, 7), Err(CodecError::BadCode { tensor: 0 }));
        assert!(t.model().is_some());
    }
}
