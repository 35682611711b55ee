"""agq.models: each PyTorch network has the parameter names and shapes of the built-in one,
so its snapshot is evaluated by `agq eval` as that network (a mismatch is an error there)."""

import gzip

import pytest

torch = pytest.importorskip("torch", reason="agq.models needs torch (make test installs it)")

from agq.models import NETWORKS  # noqa: E402
from agq.pytorch import GradientAccumulator  # noqa: E402

#: CIFAR-10 test images evaluated (the first of the page's 1,000: VGG-16 takes seconds per 100)
CIFAR_IMAGES = 100


def eval_data(net, root, tmp_path):
    """MNIST's test set, or the first CIFAR_IMAGES CIFAR-10 test images in a folder of their own."""
    if net.startswith("lenet"):
        return root / "www" / "data" / "mnist"
    folder = tmp_path / "cifar10"
    folder.mkdir()
    records = gzip.decompress((root / "www" / "data" / "cifar10" / "test_batch_first1000.bin.gz").read_bytes())
    (folder / "test_batch.bin").write_bytes(records[: CIFAR_IMAGES * 3073])
    return folder


@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_a_pytorch_network_evaluates_as_the_builtin_one(net, tmp_path, cli, root):
    torch.manual_seed(0)
    model = NETWORKS[net]()
    acc = GradientAccumulator(model, net=net)
    path = tmp_path / f"{net}.safetensors"
    acc.snapshot({"note": "untrained"}).save(path, "f32")
    out = cli("eval", "--snapshot", path, "--data", eval_data(net, root, tmp_path)).stdout
    assert "%" in out, out
