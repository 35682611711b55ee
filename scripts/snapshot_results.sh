#!/usr/bin/env bash
# The CIFAR-10 rows of docs/RESULTS.md, from the committed gradient snapshots with the
# page's default settings: PTQ of the float snapshot, ITQ and combined of the ITQ-trained
# one, each written as a .agq file, decoded and evaluated on the first 1,000 official
# CIFAR-10 test images (www/data/cifar10).
# Usage: scripts/snapshot_results.sh [NETS...]   (default: alexnet vgg16; VGG-16 takes a few
# minutes on a CPU). Environment: AGQ (the binary; default: build target/release/agq).
set -euo pipefail
cd "$(dirname "$0")/.."
nets=("$@")
[ ${#nets[@]} -gt 0 ] || nets=(alexnet vgg16)
# AGQ: an agq binary to use instead of building target/release/agq
agq=${AGQ:-target/release/agq}
[ -n "${AGQ:-}" ] || cargo build --release --bin agq >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

declare -A thesis=(
  [alexnet-ptq]=6.39x [alexnet-itq]=7.95x [alexnet-combined]=13.15x
  [vgg16-ptq]=12.43x [vgg16-itq]=12.71x [vgg16-combined]=13.53x
)
echo "| network | method | thesis ratio | our ratio | accuracy | float snapshot |"
echo "|---|---|---:|---:|---:|---:|"
for net in "${nets[@]}"; do
  float=www/snapshots/$net.safetensors
  if [ ! -f "$float" ]; then
    echo "snapshot_results: $float is missing (agq snapshot, docs/NETWORKS.md)" >&2
    exit 1
  fi
  base=$($agq eval --snapshot "$float" --data www/data/cifar10 | tail -n 1 | sed 's/accuracy: //')
  for method in ptq itq combined; do
    snapshot=$float
    [ "$method" = ptq ] || snapshot=www/snapshots/$net-itq.safetensors
    # the whole output first: `head` closing the pipe early would fail the run (pipefail)
    report=$($agq quantize --snapshot "$snapshot" --method "$method" --out "$tmp/q.agq")
    ratio=$(sed -n '1s/.*ratio \([0-9.]*x\).*/\1/p' <<<"$report")
    accuracy=$($agq eval --snapshot "$snapshot" --quantized "$tmp/q.agq" --data www/data/cifar10 \
      | tail -n 1 | sed 's/accuracy: //')
    echo "| $net | $method | ${thesis[$net-$method]} | $ratio | $accuracy | $base |"
  done
done
