#!/usr/bin/env python3
"""The README's "how far at no more than a point" table: for each network, the best
compression ratio whose accuracy is at most 1 point below the float snapshot, over every
point of the importance sweep (docs/results/importance-NET.json, from
scripts/importance_sweep.sh: PTQ by each importance over kept fractions), per encoding,
next to the thesis's best ratio (combined) and Deep Compression's.

    python3 scripts/best_ratio.py [docs/results]
"""

import json
import sys
from pathlib import Path

NAMES = {"lenet300": "LeNet-300-100", "lenet5": "LeNet-5", "alexnet": "AlexNet", "vgg16": "VGG-16"}
THESIS = {"lenet300": "57.22x", "lenet5": "50.19x", "alexnet": "13.15x", "vgg16": "13.53x"}
# Han et al. 2016, pruning + quantization + Huffman coding, with their accuracy
DEEP_COMPRESSION = {"lenet300": "40x at 98.42%", "lenet5": "39x at 99.26%"}
ENCODINGS = ["csr", "relative", "entropy"]


def best(rows, floor, encoding):
    ok = [r for r in rows if r["accuracy_percent"] >= floor]
    return max(ok, key=lambda r: r[f"ratio_{encoding}"], default=None)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/results")
    print("| network | float | best CSR ratio | best relative | best entropy-coded | thesis (combined, CSR) | Deep Compression |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for net, name in NAMES.items():
        path = folder / f"importance-{net}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        floor = data["float_accuracy_percent"] - 1.0
        cells = []
        for enc in ENCODINGS:
            r = best(data["rows"], floor, enc)
            cells.append("none" if r is None else f"{r[f'ratio_{enc}']:.1f}x ({r['importance']}, {r['accuracy_percent']:.2f}%)")
        print(f"| {name} | {data['float_accuracy_percent']:.2f}% | {' | '.join(cells)} | {THESIS[net]} | {DEEP_COMPRESSION.get(net, 'n/a')} |")


if __name__ == "__main__":
    main()
