"""Shared fixtures: the repository, the ``agq`` command line (the reference the module is
compared with), and seeded random snapshots of a custom architecture."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import agq

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def agq_bin() -> Path:
    """``target/release/agq`` (or ``$AGQ_BIN``); `make test` builds it before these tests."""
    path = Path(os.environ.get("AGQ_BIN", ROOT / "target" / "release" / "agq"))
    if not path.exists():
        pytest.fail(f"the agq command line is not built ({path}): run `cargo build --release --bin agq`")
    return path


@pytest.fixture(scope="session")
def cli(agq_bin):
    """Runs ``agq ARGS...`` and returns its stdout; a failure fails the test with stderr."""

    def run(*args, ok=True):
        out = subprocess.run([str(agq_bin), *map(str, args)], capture_output=True, text=True)
        if ok and out.returncode != 0:
            pytest.fail(f"agq {' '.join(map(str, args))} failed: {out.stderr}")
        return out

    return run


def random_params(seed: int, with_widths: bool):
    """A custom network's parameters: a conv, a linear layer and biases, with importances
    spread over decades (ties included) and ITQ-like widths."""
    rng = np.random.default_rng(seed)
    shapes = [("enc.conv.weight", (6, 3, 3, 3)), ("enc.conv.bias", (6,)), ("head.fc.weight", (10, 96)), ("head.fc.bias", (10,))]
    params = []
    for name, shape in shapes:
        weight = rng.normal(0.0, 0.3, size=shape).astype(np.float32)
        importance = np.exp(rng.normal(-3.0, 2.0, size=shape)).astype(np.float32)
        importance.flat[:: 7] = importance.flat[0]  # ties, broken by flat index
        width = None
        if with_widths:
            width = rng.choice(np.array([0, 2, 4, 8, 32], dtype=np.uint8), size=shape, p=[0.1, 0.1, 0.2, 0.2, 0.4])
        params.append(agq.Param(name, weight, importance, width))
    return params


@pytest.fixture
def random_snapshot(tmp_path):
    """``(path, snapshot)`` of a seeded random custom network, written with its widths (f32)."""

    def make(seed=1, with_widths=True):
        snap = agq.Snapshot("custom-net", random_params(seed, with_widths))
        path = tmp_path / f"random-{seed}.safetensors"
        snap.save(path, dtype="f32")
        return path, snap

    return make
