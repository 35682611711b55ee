"""Bad input raises a clear Python exception and never crashes the interpreter."""

import numpy as np
import pytest

import agq


def param(**kw):
    base = dict(
        name="fc.weight",
        weight=np.ones((3, 4), np.float32),
        importance=np.ones((3, 4), np.float32),
        width=None,
    )
    base.update(kw)
    return agq.Param(**base)


def test_the_exceptions_are_value_errors_under_one_base():
    for e in (agq.SnapshotError, agq.SettingsError, agq.DecodeError):
        assert issubclass(e, agq.AgqError) and issubclass(e, ValueError)


def test_a_float64_weight_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="float32"):
        agq.Snapshot("n", [param(weight=np.ones((3, 4)))]).to_bytes()


def test_a_list_instead_of_an_array_is_refused():
    with pytest.raises(TypeError, match="numpy"):
        agq.Snapshot("n", [param(importance=[[1.0] * 4] * 3)]).to_bytes()


def test_an_importance_of_another_shape_is_refused():
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        agq.Snapshot("n", [param(importance=np.ones((4, 3), np.float32))]).to_bytes()


def test_widths_must_be_uint8():
    with pytest.raises(TypeError, match="uint8"):
        agq.Snapshot("n", [param(width=np.full((3, 4), 8, np.int64))]).to_bytes()


def test_a_nan_importance_is_refused_with_its_position():
    imp = np.ones((3, 4), np.float32)
    imp[1, 2] = np.nan
    with pytest.raises(agq.SnapshotError, match=r"importance/fc.weight\[6\]"):
        agq.Snapshot("n", [param(importance=imp)]).to_bytes()
    with pytest.raises(agq.SnapshotError):
        agq.itq_step("n", [param(importance=imp)], 3)


def test_a_negative_importance_or_an_infinite_weight_is_refused():
    with pytest.raises(agq.SnapshotError, match="negative"):
        agq.Snapshot("n", [param(importance=-np.ones((3, 4), np.float32))]).to_bytes()
    w = np.ones((3, 4), np.float32)
    w[0, 0] = np.inf
    with pytest.raises(agq.SnapshotError, match="NaN or infinite"):
        agq.Snapshot("n", [param(weight=w)]).to_bytes()


def test_an_invalid_width_is_refused():
    with pytest.raises(agq.SnapshotError, match="not a width"):
        agq.Snapshot("n", [param(width=np.full((3, 4), 1, np.uint8))]).to_bytes()
    with pytest.raises(agq.AgqError):
        agq.quantize_tensor(np.ones(4, np.float32), np.array([8, 8, 17, 8], np.uint8))


def test_two_parameters_of_one_name_are_refused():
    with pytest.raises(agq.SnapshotError, match="twice"):
        agq.Snapshot("n", [param(), param()]).to_bytes()


def test_a_truncated_or_foreign_file_is_refused(random_snapshot):
    path, _ = random_snapshot(1)
    data = path.read_bytes()
    for bad in (data[:100], data[: len(data) // 2], b"", b"\x00" * 64, b"not a snapshot at all"):
        with pytest.raises(agq.SnapshotError):
            agq.read_snapshot(bad)
        with pytest.raises(agq.SnapshotError):
            agq.quantize_snapshot(bad, method="ptq")


def test_a_missing_file_raises_the_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        agq.read_snapshot(tmp_path / "missing.safetensors")


def test_bad_settings_name_the_setting(random_snapshot):
    path, _ = random_snapshot(1)
    cases = [
        (dict(method="fast"), "method"),
        (dict(importance="taylor"), "importance"),
        (dict(clusters="median:3"), "clusters"),
        (dict(widths=[0, 4, 6]), "clusters/widths"),
        (dict(widths=[0, 4, 4, 8]), "increase"),
    ]
    for kw, needle in cases:
        with pytest.raises(agq.SettingsError, match=needle):
            agq.quantize_snapshot(path, **kw)
    with pytest.raises(agq.SettingsError, match="split"):
        agq.itq_step("n", [param()], 3, agq.ItqSettings(split=0.3))
    with pytest.raises(agq.SettingsError, match="mode"):
        agq.ItqSettings(mode="sometimes")


def test_itq_without_widths_is_refused(random_snapshot):
    path, _ = random_snapshot(1, with_widths=False)
    with pytest.raises(agq.SnapshotError, match="width/P"):
        agq.quantize_snapshot(path, method="combined")


def test_a_corrupt_agq_file_is_refused(random_snapshot):
    path, _ = random_snapshot(2)
    good = agq.quantize_snapshot(path, method="ptq").to_bytes()
    rng = np.random.default_rng(0)
    for bad in (good[:10], good[: len(good) - 3], b"AGQ" + bytes(100), rng.bytes(500)):
        with pytest.raises(agq.DecodeError):
            agq.decode(bad)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    try:
        agq.decode(bytes(flipped))  # a flipped payload bit may still decode: never a crash
    except agq.DecodeError:
        pass


def test_a_grid_without_the_width_is_refused():
    with pytest.raises(agq.SettingsError, match="width 6"):
        agq.project(np.ones(2, np.float32), np.array([6, 6], np.uint8), {4: 3})


def test_metadata_keys_of_agq_itself_are_refused():
    with pytest.raises(agq.SettingsError, match="agq.net"):
        agq.Snapshot("n", [param()], {"agq.net": "other"}).to_bytes()
