#!/usr/bin/env bash
# Reproduces the results table of docs/RESULTS.md: each network trained natively with the
# page's default settings (`agq train`), once per method; PTQ quantizes the float run.
# Usage: scripts/results.sh [OUT_DIR] [NETS...]   (about 2 min for lenet300, 45 min for lenet5)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"; shift || true
nets=("${@:-lenet300 lenet5}")
mkdir -p "$out"
cargo build --release --bin agq
agq=target/release/agq
for net in ${nets[@]}; do
  $agq train --net "$net" --method none --data www/data/mnist \
    --snapshot "$out/$net-float.safetensors" --report "$out/$net-none.json" | tail -n 1
  $agq quantize --snapshot "$out/$net-float.safetensors" --method ptq \
    --out "$out/$net-ptq.agq" --report "$out/$net-ptq.json" | tail -n 1
  $agq eval --snapshot "$out/$net-float.safetensors" --quantized "$out/$net-ptq.agq" \
    --data www/data/mnist | tail -n 1 | tee "$out/$net-ptq.accuracy"
  for method in itq combined; do
    $agq train --net "$net" --method "$method" --data www/data/mnist \
      --out "$out/$net-$method.agq" --report "$out/$net-$method.json" | tail -n 1
  done
done
python3 scripts/results_table.py "$out"
