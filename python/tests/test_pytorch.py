"""agq.pytorch: the accumulated importance is the formula's, ITQ freezes and projects as
the core decides, and the exported snapshot is what the module quantizes."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="agq.pytorch needs torch (make test installs it)")

import agq  # noqa: E402
from agq.pytorch import GradientAccumulator  # noqa: E402

from mnist import mnist_head  # noqa: E402


class LeNet300(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 300)
        self.fc2 = torch.nn.Linear(300, 100)
        self.fc3 = torch.nn.Linear(100, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


@pytest.fixture(scope="module")
def data():
    x, y = mnist_head(256)
    return torch.from_numpy(x), torch.from_numpy(y)


def train(model, acc, data, steps, batch=64, lr=0.05, record=None):
    x, y = data
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for s in range(steps):
        i = (s * batch) % len(x)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i : i + batch]), y[i : i + batch]).backward()
        if record is not None:
            record.append({n: p.grad.detach().clone() for n, p in model.named_parameters()})
        acc.accumulate()
        opt.step()
        acc.constrain()


def test_the_importance_is_the_sum_of_absolute_gradients_over_the_steps(data):
    torch.manual_seed(0)
    model = LeNet300()
    acc = GradientAccumulator(model, net="lenet300")
    grads = []
    train(model, acc, data, steps=6, record=grads)
    assert acc.steps == 6
    for name, _ in model.named_parameters():
        exact = torch.zeros_like(grads[0][name])
        for g in grads:
            exact += g[name].abs()
        assert torch.equal(acc.importance[name], exact), name
        formula = sum(g[name].double().abs() for g in grads)
        assert torch.allclose(acc.importance[name].double(), formula, rtol=1e-6, atol=0)
    assert [p.name for p in acc.snapshot().params] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]


def test_frozen_values_stay_bit_identical_at_the_cores_quantized_values(data):
    torch.manual_seed(1)
    model = LeNet300()
    acc = GradientAccumulator(model, net="lenet300", itq=agq.ItqSettings(split=0.9, warmup=0, schedule=(4,)))
    train(model, acc, data, steps=3)
    before = acc.snapshot().params
    step = acc.end_epoch()
    assert step is not None and step.width == 4
    reference = agq.itq_step("lenet300", before, 0, acc.itq)
    train(model, acc, data, steps=4)
    for name, p in model.named_parameters():
        assert np.array_equal(step.widths[name], reference.widths[name])
        low = torch.from_numpy(step.widths[name] < 32)
        values = torch.from_numpy(reference.values[name])
        assert torch.equal(p.detach()[low], values[low]), name
        if name == "fc1.weight":
            assert not torch.equal(p.detach()[~low], values[~low]), "the float group keeps training"
    share = sum(int((w < 32).sum()) for w in step.widths.values()) / sum(w.size for w in step.widths.values())
    assert share == pytest.approx(0.9, abs=1e-5)


def test_projected_values_stay_on_their_grid(data):
    torch.manual_seed(2)
    model = LeNet300()
    acc = GradientAccumulator(model, net="lenet300", itq=agq.ItqSettings(split=0.9, warmup=0, schedule=(6,), mode="project"))
    train(model, acc, data, steps=2)
    step = acc.end_epoch()
    frozen_then = {n: p.detach().clone() for n, p in model.named_parameters()}
    train(model, acc, data, steps=3)
    moved = 0
    for name, p in model.named_parameters():
        widths = step.widths[name]
        w = p.detach().numpy()
        for b, f in step.grids[name].items():
            codes = w[widths == b].astype(np.float64) * 2.0**f
            assert np.array_equal(codes, np.round(codes)), name
            assert codes.min(initial=0) >= -(2 ** (b - 1)) and codes.max(initial=0) <= 2 ** (b - 1) - 1
        moved += int((p.detach() != frozen_then[name])[torch.from_numpy(widths < 32)].sum())
    assert moved > 0, "projected values keep training"


def test_the_exported_snapshot_is_what_the_module_quantizes(data, tmp_path):
    torch.manual_seed(3)
    model = LeNet300()
    acc = GradientAccumulator(model, net="lenet300", itq=agq.ItqSettings(warmup=0, schedule=(8,)))
    train(model, acc, data, steps=2)
    acc.end_epoch()
    train(model, acc, data, steps=2)
    path = tmp_path / "lenet300.safetensors"
    snap = acc.export(path, provenance={"test": True}, dtype="f32")
    back = agq.read_snapshot(path)
    assert back.net == "lenet300" and back.provenance["test"] is True and back.provenance["epochs"] == 1
    for p in back.params:
        assert p.importance.tobytes() == acc.importance[p.name].numpy().tobytes()
        assert np.array_equal(p.width, acc.widths[p.name].numpy())
    direct = acc.quantize(method="combined")
    from_file = agq.quantize_snapshot(path, method="combined")
    assert direct.to_bytes() == from_file.to_bytes()
    assert from_file.report["params"] == 266610 == snap.num_values


def test_a_resumed_accumulator_continues_where_it_stopped(data):
    torch.manual_seed(4)
    model = LeNet300()
    settings = agq.ItqSettings(warmup=0, schedule=(6, 4))
    acc = GradientAccumulator(model, net="lenet300", itq=settings)
    train(model, acc, data, steps=2)
    acc.end_epoch()
    state = acc.state_dict()
    resumed = GradientAccumulator(model, net="lenet300", itq=settings)
    resumed.load_state_dict(state)
    assert resumed.epoch == 1 and resumed.steps == 2
    for name, _ in model.named_parameters():
        assert torch.equal(resumed.importance[name], acc.importance[name])
        assert torch.equal(resumed.widths[name], acc.widths[name])
    a, b = acc.end_epoch(), resumed.end_epoch()
    assert a.width == b.width == 4
    for name in a.widths:
        assert np.array_equal(a.widths[name], b.widths[name])
