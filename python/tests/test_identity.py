"""The module's numbers equal the command line's byte for byte: reports, .agq files, ITQ
widths, values and grids, decoded values; on seeded random networks and on a committed
snapshot."""

import json
import struct

import numpy as np
import pytest

import agq

SETTINGS = [
    dict(method="ptq"),
    dict(method="ptq", clusters="kmeans:3", widths=[0, 4, 8]),
    dict(method="ptq", importance="magnitude", clusters="quantile:0.3,0.9", widths=[2, 6, 32]),
    dict(method="ptq", importance="random", seed=5),
    dict(method="ptq", importance="grad-magnitude", clusters="quantile:0.6,0.9", widths=[0, 4, 8]),
    dict(method="itq"),
    dict(method="combined", clusters="kmeans:4", widths=[0, 3, 5, 16]),
]


def cli_args(s):
    args = ["--method", s["method"]]
    if "importance" in s:
        args += ["--importance", s["importance"]]
    if "clusters" in s:
        args += ["--clusters", s["clusters"]]
    if "widths" in s:
        args += ["--widths", ",".join(map(str, s["widths"]))]
    if "seed" in s:
        args += ["--seed", str(s["seed"])]
    return args


def cli_quantize(cli, snapshot_path, tmp_path, settings):
    out, report = tmp_path / "cli.agq", tmp_path / "cli.json"
    cli("quantize", "--snapshot", snapshot_path, *cli_args(settings), "--out", out, "--report", report)
    return out.read_bytes(), report.read_text()


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(str(v) for v in s.values()))
@pytest.mark.parametrize("seed", [1, 2])
def test_reports_and_agq_bytes_equal_the_command_lines_on_random_networks(cli, random_snapshot, tmp_path, settings, seed):
    path, snap = random_snapshot(seed)
    cli_bytes, cli_report = cli_quantize(cli, path, tmp_path, settings)
    from_path = agq.quantize_snapshot(path, **settings)
    in_memory = agq.quantize_snapshot(snap, **settings)
    for q in (from_path, in_memory):
        assert q.report_json == cli_report
        assert q.to_bytes() == cli_bytes
        assert q.report["bytes"] == len(cli_bytes)


@pytest.mark.parametrize("method", ["ptq", "itq", "combined"])
def test_a_committed_snapshot_quantizes_as_the_command_line_does(cli, root, tmp_path, method):
    path = root / "www" / "snapshots" / "alexnet-itq.safetensors"
    cli_bytes, cli_report = cli_quantize(cli, path, tmp_path, {"method": method})
    q = agq.quantize_snapshot(path, method=method)
    assert q.report_json == cli_report
    assert q.to_bytes() == cli_bytes
    assert json.loads(cli_report)["net"] == "alexnet"


def test_the_defaults_are_the_command_lines(cli, root, tmp_path):
    path = root / "www" / "snapshots" / "alexnet-itq.safetensors"
    out, report = tmp_path / "d.agq", tmp_path / "d.json"
    cli("quantize", "--snapshot", path, "--out", out, "--report", report)
    q = agq.quantize_snapshot(path)
    assert (q.report_json, q.to_bytes()) == (report.read_text(), out.read_bytes())
    assert q.report["method"] == "combined"


def test_vgg16s_default_importance_is_grad_magnitude_as_on_the_command_line(cli, root, tmp_path):
    path = root / "www" / "snapshots" / "vgg16.safetensors"
    out, report = tmp_path / "v.agq", tmp_path / "v.json"
    cli("quantize", "--snapshot", path, "--method", "ptq", "--out", out, "--report", report)
    q = agq.quantize_snapshot(path, method="ptq")
    assert (q.report_json, q.to_bytes()) == (report.read_text(), out.read_bytes())
    assert q.report["importance"] == "grad-magnitude"
    assert agq.quantize_snapshot(path, method="ptq", importance="grad").report["importance"] == "grad"


