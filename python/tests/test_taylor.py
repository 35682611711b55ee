"""agq.pytorch's Taylor importance: ``T = sum_t |θ_t · g_t|`` over the same steps as
``G = sum_t |g_t|``, carried through state_dict and the snapshot (``taylor/P``), and
quantized by with ``importance="taylor"``."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="agq.pytorch needs torch (make test installs it)")

import agq  # noqa: E402
from agq.pytorch import GradientAccumulator  # noqa: E402


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 5)
        self.fc2 = torch.nn.Linear(5, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def run(model, acc, steps, record=None):
    g = torch.Generator().manual_seed(11)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        x = torch.randn(8, 6, generator=g)
        y = torch.randint(0, 3, (8,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        if record is not None:
            record.append({n: (p.detach().clone(), p.grad.detach().clone()) for n, p in model.named_parameters()})
        acc.accumulate()
        opt.step()


def test_taylor_is_the_sum_of_absolute_weight_times_gradient_over_the_steps():
    torch.manual_seed(0)
    model = Tiny()
    acc = GradientAccumulator(model, net="tiny")
    seen = []
    run(model, acc, steps=5, record=seen)
    for name, _ in model.named_parameters():
        exact = torch.zeros_like(seen[0][name][0])
        for step in seen:
            w, g = step[name]
            exact += (w * g).abs()
        assert torch.equal(acc.taylor[name], exact), name
        formula = sum((s[name][0].double() * s[name][1].double()).abs() for s in seen)
        assert torch.allclose(acc.taylor[name].double(), formula, rtol=1e-6, atol=1e-12)
        # the same steps as the gradient's sum
        assert torch.equal(acc.importance[name], sum(s[name][1].abs() for s in seen))


def test_taylor_goes_into_the_snapshot_and_is_quantized_by(tmp_path):
    torch.manual_seed(1)
    model = Tiny()
    acc = GradientAccumulator(model, net="tiny")
    run(model, acc, steps=3)
    path = tmp_path / "tiny.safetensors"
    acc.export(path, dtype="f32")
    back = agq.read_snapshot(path)
    for p in back.params:
        assert p.taylor.tobytes() == acc.taylor[p.name].numpy().tobytes()
    by_taylor = agq.quantize_snapshot(path, method="ptq", importance="taylor", clusters="quantile:0.5", widths="0,8")
    by_grad = agq.quantize_snapshot(path, method="ptq", importance="grad", clusters="quantile:0.5", widths="0,8")
    assert by_taylor.report["importance"] == "taylor"
    # half kept either way, chosen by a different ranking
    assert any(not np.array_equal(by_taylor.widths[n], by_grad.widths[n]) for n in by_grad.widths)


def test_a_state_without_taylor_resumes_without_it_and_taylor_is_then_refused(tmp_path):
    torch.manual_seed(2)
    model = Tiny()
    acc = GradientAccumulator(model, net="tiny")
    run(model, acc, steps=2)
    state = acc.state_dict()
    assert set(state["taylor"]) == {n for n, _ in model.named_parameters()}
    resumed = GradientAccumulator(model, net="tiny")
    resumed.load_state_dict(state)
    for name in state["taylor"]:
        assert torch.equal(resumed.taylor[name], acc.taylor[name])

    old = {k: v for k, v in state.items() if k != "taylor"}  # a checkpoint from before Taylor
    resumed = GradientAccumulator(model, net="tiny")
    resumed.load_state_dict(old)
    run(model, resumed, steps=1)
    assert resumed.taylor is None
    path = tmp_path / "old.safetensors"
    resumed.export(path, dtype="f32")
    assert all(p.taylor is None for p in agq.read_snapshot(path).params)
    with pytest.raises(agq.SettingsError, match="taylor"):
        agq.quantize_snapshot(path, method="ptq", importance="taylor")
