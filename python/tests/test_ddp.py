"""Under DistributedDataParallel (two processes, gloo, CPU) the helper accumulates the
all-reduced gradients and rank 0 exports: the same snapshot as one process with the same
global batch (weights and importances equal to float rounding, ITQ widths equal)."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="agq.pytorch needs torch (make test installs it)")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

import agq  # noqa: E402
from agq.pytorch import GradientAccumulator  # noqa: E402

from mnist import mnist_head  # noqa: E402

GLOBAL_BATCH = 64
IMAGES = 512
EPOCHS = 3
SETTINGS = agq.ItqSettings(split=0.9, warmup=1, schedule=(8, 4), mode="freeze")


class SmallMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 32)
        self.fc2 = torch.nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def run(rank: int, world: int, out: str) -> None:
    """Trains on ``world`` processes; each takes its share of every global batch."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SmallMlp()
    x, y = (torch.from_numpy(a) for a in mnist_head(IMAGES))
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    acc = GradientAccumulator(model, net="small-mlp", itq=SETTINGS)
    share = GLOBAL_BATCH // world
    for epoch in range(EPOCHS):
        order = torch.randperm(IMAGES, generator=torch.Generator().manual_seed(epoch))
        for i in range(0, IMAGES, GLOBAL_BATCH):
            idx = order[i + rank * share : i + (rank + 1) * share]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            acc.accumulate()
            opt.step()
            acc.constrain()
        acc.end_epoch()
    written = acc.export(out, dtype="f32")
    assert (written is None) == (rank != 0)


def ddp_worker(rank: int, world: int, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        run(rank, world, out)
    finally:
        dist.destroy_process_group()


def test_two_processes_give_the_snapshot_of_one(tmp_path):
    single = tmp_path / "single.safetensors"
    run(0, 1, str(single))
    ddp = tmp_path / "ddp.safetensors"
    mp.spawn(ddp_worker, args=(2, str(tmp_path / "init"), str(ddp)), nprocs=2, join=True)
    a, b = agq.read_snapshot(single), agq.read_snapshot(ddp)
    assert [p.name for p in a.params] == [p.name for p in b.params] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    for p, q in zip(a.params, b.params):
        assert np.array_equal(p.width, q.width), p.name
        assert np.allclose(p.importance, q.importance, rtol=1e-5, atol=1e-8), p.name
        assert np.allclose(p.weight, q.weight, rtol=1e-5, atol=1e-6), p.name
    low = sum(int((p.width < 32).sum()) for p in a.params)
    assert low >= int(np.ceil(0.9 * a.num_values))  # two steps: the union of two low groups
    assert a.provenance["epochs"] == b.provenance["epochs"] == EPOCHS
