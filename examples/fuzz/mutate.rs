//! The deterministic mutator shared by the doors: random choices from a SplitMix64, byte-
//! level mutations, and interesting numbers.

use agq::rng::SplitMix64;

/// Random choices.
pub trait Pick {
    /// `true` with probability `1 / n`.
    fn one_in(&mut self, n: usize) -> bool;
    /// A uniform index below `n` (`n > 0`).
    fn index(&mut self, n: usize) -> usize;
    /// A uniform element of `items` (not empty).
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T;
    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64;
}

impl Pick for SplitMix64 {
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    fn index(&mut self, n: usize) -> usize {
        self.below(n)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let span = hi.wrapping_sub(lo).wrapping_add(1);
        if span == 0 { self.next_u64() } else { lo + (((self.next_u64() as u128) * span as u128) >> 64) as u64 }
    }
}

/// Numbers at the edges of sizes and fields.
pub const INTERESTING: [u64; 30] = [
    0,
    1,
    2,
    3,
    7,
    8,
    15,
    16,
    17,
    31,
    32,
    33,
    127,
    128,
    255,
    256,
    4095,
    4096,
    65535,
    65536,
    (1 << 27) - 1,
    1 << 27,
    (1 << 27) + 1,
    (1 << 31) - 1,
    1 << 31,
    (1 << 32) - 1,
    1 << 32,
    (1 << 32) + 1,
    1 << 63,
    u64::MAX,
];

/// An interesting number, a small one, or any 64 bits.
pub fn number(rng: &mut SplitMix64) -> u64 {
    match rng.index(4) {
        0 | 1 => *rng.pick(&INTERESTING),
        2 => rng.range(0, 300),
        _ => rng.next_u64() >> rng.index(64),
    }
}

/// Random bytes, up to `max_len` long (short ones more often).
pub fn random_bytes(rng: &mut SplitMix64, max_len: usize) -> Vec<u8> {
    let len = rng.index(max_len + 1) >> rng.index(4);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// One to `max_ops` byte-level mutations of `data`: bit flips, interesting bytes and words,
/// small additions, inserted, deleted, duplicated or spliced ranges, truncation, extension.
/// Positions below `hot` (when nonzero) are chosen half of the time.
pub fn mutate_bytes(rng: &mut SplitMix64, data: &mut Vec<u8>, max_ops: usize, hot: usize, donors: &[Vec<u8>]) {
    for _ in 0..1 + rng.index(max_ops) {
        let len = data.len();
        let pos = |rng: &mut SplitMix64, len: usize| {
            if hot > 0 && hot < len && rng.one_in(2) { rng.index(hot) } else { rng.index(len.max(1)) }
        };
        match rng.index(12) {
            0 | 1 if len > 0 => {
                let p = pos(rng, len);
                data[p] ^= 1 << rng.index(8);
            }
            2 if len > 0 => {
                let p = pos(rng, len);
                data[p] = *rng.pick(&[0u8, 1, 0x7f, 0x80, 0x81, 0xfe, 0xff, b'"', b'{', b'[', b',', b'0', b'-']);
            }
            3 if len > 0 => {
                let p = pos(rng, len);
                data[p] = data[p].wrapping_add(rng.range(1, 4) as u8).wrapping_sub(if rng.one_in(2) { 8 } else { 0 });
            }
            4 if len > 0 => {
                let p = pos(rng, len);
                let v = number(rng);
                let width = *rng.pick(&[2usize, 4, 8]);
                let bytes = if rng.one_in(2) { v.to_le_bytes() } else { v.to_be_bytes() };
                for (k, b) in bytes.iter().take(width).enumerate() {
                    if p + k < len {
                        data[p + k] = *b;
                    }
                }
            }
            5 => {
                let p = pos(rng, len + 1).min(len);
                let extra = random_bytes(rng, 16);
                data.splice(p..p, extra);
            }
            6 if len > 0 => {
                let p = pos(rng, len);
                let most = if rng.one_in(4) { len } else { 8 };
                let n = 1 + rng.index((len - p).min(most));
                data.drain(p..(p + n).min(len));
            }
            7 if len > 0 => {
                let p = rng.index(len);
                let n = 1 + rng.index((len - p).min(32));
                let chunk = data[p..p + n].to_vec();
                let q = rng.index(len + 1);
                data.splice(q..q, chunk);
            }
            8 if len > 0 => data.truncate(rng.index(len)),
            9 => {
                let extra = if rng.one_in(2) { vec![0u8; rng.range(1, 64) as usize] } else { random_bytes(rng, 64) };
                data.extend(extra);
            }
            10 if !donors.is_empty() => {
                // splice: our prefix, a donor's suffix
                let donor = rng.pick(donors);
                let cut = rng.index(len + 1);
                let from = rng.index(donor.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&donor[from..]);
            }
            11 if len > 1 => {
                let (a, b) = (rng.index(len), rng.index(len));
                data.swap(a, b);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_is_deterministic() {
        let run = || {
            let mut rng = SplitMix64::new(5);
            let mut d = b"hello, world".to_vec();
            mutate_bytes(&mut rng, &mut d, 8, 4, &[b"donor".to_vec()]);
            d
        };
        assert_eq!(run(), run());
    }
}
