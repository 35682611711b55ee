#!/usr/bin/env python3
"""PTQ on VGG-16 for CIFAR-10 (15,245,130 parameters) in numpy: the peer of the Rust
criterion bench benches/ptq.rs (`vgg16/ptq_quantize_account_encode`). `make bench`
(scripts/bench.sh) runs both and prints the ratio; see docs/BENCHMARKS.md.

Inputs: exactly the Rust bench's values, bit for bit. One splitmix64 stream (seed 2020, the
golden-gamma state increment of agq::quant::importance::SplitMix64) is drawn in tensor order;
per tensor first its n weights, then its n importances, each draw u = (z >> 40) * 2^-24 as
an f32. Weight = (2u - 1) * a in f32 with a = 1 / sqrt(fan_in) (f32), fan_in = n / shape[0]
for a weight and n for a bias; importance = (u*u)*(u*u) in f32 (Rust's `powi(4)`).
Generating them is not timed.

Timed work, per run:
1. quantile clustering of the full parameter set: stable argsort of the importances,
   cluster c = ascending positions [floor(F_c n), floor(F_{c+1} n)), F = 0.5, 0.8, 0.95,
   widths [0, 4, 6, 8];
2. quantize: per tensor and width, f = the largest fractional length with
   round(max|w| * 2^f) <= 2^(b-1) - 1; k = round half away from zero, saturated; codes that
   round to 0 become width 0;
3. CSR accounting exactly as docs/FORMAT.md (values, indices, tags, row pointers, meta,
   header bits per tensor);
4. encode: the bitstream of every tensor in the .agq layout (64-bit header, 13 bits per
   width, row pointers, then per entry column index, tag, value), MSB first, built by
   expanding every field to bits (a uint8 0/1 matrix) and np.packbits. The byte file header
   is not written (it is under 1 KiB). The script checks that its bitstream length equals
   its accounted total.

One untimed warm-up run, then --runs timed runs; the mean (and the best) are printed, in
seconds. --json PATH also writes them with the total bits and the CRC-32 of the packed
bitstream, which scripts/bench.sh compares with the Rust bench's (the bitstream after the
.agq byte header): equal CRCs mean both produced the same bits.
"""
import argparse
import json
import time
import zlib

import numpy as np


def vgg16_shapes():
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512)] + [(512, 512)] * 5
    out = []
    for i, (cin, cout) in enumerate(convs):
        out += [(f"conv{i}.weight", (cout, cin, 3, 3)), (f"conv{i}.bias", (cout,))]
    for i, (fin, fout) in enumerate([(512, 512), (512, 512), (512, 10)]):
        out += [(f"fc{i}.weight", (fout, fin)), (f"fc{i}.bias", (fout,))]
    return out


GAMMA = np.uint64(0x9E3779B97F4A7C15)


def splitmix64_f32(seed, start, n):
    """Draws start+1 .. start+n of SplitMix64(seed) as f32 in [0, 1) (24 random bits)."""
    z = np.uint64(seed) + np.arange(start + 1, start + n + 1, dtype=np.uint64) * GAMMA
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)


def vgg16_params(seed=2020):
    """[(name, shape, weight)] and the flat importances, as benches/ptq.rs makes them."""
    params, imps, drawn = [], [], 0
    for name, shape in vgg16_shapes():
        n = int(np.prod(shape))
        fan_in = n // shape[0] if len(shape) > 1 else shape[0]
        a = np.float32(1.0) / np.sqrt(np.float32(fan_in))
        u = splitmix64_f32(seed, drawn, n)
        w = (u * np.float32(2.0) - np.float32(1.0)) * a
        u = splitmix64_f32(seed, drawn + n, n)
        u2 = u * u
        drawn += 2 * n
        assert w.dtype == np.float32 and u2.dtype == np.float32
        params.append((name, shape, w))
        imps.append(u2 * u2)
    return params, np.concatenate(imps)


def ceil_log2(x):
    return 0 if x <= 1 else int(x - 1).bit_length()


def frac_len(max_abs, b):
    if max_abs == 0 or not np.isfinite(max_abs):
        return 0
    limit = 2.0 ** (b - 1) - 0.5
    f = int(np.floor(np.log2(limit / max_abs)))
    while max_abs * 2.0 ** (f + 1) < limit:
        f += 1
    while max_abs * 2.0 ** f >= limit:
        f -= 1
    return max(-128, min(127, f))


def quantile_widths(imp, fractions, widths):
    n = imp.size
    order = np.argsort(imp, kind="stable")
    bounds = np.floor(np.asarray(fractions) * n).astype(np.int64)
    cluster = np.empty(n, dtype=np.uint8)
    cluster[order] = np.searchsorted(bounds, np.arange(n), side="right").astype(np.uint8)
    return np.asarray(widths, dtype=np.uint8)[cluster]


