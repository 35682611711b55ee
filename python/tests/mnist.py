"""The first images of the repository's MNIST training set (www/data/mnist), normalised
as the page does, for the PyTorch tests."""

import gzip
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def mnist_head(n: int):
    """``(images [n, 1, 28, 28] float32, labels [n] int64)``."""
    folder = ROOT / "www" / "data" / "mnist"
    with gzip.open(folder / "train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(16 + n * 784), dtype=np.uint8, offset=16).reshape(n, 1, 28, 28)
    with gzip.open(folder / "train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(8 + n), dtype=np.uint8, offset=8)
    x = (images.astype(np.float32) / 255.0 - 0.1307) / 0.3081
    return x, labels.astype(np.int64)
