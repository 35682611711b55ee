#!/usr/bin/env bash
# Makes the project-local Python environment .tools/py for the Python module's tests:
# pinned numpy, pytest, maturin and PyTorch (CPU use; pip's torch brings its CUDA libraries
# too, about 5 GB), then builds and installs the module from python/ (`pip install ./python`).
# Skips what is already there; the module is rebuilt every time (cargo keeps it incremental).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.tools/py
PY=$VENV/bin/python
PINS=(numpy==2.4.6 pytest==9.2.0 maturin==1.16.0 torch==2.15.0)

venv_py() { env -u PYTHONPATH -u PYTHONHOME PYTHONNOUSERSITE=1 "$PY" "$@"; }

if ! venv_py -m pip --version >/dev/null 2>&1; then
    python3 -m venv --clear "$VENV"
fi
if ! venv_py -c "import numpy, pytest, maturin, torch" >/dev/null 2>&1; then
    echo "python-env: installing ${PINS[*]} into $VENV"
    venv_py -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
fi
echo "python-env: building the agq module (pip install ./python)"
# the build runs in this environment (maturin is installed); CARGO_TARGET_DIR keeps its
# cargo cache between runs
export PATH="$PWD/$VENV/bin:$PATH"
export CARGO_TARGET_DIR="${AGQ_PY_TARGET_DIR:-$PWD/target/python}"
venv_py -m pip install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./python
venv_py -c "import agq; print('python-env: agq', agq.__version__, 'from', agq.__file__)"
