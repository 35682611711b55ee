"""scripts/train_snapshot.py: a run resumed from its checkpoint is the run in one go, bit
for bit (CPU), a schedule that leaves too little recovery is refused, and the progress line
reads as documented."""

import gzip
import importlib.util
import re
import shutil

import numpy as np
import pytest

pytest.importorskip("torch", reason="the trainer needs torch (make test installs it)")

import agq  # noqa: E402

from conftest import ROOT  # noqa: E402


def trainer():
    spec = importlib.util.spec_from_file_location("train_snapshot", ROOT / "scripts" / "train_snapshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data(tmp_path):
    """256 CIFAR-10 images as a training folder (the page's test images: enough to train on)."""
    folder = tmp_path / "cifar"
    folder.mkdir()
    src = ROOT / "www" / "data" / "cifar10" / "test_batch_first1000.bin.gz"
    raw = gzip.decompress(src.read_bytes())[: 256 * 3073]
    (folder / "data_batch_1.bin").write_bytes(raw)
    return folder


def args(data, out, ckpt, *extra):
    return ["--net", "alexnet", "--data", str(data), "--epochs", "2", "--itq-epochs", "3", "--schedule", "8,0",
            "--batch", "64", "--threads", "1", "--dtype", "f32", "--out-dir", str(out), "--checkpoint", str(ckpt), *extra]


def test_two_epochs_in_one_go_equal_one_plus_a_resumed_one(data, tmp_path):
    train = trainer()
    one, two = tmp_path / "one", tmp_path / "two"
    assert train.main(args(data, one, tmp_path / "a.pt", "--stop-after", "4")) == 0
    assert train.main(args(data, two, tmp_path / "b.pt", "--stop-after", "3")) == 0
    assert train.main(args(data, two, tmp_path / "b.pt", "--stop-after", "4", "--resume")) == 0
    a_ck = __import__("torch").load(tmp_path / "a.pt", weights_only=False)
    b_ck = __import__("torch").load(tmp_path / "b.pt", weights_only=False)
    assert a_ck["state"]["epoch"] == b_ck["state"]["epoch"] == 4
    for k, v in a_ck["model"].items():
        assert v.numpy().tobytes() == b_ck["model"][k].numpy().tobytes(), k
    for k, v in a_ck["importance"]["importance"].items():
        assert v.numpy().tobytes() == b_ck["importance"]["importance"][k].numpy().tobytes(), k
    for k, v in a_ck["importance"]["widths"].items():
        assert np.array_equal(v.numpy(), b_ck["importance"]["widths"][k].numpy()), k
    assert [h["loss"] for h in a_ck["state"]["history"]] == [h["loss"] for h in b_ck["state"]["history"]]
    float_snap = agq.read_snapshot(one / "alexnet.safetensors")
    assert float_snap.provenance["epochs"] == 2 and len(float_snap.provenance["epoch_accuracy"]) == 2
    other = agq.read_snapshot(two / "alexnet.safetensors")  # its provenance differs: command, times
    for p, q in zip(float_snap.params, other.params):
        assert (p.weight.tobytes(), p.importance.tobytes()) == (q.weight.tobytes(), q.importance.tobytes())


def test_a_run_stopped_mid_epoch_resumes_bit_for_bit(data, tmp_path):
    """4 steps per epoch: stopped after 6 steps (epoch 2, step 2), then resumed to the end."""
    train = trainer()
    torch = __import__("torch")
    assert train.main(args(data, tmp_path / "one", tmp_path / "a.pt", "--stop-after", "3")) == 0
    assert train.main(args(data, tmp_path / "two", tmp_path / "b.pt", "--stop-after-steps", "6")) == 0
    mid = torch.load(tmp_path / "b.pt", weights_only=False)["state"]
    assert (mid["epoch"], mid["step"], len(mid["losses"])) == (1, 2, 2)
    assert mid["seconds"] > 0  # the interrupted epoch's time so far
    assert train.main(args(data, tmp_path / "two", tmp_path / "b.pt", "--stop-after", "3", "--resume")) == 0
    a_ck = torch.load(tmp_path / "a.pt", weights_only=False)
    b_ck = torch.load(tmp_path / "b.pt", weights_only=False)
    assert a_ck["state"]["epoch"] == b_ck["state"]["epoch"] == 3 and "step" not in b_ck["state"]
    for k, v in a_ck["model"].items():
        assert v.numpy().tobytes() == b_ck["model"][k].numpy().tobytes(), k
    for k, v in a_ck["importance"]["importance"].items():
        assert v.numpy().tobytes() == b_ck["importance"]["importance"][k].numpy().tobytes(), k
    assert [h["loss"] for h in a_ck["state"]["history"]] == [h["loss"] for h in b_ck["state"]["history"]]
    assert b_ck["state"]["history"][1]["seconds"] >= round(mid["seconds"], 1)  # both runs of epoch 2 count


def test_the_provenance_names_the_processor(data, tmp_path):
    train = trainer()
    assert train.main(args(data, tmp_path, tmp_path / "p.pt", "--stop-after", "2")) == 0
    hardware = agq.read_snapshot(tmp_path / "alexnet.safetensors").provenance["hardware"]
    assert hardware == train.hardware() and hardware.startswith(train.cpu_name())
    assert train.cpu_name() and "logical cores" in hardware


def test_the_itq_snapshot_continues_the_float_run(data, tmp_path):
    train = trainer()
    assert train.main(args(data, tmp_path, tmp_path / "c.pt")) == 0
    itq = agq.read_snapshot(tmp_path / "alexnet-itq.safetensors")
    prov = itq.provenance
    assert prov["method"] == "itq" and prov["epochs"] == 5 and len(prov["epoch_accuracy"]) == 5
    low = sum(int((p.width < 32).sum()) for p in itq.params) / itq.num_values
    assert low >= 0.9 and prov["itq_low_fraction"] == round(low, 4)
    pruned = sum(int((p.width == 0).sum()) for p in itq.params) / itq.num_values
    assert pruned >= 0.9
    q = agq.quantize_snapshot(tmp_path / "alexnet-itq.safetensors", method="itq")
    assert q.ratio > 5


def test_itq_continues_a_float_snapshot_when_the_checkpoint_is_gone(data, tmp_path):
    """The float phase once (its checkpoint then deleted), ITQ from its F32 snapshot: the
    float epochs' history and wall time carry over, the ITQ phase runs its schedule, the
    provenance says what it continued, and a resume after that uses the new checkpoint."""
    train = trainer()
    float_dir, itq_dir = tmp_path / "float", tmp_path / "itq"
    assert train.main(args(data, float_dir, tmp_path / "f.pt", "--stop-after", "2")) == 0
    (tmp_path / "f.pt").unlink()
    float_prov = agq.read_snapshot(float_dir / "alexnet.safetensors").provenance
    from_snapshot = ["--from-snapshot", str(float_dir / "alexnet.safetensors"), "--resume"]
    assert train.main(args(data, itq_dir, tmp_path / "g.pt", *from_snapshot, "--stop-after", "3")) == 0
    assert train.main(args(data, itq_dir, tmp_path / "g.pt", *from_snapshot)) == 0
    prov = agq.read_snapshot(itq_dir / "alexnet-itq.safetensors").provenance
    assert prov["epochs"] == 5 and prov["epoch_accuracy"][:2] == float_prov["epoch_accuracy"]
    assert prov["steps"] == float_prov["steps"] + 3 * 4
    assert prov["wall_time_seconds"] > float_prov["wall_time_seconds"]
    assert prov["continued_from"]["snapshot"] == "alexnet.safetensors" and "momentum" in prov["continued_from"]["note"]
    assert prov["itq_low_fraction"] >= 0.9 and not (itq_dir / "alexnet.safetensors").exists()


@pytest.mark.parametrize("change, message", [
    (["--epochs", "3", "--itq-epochs", "3"], "has 2 float epochs"),
    (["--net", "vgg16"], "is a snapshot of alexnet, not vgg16"),
])
def test_a_snapshot_that_is_not_the_float_run_is_refused(data, tmp_path, change, message):
    train = trainer()
    assert train.main(args(data, tmp_path / "float", tmp_path / "f.pt", "--stop-after", "2")) == 0
    with pytest.raises(SystemExit, match=message):
        train.main(args(data, tmp_path / "x", tmp_path / "x.pt", "--from-snapshot", str(tmp_path / "float" / "alexnet.safetensors"), *change))
    assert train.main(args(data, tmp_path / "float", tmp_path / "f.pt", "--resume")) == 0
    with pytest.raises(SystemExit, match="not a finished float run"):
        train.main(args(data, tmp_path / "y", tmp_path / "y.pt", "--from-snapshot", str(tmp_path / "float" / "alexnet-itq.safetensors")))


def test_a_schedule_without_a_third_for_recovery_is_refused(data, tmp_path):
    with pytest.raises(SystemExit, match="at least 1 epochs must follow"):
        trainer().main(args(data, tmp_path, tmp_path / "d.pt") + ["--schedule", "8,4,0"])


def test_an_interim_export_is_the_checkpointed_weights_and_says_so(data, tmp_path):
    """Stopped mid-epoch (epoch 2, step 2), exported: the checkpoint's weights and importance,
    the run's progress in the provenance; the run then goes on as if nothing happened."""
    train = trainer()
    torch = __import__("torch")
    ckpt = tmp_path / "e.pt"
    assert train.main(args(data, tmp_path / "run", ckpt, "--stop-after-steps", "6")) == 0
    before = ckpt.read_bytes()
    assert train.main(args(data, tmp_path / "out", ckpt, "--resume", "--export-interim")) == 0
    assert ckpt.read_bytes() == before
    saved = torch.load(ckpt, weights_only=False)
    snap = agq.read_snapshot(tmp_path / "out" / "alexnet.safetensors")
    interim = snap.provenance["interim"]
    assert (interim["epochs_done"], interim["steps_into_next_epoch"], interim["float_epochs_planned"]) == (1, 2, 2)
    assert snap.provenance["epochs"] == 2 and len(snap.provenance["epoch_accuracy"]) == 1
    for p in snap.params:
        assert p.weight.tobytes() == saved["model"][p.name].numpy().tobytes(), p.name
    assert not (tmp_path / "run" / "alexnet.safetensors").exists()


def test_an_interim_export_needs_a_run_in_its_float_phase(data, tmp_path):
    train = trainer()
    with pytest.raises(SystemExit, match="needs --resume"):
        train.main(args(data, tmp_path, tmp_path / "none.pt", "--export-interim"))
    assert train.main(args(data, tmp_path, tmp_path / "f.pt", "--stop-after", "2")) == 0
    with pytest.raises(SystemExit, match="past its float phase"):
        train.main(args(data, tmp_path, tmp_path / "f.pt", "--resume", "--export-interim"))


def test_a_snapshot_over_the_page_limit_leaves_its_taylor_sums_beside_it(tmp_path):
    """Over the limit: the page's file without the Taylor sums (its provenance says where they
    are), the whole snapshot beside it; under it: one file with them."""
    train = trainer()
    rng = np.random.default_rng(1)
    params = [agq.Param(n, rng.normal(size=s).astype(np.float32), rng.random(s, dtype=np.float32),
                        taylor=rng.random(s, dtype=np.float32)) for n, s in [("fc.weight", (30, 40)), ("fc.bias", (30,))]]
    snap = agq.Snapshot("tiny", params, {})
    snap.provenance = {"epochs": 1}
    train.save_snapshot(snap, tmp_path / "small.safetensors", "f16")
    assert agq.read_snapshot(tmp_path / "small.safetensors").params[0].taylor is not None
    assert not (tmp_path / "small-taylor.safetensors").exists()
    train.PAGE_LIMIT_BYTES = 4000
    train.save_snapshot(snap, tmp_path / "net.safetensors", "f16")
    lean = agq.read_snapshot(tmp_path / "net.safetensors")
    full = agq.read_snapshot(tmp_path / "net-taylor.safetensors")
    assert all(p.taylor is None for p in lean.params) and all(p.taylor is not None for p in full.params)
    for p, q in zip(lean.params, full.params):
        assert (p.weight.tobytes(), p.importance.tobytes()) == (q.weight.tobytes(), q.importance.tobytes())
    assert "net-taylor.safetensors" in lean.provenance["taylor"] and lean.provenance["epochs"] == 1
    assert snap.params[0].taylor is not None  # the caller's snapshot is left as it was


def test_the_progress_line_gives_the_speed_now_the_epoch_mean_and_an_eta(data, tmp_path, capsys):
    train = trainer()
    train.PROGRESS_SECONDS = 0.0  # a line after every step
    assert train.main(args(data, tmp_path / "out", tmp_path / "c.pt", "--stop-after", "1")) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("epoch 1/5 step")]
    assert len(lines) == 4, lines  # 256 images, batch 64
    pattern = re.compile(r"epoch 1/5 step (\d)/4 (\d+) images/s \(epoch mean (\d+)\) loss \d+\.\d{4} ETA \d+ min")
    assert [int(pattern.fullmatch(l).group(1)) for l in lines] == [1, 2, 3, 4]
    assert all(int(pattern.fullmatch(l).group(2)) > 0 for l in lines)


