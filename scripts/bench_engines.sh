#!/usr/bin/env bash
# The training-engine comparison of docs/BENCHMARKS.md: images/s of one training step
# (forward, backward, |grad| accumulation, SGD) of AlexNet and VGG-16, batch 64, random data,
# on this machine's CPU with burn flex (agq's CPU backend), burn ndarray (the other CPU
# backend of the pinned burn) and PyTorch (scripts/bench_train_step.py) in F32 and under bf16
# autocast (the trainer's `--precision bf16`), all on THREADS threads. Prints a Markdown table
# and writes it to target/bench/engines.md.
# Usage: scripts/bench_engines.sh [NETS...]    (default: alexnet vgg16; about 25 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
nets=("${@:-alexnet}"); [ $# -eq 0 ] && nets=(alexnet vgg16)
threads="${THREADS:-$(nproc)}"
export RAYON_NUM_THREADS="$threads"
bash scripts/python-env.sh >/dev/null
CARGO_TARGET_DIR=target/bench cargo build --quiet --release --features ndarray --bin agq
agq=target/bench/release/agq
py=.tools/py/bin/python
mkdir -p target/bench
rows=()
for net in "${nets[@]}"; do
  case "$net" in vgg16) steps=8 ;; *) steps=30 ;; esac
  for engine in cpu ndarray torch:f32 torch:bf16; do
    if [[ "$engine" = torch:* ]]; then
      line=$($py scripts/bench_train_step.py --net "$net" --steps "$steps" --threads "$threads" \
        --precision "${engine#torch:}" | tail -n 1)
    else
      line=$($agq bench-train --net "$net" --steps "$steps" --device "$engine" | tail -n 1)
    fi
    echo "$line" >&2
    rows+=("$line")
  done
done
printf '%s\n' "${rows[@]}" | $py -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
print("| network | engine | images/s | relative to burn flex |")
print("|---|---|---:|---:|")
for r in rows:
    flex = next(x for x in rows if x["net"] == r["net"] and x["engine"].startswith("burn flex"))
    print("| {} | {} | {:.1f} | {:.2f}x |".format(r["net"], r["engine"], r["images_per_s"], r["images_per_s"] / flex["images_per_s"]))
' | tee target/bench/engines.md
