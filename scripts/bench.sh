#!/usr/bin/env bash
# `make bench`: (1) PTQ + quantize_model + account + encode of VGG-16 for CIFAR-10 (15,245,130
# parameters), agq (criterion, benches/ptq.rs) next to numpy (bench/ptq_numpy.py), on the
# same inputs bit for bit; (2) in the browser (scripts/bench_browser.sh, bench/browser/):
# training throughput of LeNet-300-100 and LeNet-5 against TensorFlow.js and the page's start.
# Prints both parts, then one table of ratios (bench/browser/summary.mjs), also written to
# target/bench/summary.json and target/bench/browser.md; docs/BENCHMARKS.md has the numbers
# and what exactly is timed.
#
# BENCH_PARTS picks the parts (default "ptq native browser"; e.g. BENCH_PARTS=browser make bench);
# native: LeNet training natively against PyTorch (scripts/bench_native.sh).
# The summary holds the rows of the parts run by this invocation only.
#
# numpy is installed by this script, pinned, into the project-local venv .tools/venv (never
# a numpy installed by hand). Both benches run under `nice`; cargo waits by itself when
# another cargo holds the build lock.
#
# Environment: NUMPY_RUNS (timed numpy runs after one warm-up, default 3),
# CARGO_TARGET_DIR (as for cargo; results go to $CARGO_TARGET_DIR/bench), CRITERION_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."

NUMPY_VERSION=2.4.6
VENV=.tools/venv
PY=$VENV/bin/python
RUNS=${NUMPY_RUNS:-3}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT=$TARGET_DIR/bench
BENCH_ID=vgg16/ptq_quantize_account_encode
ESTIMATES=${CRITERION_HOME:-$TARGET_DIR/criterion}/$BENCH_ID/new/estimates.json
RUST_JSON=$OUT/ptq_rust.json
NUMPY_JSON=$OUT/ptq_numpy.json

PARTS=${BENCH_PARTS:-ptq native browser}
PTQ_SUMMARY=$OUT/ptq.json
BROWSER_JSON=$OUT/browser.json
NATIVE_JSON=$OUT/native.json
want() { [[ " $PARTS " == *" $1 "* ]]; }

# the venv's python sees only the venv's packages
venv_py() { env -u PYTHONPATH -u PYTHONHOME PYTHONNOUSERSITE=1 "$PY" "$@"; }

mkdir -p "$OUT"
rm -f "$PTQ_SUMMARY" "$BROWSER_JSON" "$NATIVE_JSON" "$OUT/summary.json" "$OUT/browser.md"

if want ptq; then

# 1. numpy==$NUMPY_VERSION in .tools/venv
if ! venv_py -c "import numpy, sys; sys.exit(numpy.__version__ != '$NUMPY_VERSION')" 2>/dev/null; then
    echo "bench: installing numpy==$NUMPY_VERSION into $VENV"
    if ! venv_py -m pip --version >/dev/null 2>&1; then
        python3 -m venv --clear "$VENV"
    fi
    venv_py -m pip install --quiet --disable-pip-version-check "numpy==$NUMPY_VERSION"
fi

rm -f "$RUST_JSON" "$NUMPY_JSON"
stamp=$OUT/.started
touch "$stamp"

# 2. agq: build, then run the criterion bench (sample size 10, about a minute in all)
echo "bench: building benches/ptq.rs (cargo waits if another build holds the lock)"
nice cargo bench --no-default-features --bench ptq --no-run
echo "bench: agq (criterion), nice cargo bench --no-default-features --bench ptq"
AGQ_BENCH_JSON=$RUST_JSON nice cargo bench --no-default-features --bench ptq
if [ ! -f "$ESTIMATES" ] || [ ! "$ESTIMATES" -nt "$stamp" ] || [ ! -f "$RUST_JSON" ]; then
    echo "bench: criterion left no fresh $ESTIMATES or $RUST_JSON" >&2
    exit 1
fi