def quantize(w, wid):
    """codes (int32), effective widths (uint8), [(width, frac)] of one tensor."""
    codes = np.zeros(w.size, dtype=np.int32)
    eff = wid.copy()
    fracs = []
    for b in np.unique(wid):
        b = int(b)
        if b == 0:
            continue
        m = wid == b
        f = frac_len(float(np.abs(w[m]).max()), b)
        x = w[m].astype(np.float64) * 2.0 ** f
        k = np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5), -(2 ** (b - 1)), 2 ** (b - 1) - 1)
        codes[m] = k.astype(np.int32)
        fracs.append((b, f))
    eff[codes == 0] = 0
    used = set(np.unique(eff[eff != 0]).tolist())
    return codes, eff, [bf for bf in fracs if bf[0] in used]


def tensor_bits(rows, cols, eff, fracs):
    nnz = int(np.count_nonzero(eff))
    nw = len(fracs)
    return dict(values=int(eff.sum(dtype=np.int64)), indices=nnz * ceil_log2(cols),
                tags=nnz * ceil_log2(nw), row_ptr=(rows + 1) * ceil_log2(nnz + 1),
                meta=13 * nw, header=64)


def field_bits(values, lengths):
    """0/1 uint8 bits of every value's low `lengths` bits, MSB first, concatenated."""
    values = np.asarray(values, dtype=np.uint64)
    lengths = np.asarray(lengths, dtype=np.int64)
    lmax = int(lengths.max()) if lengths.size else 0
    if lmax == 0:
        return np.zeros(0, dtype=np.uint8)
    shifts = np.arange(lmax - 1, -1, -1, dtype=np.uint64)
    bits = ((values[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8)
    keep = np.arange(lmax)[None, :] >= (lmax - lengths)[:, None]
    return bits[keep]


def encode_tensor(rows, cols, codes, eff, fracs):
    nnz = int(np.count_nonzero(eff))
    ib, tb, pb = ceil_log2(cols), ceil_log2(len(fracs)), ceil_log2(nnz + 1)
    parts = [field_bits([rows, cols], [32, 32])]
    for b, f in fracs:
        parts.append(field_bits([b & 31, f & 0xFF], [5, 8]))
    if pb:
        ptr = np.concatenate([[0], np.cumsum(np.count_nonzero(eff.reshape(rows, cols), axis=1))])
        parts.append(field_bits(ptr, np.full(rows + 1, pb)))
    if nnz:
        idx = np.flatnonzero(eff)
        width = eff[idx].astype(np.int64)
        tag_of = np.zeros(33, dtype=np.uint64)
        for j, (b, _) in enumerate(fracs):
            tag_of[b] = j
        col = (idx % cols).astype(np.uint64)
        val = codes[idx].astype(np.int64).astype(np.uint64) & ((np.uint64(1) << width.astype(np.uint64)) - np.uint64(1))
        word = (((col << np.uint64(tb)) | tag_of[width]) << width.astype(np.uint64)) | val
        parts.append(field_bits(word, ib + tb + width))
    return np.concatenate(parts)


def run(params, imp):
    widths = quantile_widths(imp, [0.5, 0.8, 0.95], [0, 4, 6, 8])
    total_bits, streams, at = 0, [], 0
    for _, shape, w in params:
        n = w.size
        rows = shape[0] if len(shape) >= 2 else 1
        cols = n // rows if rows else 0
        codes, eff, fracs = quantize(w, widths[at:at + n])
        at += n
        total_bits += sum(tensor_bits(rows, cols, eff, fracs).values())
        streams.append(encode_tensor(rows, cols, codes, eff, fracs))
    bits = np.concatenate(streams)
    data = np.packbits(bits)  # zero-padded to a byte, MSB first
    assert bits.size == total_bits, (bits.size, total_bits)
    return total_bits, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up run")
    ap.add_argument("--json", help="also write the result to this JSON file")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    params, imp = vgg16_params()
    n = imp.size
    total_bits, data = run(params, imp)  # warm-up, untimed
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        total_bits, data = run(params, imp)
        times.append(time.perf_counter() - t)
    mean, best = sum(times) / len(times), min(times)
    crc = zlib.crc32(data.tobytes())
    print(f"params {n}, total bits {total_bits}, ratio {32 * n / total_bits:.2f}x, "
          f"stream bytes {data.size}, stream crc32 {crc:08x}")
    print(f"numpy {np.__version__} ptq+quantize+account+encode: mean {mean:.3f} s, "
          f"best {best:.3f} s ({args.runs} runs after 1 warm-up)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(numpy=np.__version__, params=int(n), total_bits=int(total_bits),
                           stream_bytes=int(data.size), stream_crc32=f"{crc:08x}",
                           runs=args.runs, times_s=times, mean_s=mean, best_s=best), f)
            f.write("\n")


if __name__ == "__main__":
    main()
