"""Trains LeNet-300-100 on MNIST in PyTorch with agq's importance accumulation and
in-training quantization, exports the gradient snapshot, and quantizes it (combined).
Open the snapshot in the page ("Open a snapshot"): it is agq's own LeNet-300-100 (same
parameter names and shapes), so the page also measures its accuracy on MNIST.

    python python/examples/train_lenet300.py --epochs 10 --out lenet300-torch.safetensors

MNIST comes from the repository (www/data/mnist, the original gzipped IDX files), normalised
as the page does: (x / 255 - 0.1307) / 0.3081.
"""

import argparse
import gzip
import os
import time

import numpy as np
import torch
from torch import nn

import agq
from agq.models import LeNet300  # agq's names and shapes: fc1.weight [300, 784], ...
from agq.pytorch import GradientAccumulator

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, "..", "..", "www", "data", "mnist")


def load_mnist(folder: str, train: bool):
    """Images ``[n, 1, 28, 28]`` float32 (normalised) and labels ``[n]`` int64."""
    prefix = "train" if train else "t10k"
    with gzip.open(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    x = (images.astype(np.float32) / 255.0 - 0.1307) / 0.3081
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


@torch.no_grad()
def accuracy(model, x, y) -> float:
    correct = sum(int((model(x[i : i + 1000]).argmax(1) == y[i : i + 1000]).sum()) for i in range(0, len(x), 1000))
    return 100.0 * correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--train-size", type=int, default=60000)
    ap.add_argument("--no-itq", action="store_true", help="train in float (importance only)")
    ap.add_argument("--data", default=MNIST)
    ap.add_argument("--out", default="lenet300-torch.safetensors")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    x, y = load_mnist(args.data, train=True)
    x, y = x[: args.train_size], y[: args.train_size]
    tx, ty = load_mnist(args.data, train=False)
    model = LeNet300()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=0.002)
    itq = None if args.no_itq else agq.ItqSettings(split=0.95, warmup=1, schedule=(8, 6, 4, 2, 0))
    acc = GradientAccumulator(model, net="lenet300", itq=itq)
    started = time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x) - args.batch + 1, args.batch):
            idx = order[i : i + args.batch]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            acc.accumulate()
            opt.step()
            acc.constrain()
        step = acc.end_epoch()
        note = f", ITQ step at {step.width} bits" if step is not None else ""
        print(f"epoch {epoch + 1}: test accuracy {accuracy(model, tx, ty):.2f}%{note}", flush=True)
    snap = acc.export(args.out, provenance={"data": "MNIST", "seconds": round(time.time() - started, 1)})
    method = "combined" if any(p.width is not None for p in snap.params) else "ptq"
    q = agq.quantize_snapshot(snap, method=method)
    print(f"{args.out}: {snap.num_values} parameters; {method}: ratio {q.ratio:.2f}x, {q.report['bytes']} bytes")


if __name__ == "__main__":
    main()