# 3. numpy
echo "bench: numpy, nice $PY bench/ptq_numpy.py --runs $RUNS"
nice env -u PYTHONPATH -u PYTHONHOME PYTHONNOUSERSITE=1 \
    "$PY" bench/ptq_numpy.py --runs "$RUNS" --json "$NUMPY_JSON"

# 4. same output? then the summary
venv_py - "$ESTIMATES" "$RUST_JSON" "$NUMPY_JSON" <<'EOF'
import json, sys

est, rust, npy = (json.load(open(p)) for p in sys.argv[1:4])
for key in ("params", "total_bits", "stream_bytes", "stream_crc32"):
    if rust[key] != npy[key]:
        sys.exit(f"bench: agq and numpy differ in {key}: {rust[key]} != {npy[key]}")
mean = est["mean"]
agq_s = mean["point_estimate"] / 1e9
lo, hi = (mean["confidence_interval"][k] / 1e9 for k in ("lower_bound", "upper_bound"))
np_s = npy["mean_s"]
print(f"bench: same output: {rust['params']} parameters, {rust['total_bits']} bits, "
      f"bitstream crc32 {rust['stream_crc32']}")
print(f"bench: agq mean {agq_s:.3f} s (95% CI {lo:.3f}-{hi:.3f} s, criterion); "
      f"numpy {npy['numpy']} mean {np_s:.3f} s (best {npy['best_s']:.3f} s, "
      f"{npy['runs']} runs after 1 warm-up)")
print(f"agq {agq_s:.3g} s, numpy {np_s:.3g} s: agq is {np_s / agq_s:.1f}x faster")
EOF

# 5. the page's re-accounting of a loaded snapshot against the full pipeline (same run)
venv_py - "${CRITERION_HOME:-$TARGET_DIR/criterion}" <<'EOF'
import json, os, sys

def mean_ms(name):
    path = os.path.join(sys.argv[1], "vgg16", name, "new", "estimates.json")
    return json.load(open(path))["mean"]["point_estimate"] / 1e6

full = mean_ms("ptq_quantize_account_encode")
index = mean_ms("reaccount_index")
for name in ("reaccount_ptq", "reaccount_combined"):
    ms = mean_ms(name)
    print(f"bench: {name} {ms:.2f} ms (target 16 ms; the full pipeline {full:.0f} ms, "
          f"{full / ms:.0f}x slower); the index is built once in {index:.0f} ms")
EOF

# 6. this run's PTQ numbers for the summary table
venv_py - "${CRITERION_HOME:-$TARGET_DIR/criterion}" "$RUST_JSON" "$NUMPY_JSON" "$PTQ_SUMMARY" <<'EOF'
import json, os, sys

crit, rust, npy, out = sys.argv[1:5]
rust, npy = json.load(open(rust)), json.load(open(npy))
ms = lambda name: json.load(open(os.path.join(crit, "vgg16", name, "new", "estimates.json")))["mean"]["point_estimate"] / 1e6
json.dump({
    "params": rust["params"], "numpy": npy["numpy"], "runs": npy["runs"],
    "agq_s": ms("ptq_quantize_account_encode") / 1e3, "numpy_s": npy["mean_s"],
    "reaccount_ms": {n: ms(n) for n in ("reaccount_ptq", "reaccount_combined")},
}, open(out, "w"), indent=1)
EOF
fi

# 7. natively: LeNet training, agq against PyTorch on the CPU (installs torch into .tools/py)
if want native; then
    scripts/bench_native.sh
fi

# 8. in the browser: agq's page against TensorFlow.js (installs its npm peers)
if want browser; then
    scripts/bench_browser.sh
fi

# 9. one table of ratios: target/bench/summary.json, target/bench/browser.md
echo
echo "bench: summary (target/bench/summary.json, target/bench/browser.md)"
node bench/browser/summary.mjs --browser "$BROWSER_JSON" --ptq "$PTQ_SUMMARY" --native "$NATIVE_JSON" --out "$OUT"
