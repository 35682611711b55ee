#!/usr/bin/env bash
# The native part of `make bench`: one training step (forward, backward, |grad| and Taylor
# accumulation, SGD with momentum) of LeNet-300-100 and LeNet-5, batch 64, the same random
# data shapes, agq (`agq bench-train`, burn flex on the CPU) against PyTorch on the CPU
# (scripts/bench_train_step.py with agq.pytorch's accumulator), both on THREADS threads
# (default 1: the same for both, and quiet next to other work). Writes target/bench/native.json
# (one JSON line per engine and network, as the two commands print them).
# Environment: THREADS, STEPS (timed steps after a warm-up, default 200), CARGO_TARGET_DIR,
# AGQ (an agq binary to use instead of building target/release/agq).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-1}
steps=${STEPS:-200}
out=${CARGO_TARGET_DIR:-target}/bench
mkdir -p "$out"
bash scripts/python-env.sh >/dev/null
agq=${AGQ:-}
if [ -z "$agq" ]; then
  nice cargo build --quiet --release --bin agq
  agq=${CARGO_TARGET_DIR:-target}/release/agq
fi
rm -f "$out/native.json"
for net in lenet300 lenet5; do
  echo "bench: $net natively, $steps steps on $threads thread(s): agq (burn flex), then PyTorch" >&2
  RAYON_NUM_THREADS=$threads nice "$agq" bench-train --net "$net" --steps "$steps" | tail -n 1 | tee -a "$out/native.json" >&2
  nice .tools/py/bin/python scripts/bench_train_step.py --net "$net" --steps "$steps" --threads "$threads" | tail -n 1 | tee -a "$out/native.json" >&2
done
