#!/usr/bin/env bash
# `make build`, after wasm-pack: makes one of the page's wasm modules (pkg/agq_bg.wasm, the
# CPU one, or pkg/agq_gpu_bg.wasm, the WebGPU one) smaller, in place (docs/BENCHMARKS.md, "wasm size").
#
#  - by default: removes its name section (scripts/wasm-strip.mjs, seconds; every other byte
#    unchanged): 39.7 -> 32.7 MB raw, 5.90 -> 4.75 MB gzip -9, 3.57 -> 2.75 MB brotli;
#  - with WASM_OPT_LEVEL=-Oz (or -Os, -O2, ...): runs wasm-opt from npm binaryen instead
#    (pinned in tools/binaryen/package.json, installed by scripts/install-tools.sh; Debian's
#    binaryen 108 corrupts wasm-bindgen output): 19.5 MB raw but 4.81 MB gzip -9, 2.89 MB
#    brotli (larger compressed than the default), LeNet-5 about 40% faster on the CPU backend,
#    and over 10 CPU-minutes (docs/BENCHMARKS.md), so it is not the default.
#
# Idempotent, and cached in target/wasm-opt/ per module (NAME: agq_bg or agq_gpu_bg): the
# module as wasm-bindgen wrote it (NAME.wasm, with the name section that
# `node scripts/wasm-size.mjs --crates` breaks down by crate), the result (NAME.opt.wasm) and a
# stamp (NAME.stamp) (their sha256s and the arguments). A module that is
# already the result is left alone; wasm-pack's same output again (`make serve` reruns it) gets
# the cached result; new bytes are processed again.
#
# Usage: scripts/wasm-opt.sh [FILE]   (default pkg/agq_bg.wasm)
# Environment: WASM_OPT_LEVEL (default "strip": the name section only; "off": nothing;
# "-Oz", "-O2", ...: wasm-opt), WASM_OPT_ARGS (more arguments for wasm-opt).
set -euo pipefail
cd "$(dirname "$0")/.."

wasm=${1:-pkg/agq_bg.wasm}
level=${WASM_OPT_LEVEL:-strip}
bin=tools/binaryen/node_modules/.bin/wasm-opt
keep=${CARGO_TARGET_DIR:-target}/wasm-opt
name=$(basename "$wasm" .wasm)
stamp=$keep/$name.stamp

if [ "$level" = off ] || [ "$level" = 0 ]; then
    echo "wasm-opt: skipped (WASM_OPT_LEVEL=$level)"
    exit 0
fi
[ -f "$wasm" ] || { echo "wasm-opt: $wasm is missing (run wasm-pack first)" >&2; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
sum=$(sha "$wasm")

# The features of wasm-bindgen's output (its target_features section, rustc 1.95 with simd128).
# Given explicitly: wasm-opt's output has no target_features section, and a second run on it
# must accept the same instructions.
features=(--enable-bulk-memory --enable-bulk-memory-opt --enable-call-indirect-overlong
    --enable-multivalue --enable-mutable-globals --enable-nontrapping-float-to-int
    --enable-reference-types --enable-sign-ext --enable-simd)

if [ "$level" = strip ]; then
    args=strip
else
    args="$level ${WASM_OPT_ARGS:-} ${features[*]}"
fi
if [ -f "$stamp" ]; then
    read -r in_sum out_sum < <(head -1 "$stamp")
    if [ "$sum" = "$out_sum" ] && [ "$(sed -n 2p "$stamp")" = "$args" ]; then
        echo "wasm-opt: $wasm is already processed ($args; $(stat -c %s "$wasm") bytes)"
        exit 0
    fi
    if [ "$sum" = "$in_sum" ] && [ "$(sed -n 2p "$stamp")" = "$args" ] \
        && [ -f "$keep/$name.opt.wasm" ] && [ "$(sha "$keep/$name.opt.wasm")" = "$out_sum" ]; then
        cp "$keep/$name.opt.wasm" "$wasm.opt-tmp" && mv "$wasm.opt-tmp" "$wasm"
        echo "wasm-opt: $wasm is the module processed before ($args); copied from $keep/$name.opt.wasm"
        exit 0
    fi
fi

mkdir -p "$keep"
rm -f "$stamp"
tmp=$wasm.opt-tmp
trap 'rm -f "$tmp"' EXIT
before=$(stat -c %s "$wasm")
start=$(date +%s)
node scripts/wasm-strip.mjs "$wasm" "$tmp"
# the module as wasm-bindgen wrote it (one processed here before has no name section)
if [ "$(stat -c %s "$tmp")" != "$before" ]; then
    cp "$wasm" "$keep/$name.wasm"
fi
if [ "$level" != strip ]; then
    [ -x "$bin" ] || scripts/install-tools.sh build
    echo "wasm-opt: $bin $level on $wasm ($before bytes; many minutes on one core)"
    # shellcheck disable=SC2086
    nice -n 10 "$bin" "${features[@]}" $level ${WASM_OPT_ARGS:-} "$wasm" -o "$tmp"
fi
# wasm-pack may have rewritten the module meanwhile: then the result is of an old build
if [ "$(sha "$wasm")" != "$sum" ]; then
    rm -f "$tmp"
    echo "wasm-opt: $wasm changed while it was processed; run scripts/wasm-opt.sh again" >&2
    exit 1
fi
cp "$tmp" "$keep/$name.opt.wasm"
mv "$tmp" "$wasm"
printf '%s %s\n%s\n' "$sum" "$(sha "$wasm")" "$args" >"$stamp"
echo "wasm-opt: $wasm ($args) $before -> $(stat -c %s "$wasm") bytes in $(($(date +%s) - start)) s (as wasm-bindgen wrote it: $keep/$name.wasm)"
