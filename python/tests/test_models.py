"""agq.models: each PyTorch network has the parameter names and shapes of the built-in one,
so its snapshot is evaluated by `agq eval` as that network (a mismatch is an error there)."""

import pytest

torch = pytest.importorskip("torch", reason="agq.models needs torch (make test installs it)")

from agq.models import NETWORKS  # noqa: E402
from agq.pytorch import GradientAccumulator  # noqa: E402

DATA = {"lenet300": "www/data/mnist", "lenet5": "www/data/mnist", "alexnet": "www/data/cifar10", "vgg16": "www/data/cifar10"}


@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_a_pytorch_network_evaluates_as_the_builtin_one(net, tmp_path, cli, root):
    torch.manual_seed(0)
    model = NETWORKS[net]()
    acc = GradientAccumulator(model, net=net)
    path = tmp_path / f"{net}.safetensors"
    acc.snapshot({"note": "untrained"}).save(path, "f32")
    out = cli("eval", "--snapshot", path, "--data", root / DATA[net]).stdout
    assert "%" in out, out
