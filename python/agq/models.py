"""agq's four networks in PyTorch, with agq's parameter names and shapes, so that their
snapshots open in the page as the built-in networks (accuracy measured there too).
Needs torch. Layer lists: docs/NETWORKS.md.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _he_conv(c_in: int, c_out: int, k: int, stride: int = 1, pad: int = 0) -> nn.Conv2d:
    """A conv with He-normal weights (``std = sqrt(2 / fan_in)``) and a zero bias."""
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad)
    nn.init.normal_(conv.weight, 0.0, math.sqrt(2.0 / (c_in * k * k)))
    nn.init.zeros_(conv.bias)
    return conv


class LeNet300(nn.Module):
    """784-300-100-10, ReLU; input ``[B, 1, 28, 28]`` (266,610 parameters)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class LeNet5(nn.Module):
    """The Caffe LeNet-5 of agq: conv 20@5x5, max-pool 2, conv 50@5x5, max-pool 2, fc 500
    (ReLU), fc 10; input ``[B, 1, 28, 28]`` (431,080 parameters): ``conv1``, ``conv2``,
    ``fc1``, ``fc2``."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        pool = nn.functional.max_pool2d
        x = pool(self.conv2(pool(self.conv1(x), 2)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class AlexNet(nn.Module):
    """The CIFAR-10 AlexNet of agq (no dropout, no batch norm); input ``[B, 3, 32, 32]``
    (2,472,266 parameters): ``features.0..4`` convolutions, ``classifier``."""

    def __init__(self):
        super().__init__()
        self.features = nn.ModuleList(
            [
                _he_conv(3, 64, 11, 4, 5),
                _he_conv(64, 192, 5, 1, 2),
                _he_conv(192, 384, 3, 1, 1),
                _he_conv(384, 256, 3, 1, 1),
                _he_conv(256, 256, 3, 1, 1),
            ]
        )
        self.classifier = nn.Linear(256, 10)

    def forward(self, x):
        f, pool = self.features, nn.functional.max_pool2d
        x = pool(torch.relu(f[0](x)), 2)
        x = pool(torch.relu(f[1](x)), 2)
        x = torch.relu(f[2](x))
        x = torch.relu(f[3](x))
        x = pool(torch.relu(f[4](x)), 2)
        return self.classifier(x.flatten(1))


#: VGG-16 output channels; 0 marks a 2x2 max-pool.
VGG16_LAYERS = (64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0)


class Vgg16(nn.Module):
    """The CIFAR-10 VGG-16 of agq (13 convs 3x3 + one linear, no batch norm); input
    ``[B, 3, 32, 32]`` (14,719,818 parameters): ``features.0..12``, ``classifier``."""

    def __init__(self):
        super().__init__()
        convs, c_in = [], 3
        for c in VGG16_LAYERS:
            if c:
                convs.append(_he_conv(c_in, c, 3, 1, 1))
                c_in = c
        self.features = nn.ModuleList(convs)
        self.classifier = nn.Linear(512, 10)

    def forward(self, x):
        i = 0
        for c in VGG16_LAYERS:
            if c:
                x = torch.relu(self.features[i](x))
                i += 1
            else:
                x = nn.functional.max_pool2d(x, 2)
        return self.classifier(x.flatten(1))


NETWORKS = {"lenet300": LeNet300, "lenet5": LeNet5, "alexnet": AlexNet, "vgg16": Vgg16}