def test_bf16_autocast_trains_and_the_provenance_says_which_epochs_used_it(data, tmp_path):
    """The float phase in F32, ITQ from its snapshot under bf16 autocast: the weights and
    |grad| sums stay F32 and the provenance names each phase's precision."""
    train = trainer()
    float_dir, itq_dir = tmp_path / "float", tmp_path / "itq"
    assert train.main(args(data, float_dir, tmp_path / "f.pt", "--stop-after", "2")) == 0
    from_snapshot = ["--from-snapshot", str(float_dir / "alexnet.safetensors"), "--precision", "bf16"]
    assert train.main(args(data, itq_dir, tmp_path / "g.pt", *from_snapshot)) == 0
    float_prov = agq.read_snapshot(float_dir / "alexnet.safetensors").provenance
    itq = agq.read_snapshot(itq_dir / "alexnet-itq.safetensors")
    assert float_prov["recipe"]["precision"] == "F32" and "bf16" not in float_prov["engine"]
    assert itq.provenance["engine"].endswith(", bf16 autocast")
    assert itq.provenance["recipe"]["precision"] == (
        "F32 for epochs 1-2, bf16 autocast (F32 weights, gradients and |grad| sums) for epochs 3-5")
    assert all(p.weight.dtype == np.float32 and np.isfinite(p.importance).all() for p in itq.params)
    assert itq.provenance["itq_low_fraction"] >= 0.9 and 0 <= itq.provenance["accuracy_percent"] <= 100


def test_the_precision_summary_names_one_precision_or_each_with_its_epochs():
    summary = trainer().precision_summary
    assert summary([]) == "F32"
    assert summary([{"epoch": 1}, {"epoch": 2, "precision": "f32"}]) == "F32"
    both = [{"epoch": 1, "precision": "bf16"}, {"epoch": 2, "precision": "f32"}, {"epoch": 3, "precision": "f32"}]
    assert summary(both).startswith("bf16 autocast") and summary(both).endswith("for epoch 1, F32 for epochs 2-3")
