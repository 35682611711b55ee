#!/usr/bin/env python3
"""PyTorch's side of the engine comparison (scripts/bench_engines.sh): images per second of
one training step of an agq network on the CPU — forward, backward, |grad| accumulation
(agq.pytorch.GradientAccumulator) and the SGD update — on random data after a warm-up,
the same work as `agq bench-train`. Prints one JSON object:
{"engine", "net", "batch", "steps", "seconds", "images_per_s"}.

    .tools/py/bin/python scripts/bench_train_step.py --net alexnet --threads 2
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from agq.models import NETWORKS
from agq.pytorch import GradientAccumulator

INPUT = {"lenet300": (1, 28), "lenet5": (1, 28), "alexnet": (3, 32), "vgg16": (3, 32)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--net", choices=sorted(NETWORKS), required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--precision", choices=["f32", "bf16"], default="f32",
                    help="bf16: the forward and backward under CPU autocast (weights, gradients and |grad| stay F32)")
    ap.add_argument("--channels-last", action="store_true", help="NHWC activations and weights")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = NETWORKS[args.net]()
    layout = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    acc = GradientAccumulator(model, net=args.net)
    loss_fn = nn.CrossEntropyLoss()
    channels, side = INPUT[args.net]
    gen = torch.Generator().manual_seed(7)
    batches = [
        (torch.rand(args.batch, channels, side, side, generator=gen) * 2 - 1, torch.randint(0, 10, (args.batch,), generator=gen))
        for _ in range(args.warmup + args.steps)
    ]

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            loss = loss_fn(model(x.contiguous(memory_format=layout)), y)
        loss.backward()
        acc.accumulate()
        opt.step()
        return loss.detach()

    for x, y in batches[: args.warmup]:
        step(x, y)
    started = time.perf_counter()
    losses = [step(x, y) for x, y in batches[args.warmup :]]
    torch.stack(losses).sum().item()
    seconds = time.perf_counter() - started
    extras = "".join([", bf16 autocast" if args.precision == "bf16" else "", ", channels-last" if args.channels_last else ""])
    engine = f"PyTorch {torch.__version__} (CPU, {torch.get_num_threads()} threads{extras})"
    print(json.dumps({"engine": engine, "net": args.net, "batch": args.batch, "steps": args.steps, "seconds": seconds, "images_per_s": args.steps * args.batch / seconds}))


if __name__ == "__main__":
    main()