@pytest.mark.parametrize("epoch", [1, 3, 6])
@pytest.mark.parametrize("mode_widths", [False, True], ids=["float", "with-widths"])
@pytest.mark.parametrize("importance", ["grad", "grad-magnitude"])
def test_itq_widths_values_and_grids_equal_the_command_lines(cli, random_snapshot, tmp_path, epoch, mode_widths, importance):
    path, snap = random_snapshot(3, with_widths=mode_widths)
    settings = agq.ItqSettings(split=0.8, warmup=1, schedule=(8, 6, 4, 2, 0), importance=importance)
    step = agq.itq_step(snap.net, snap.params, epoch, settings)
    out, grids = tmp_path / "itq.safetensors", tmp_path / "grids.json"
    cli("itq", "--snapshot", path, "--epoch", epoch, "--split", 0.8, "--warmup", 1, "--schedule", "8,6,4,2,0",
        "--importance", importance, "--out", out, "--grids", grids)
    ref = agq.read_snapshot(out)
    ref_grids = json.loads(grids.read_text())
    assert step.width == ref_grids["width"] == agq.itq_width(epoch, settings)
    for p in ref.params:
        assert np.array_equal(step.widths[p.name], p.width)
        assert step.values[p.name].tobytes() == p.weight.tobytes()
        assert step.grids[p.name] == {b: f for b, f in ref_grids["grids"][p.name]}


def test_no_itq_step_during_the_warmup(random_snapshot):
    _, snap = random_snapshot(1)
    assert agq.itq_step(snap.net, snap.params, 0, agq.ItqSettings(warmup=1)) is None
    assert agq.itq_width(0, agq.ItqSettings(warmup=1)) is None
    assert agq.itq_width(9, agq.ItqSettings(warmup=1, schedule=(8, 4))) == 4


def read_weights_file(path):
    """A safetensors file of F32 tensors (what `agq decode` writes): {name: array}."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for key, t in header.items():
        if key == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[key.split("/", 1)[1]] = np.frombuffer(body[a:b], dtype="<f4").reshape(t["shape"])
    return out


def test_decoded_values_equal_the_command_lines_and_the_quantized_ones(cli, random_snapshot, tmp_path):
    path, snap = random_snapshot(4)
    q = agq.quantize_snapshot(path, method="combined")
    agq_path = tmp_path / "m.agq"
    q.save(agq_path)
    decoded = agq.decode(agq_path)
    cli("decode", agq_path, "--out", tmp_path / "w.safetensors")
    ref = read_weights_file(tmp_path / "w.safetensors")
    assert decoded.net == "custom-net"
    for p in snap.params:
        assert decoded.values[p.name].tobytes() == ref[p.name].astype(np.float32).tobytes()
        assert np.array_equal(decoded.widths[p.name] > 0, decoded.values[p.name] != 0)
        # every stored value sits exactly on its width's grid
        values, _ = agq.quantize_tensor(p.weight, q.widths[p.name])
        assert values.tobytes() == decoded.values[p.name].tobytes()


def test_a_snapshot_written_by_the_module_reads_back_and_inspects(cli, random_snapshot, tmp_path):
    _, snap = random_snapshot(5)
    snap.provenance = {"by": "pytest"}
    path = tmp_path / "f16.safetensors"
    snap.save(path)  # f16
    back = agq.read_snapshot(path)
    assert [p.name for p in back.params] == [p.name for p in snap.params]
    assert back.provenance == {"by": "pytest"}
    for a, b in zip(snap.params, back.params):
        assert np.array_equal(a.width, b.width)
        assert np.allclose(a.weight, b.weight, rtol=1e-3, atol=1e-4)
    text = cli("inspect", path).stdout
    assert "gradient snapshot" in text and "enc.conv.weight" in text


def test_projection_snaps_onto_the_grid_of_the_itq_step(random_snapshot):
    _, snap = random_snapshot(6, with_widths=False)
    step = agq.itq_step(snap.net, snap.params, 3, agq.ItqSettings(split=0.9))
    for p in snap.params:
        widths, grid = step.widths[p.name], step.grids[p.name]
        moved = p.weight * np.float32(1.01)
        snapped = agq.project(moved, widths, grid)
        low = widths < 32
        assert np.array_equal(snapped[~low], moved[~low])
        for b, f in grid.items():
            codes = snapped[widths == b] * np.float32(2.0**f)
            assert np.array_equal(codes, np.round(codes))
            assert codes.min(initial=0) >= -(2 ** (b - 1)) and codes.max(initial=0) <= 2 ** (b - 1) - 1
