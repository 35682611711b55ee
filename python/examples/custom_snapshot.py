"""Writes a gradient snapshot of a small custom network (not one of agq's four) with the
Python module: a conv + linear classifier for 3x16x16 images, trained for a few steps on
random data with agq.pytorch (importance accumulated, one ITQ step), so it carries
importances and ITQ widths. The page's "Open a snapshot" quantizes such a file; its
accuracy is not measured there (agq.net "custom-cnn" is not a built-in network).

    python examples/custom_snapshot.py custom-cnn.safetensors
"""

import sys

import torch
from torch import nn

import agq
from agq.pytorch import GradientAccumulator


class CustomCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 8 * 8, 32), nn.ReLU(), nn.Linear(32, 5))

    def forward(self, x):
        return self.head(self.encoder(x))


def main(path: str) -> None:
    torch.manual_seed(7)
    model = CustomCnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    acc = GradientAccumulator(model, net="custom-cnn", itq=agq.ItqSettings(split=0.9, warmup=1, schedule=(6,)))
    for _epoch in range(2):
        for _step in range(8):
            x = torch.randn(16, 3, 16, 16)
            y = torch.randint(0, 5, (16,))
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            acc.accumulate()
            opt.step()
            acc.constrain()
        acc.end_epoch()
    snap = acc.export(path, provenance={"data": "random tensors (an example, not a trained network)"})
    print(f"{path}: {snap.net}, {len(snap.params)} tensors, {snap.num_values} parameters")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "custom-cnn.safetensors")
