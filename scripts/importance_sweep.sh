#!/usr/bin/env bash
# Importance compared at equal size (issue 12, docs/RESULTS.md): `agq sweep` of every
# importance (accumulated |grad|, |w|, random, accumulated Taylor |w*grad| where the
# snapshot has it) over kept fractions 1%..60% with each network's default cluster shape
# and widths, writing docs/results/importance-NET.json, then the table.
#
# LeNet-300-100 and LeNet-5 are trained here first (`agq train --method none`, full MNIST,
# LENET300_EPOCHS / LENET5_EPOCHS epochs; their snapshots carry taylor/P); AlexNet and
# VGG-16 use the committed www/snapshots/NET.safetensors (rerun after a new snapshot lands),
# or AGQ_SNAPSHOT_ALEXNET / AGQ_SNAPSHOT_VGG16 when set: the committed VGG-16 file has no Taylor
# sums (they would take it over 64 MB), scripts/train_snapshot.py writes them beside it as
# vgg16-taylor.safetensors (the same weights and |grad| sums).
# Usage: scripts/importance_sweep.sh [NETS...]   (default: lenet300 lenet5 alexnet vgg16)
# Environment: AGQ (the binary, default target/release/agq, built when missing),
# WORK (trained snapshots, default target/importance-sweep), KEEP (kept fractions).
set -euo pipefail
cd "$(dirname "$0")/.."
nets=("$@")
[ ${#nets[@]} -gt 0 ] || nets=(lenet300 lenet5 alexnet vgg16)
agq=${AGQ:-target/release/agq}
[ -x "$agq" ] || cargo build --release --bin agq >&2
work=${WORK:-target/importance-sweep}
mkdir -p "$work" docs/results
keep=${KEEP:-0.01,0.02,0.03,0.05,0.075,0.1,0.15,0.2,0.3,0.4,0.5,0.6}
declare -A epochs=([lenet300]=${LENET300_EPOCHS:-10} [lenet5]=${LENET5_EPOCHS:-3})

for net in "${nets[@]}"; do
  case $net in
    lenet300|lenet5)
      snapshot=$work/$net.safetensors
      if [ ! -f "$snapshot" ]; then
        "$agq" train --net "$net" --method none --epochs "${epochs[$net]}" --data www/data/mnist \
          --snapshot "$snapshot" --report "$work/$net-train.json"
      fi
      data=www/data/mnist ;;
    alexnet|vgg16)
      override=AGQ_SNAPSHOT_${net^^}
      snapshot=${!override:-www/snapshots/$net.safetensors}
      data=www/data/cifar10 ;;
    *) echo "importance_sweep: unknown network $net" >&2; exit 2 ;;
  esac
  "$agq" sweep --snapshot "$snapshot" --data "$data" --keep "$keep" --out "docs/results/importance-$net.json"
done
python3 scripts/importance_table.py docs/results
