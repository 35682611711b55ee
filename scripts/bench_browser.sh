#!/usr/bin/env bash
# The in-browser part of `make bench` (docs/BENCHMARKS.md, "In the browser: agq against
# TensorFlow.js"): installs the pinned npm peers of bench/browser/package.json (TensorFlow.js
# 4.22.0 with its wasm and WebGPU backends, playwright-core) and Debian's Chromium when
# missing, then runs bench/browser/run.mjs, one headless Chromium run: training throughput of
# LeNet-300-100 and LeNet-5 (agq CPU vs tfjs-wasm, agq WebGPU vs tfjs-webgpu) and the page's
# start (bytes, time until Train is enabled). Writes browser.json into $CARGO_TARGET_DIR/bench
# (target/bench by default), where scripts/bench.sh reads it.
# The page must be built (both builds of its module: pkg/agq_bg.wasm, pkg/agq_gpu_bg.wasm); when it is not, `make build` builds it first.
#
# Environment: see bench/browser/run.mjs (AGQ_BENCH_STEPS_CPU, AGQ_BENCH_STEPS_GPU, ...);
# BENCH_BROWSER_ARGS passes arguments to run.mjs (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ -z "${AGQ_CHROMIUM:-}" ]; then
    echo "bench: installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
if [ ! -f pkg/agq_bg.wasm ] || [ ! -f pkg/agq.js ] || [ ! -f pkg/agq_gpu_bg.wasm ] || [ ! -f pkg/agq_gpu.js ]; then
    echo "bench: pkg/ is not built; make build"
    make build
fi
# npm ci when the installed tree does not match the lock file's pins
if ! (cd bench/browser && npm ls --depth=0 >/dev/null 2>&1); then
    echo "bench: npm ci in bench/browser (TensorFlow.js 4.22.0, playwright-core)"
    (cd bench/browser && npm ci --no-audit --no-fund)
fi
# where `make bench` (scripts/bench.sh) reads it: $CARGO_TARGET_DIR/bench, as an absolute path
out=${CARGO_TARGET_DIR:-target}/bench
mkdir -p "$out"
export AGQ_BENCH_OUT=${AGQ_BENCH_OUT:-$(cd "$out" && pwd)}
echo "bench: in the browser, nice node bench/browser/run.mjs ${BENCH_BROWSER_ARGS:-}"
# shellcheck disable=SC2086
(cd bench/browser && nice -n 10 node run.mjs --no-summary ${BENCH_BROWSER_ARGS:-})
