"""numpy arrays in and out of the Rust core (``agq._agq``).

Every decision is the core's: this module only checks and converts arrays (float32
values, uint8 widths, shapes) and names things. Shapes are PyTorch's, output first:
Linear ``[out, in]``, Conv ``[out, in, kh, kw]``, bias ``[out]``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _agq
from ._agq import AgqError, SettingsError, SnapshotError

PathOrBytes = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

#: Grid of one tensor: fractional length ``f`` per fixed-point width ``b`` (value = k * 2^-f).
Grid = Dict[int, int]


def _float32(what: str, a, shape: Optional[Tuple[int, ...]] = None) -> np.ndarray:
    """``a`` as a C-contiguous little-endian float32 array; TypeError for another dtype."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{what}: expected a numpy float32 array, got {type(a).__name__}")
    if a.dtype.kind != "f" or a.dtype.itemsize != 4:
        raise TypeError(f"{what}: expected float32, got {a.dtype} (convert it with .astype(np.float32))")
    if shape is not None and tuple(a.shape) != tuple(shape):
        raise ValueError(f"{what}: shape {tuple(a.shape)}, expected {tuple(shape)}")
    return np.ascontiguousarray(a, dtype="<f4")


def _uint8(what: str, a, shape: Tuple[int, ...]) -> np.ndarray:
    """``a`` as a C-contiguous uint8 array of ``shape``; TypeError for another dtype."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{what}: expected a numpy uint8 array, got {type(a).__name__}")
    if a.dtype != np.uint8:
        raise TypeError(f"{what}: expected uint8 widths, got {a.dtype} (convert it with .astype(np.uint8))")
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{what}: shape {tuple(a.shape)}, expected {tuple(shape)}")
    return np.ascontiguousarray(a)


def _from_f32(raw: bytes, shape: Sequence[int]) -> np.ndarray:
    return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(tuple(shape))


def _from_u8(raw: bytes, shape: Sequence[int]) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.uint8).copy().reshape(tuple(shape))


def _read(source: PathOrBytes) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(source, "rb") as f:
        return f.read()


@dataclass
class Param:
    """One parameter tensor: its values, accumulated importance ``G = sum_t |dL/dθ(t)|``
    (same shape, float32, >= 0), after ITQ its current widths (uint8, same shape:
    0 pruned, 2..16 fixed point, 32 float), and optionally the accumulated Taylor
    importance ``T = sum_t |θ(t) · dL/dθ(t)|`` (float32, same shape, >= 0; the snapshot's
    ``taylor/P``, which ``importance="taylor"`` quantizes by)."""

    name: str
    weight: np.ndarray
    importance: np.ndarray
    width: Optional[np.ndarray] = None
    taylor: Optional[np.ndarray] = None

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self.weight.shape)

    def _wire(self):
        """The tuple the native layer takes, after checking dtypes and shapes."""
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"parameter name {self.name!r}: expected a non-empty string")
        weight = _float32(f"weight of {self.name}", self.weight)
        importance = _float32(f"importance of {self.name}", self.importance, weight.shape)
        width = None if self.width is None else _uint8(f"width of {self.name}", self.width, weight.shape)
        taylor = None if self.taylor is None else _float32(f"taylor of {self.name}", self.taylor, weight.shape)
        return (
            self.name,
            list(weight.shape),
            weight.tobytes(),
            importance.tobytes(),
            None if width is None else width.tobytes(),
            None if taylor is None else taylor.tobytes(),
        )


def _param_from_wire(t) -> Param:
    name, shape, weight, importance, width, taylor = t
    return Param(
        name,
        _from_f32(weight, shape),
        _from_f32(importance, shape),
        None if width is None else _from_u8(width, shape),
        None if taylor is None else _from_f32(taylor, shape),
    )


@dataclass
class Snapshot:
    """A gradient snapshot (``agq-snapshot/1``): the network name (``agq.net``), its
    parameters in network order, and free metadata (``agq.provenance``: a JSON object)."""

    net: str
    params: List[Param]
    metadata: Dict[str, str] = field(default_factory=dict)

    @property
    def provenance(self) -> Optional[dict]:
        """``agq.provenance`` parsed as JSON, or None."""
        text = self.metadata.get("agq.provenance")
        try:
            return None if text is None else json.loads(text)
        except ValueError:
            return None

    @provenance.setter
    def provenance(self, value: Optional[dict]) -> None:
        if value is None:
            self.metadata.pop("agq.provenance", None)
        else:
            self.metadata["agq.provenance"] = json.dumps(value, sort_keys=True)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def num_values(self) -> int:
        return int(sum(p.weight.size for p in self.params))

    def to_bytes(self, dtype: str = "f16") -> bytes:
        """The safetensors file; ``dtype`` ``"f16"`` (the page's snapshots) or ``"f32"``
        (exact) for weights and importances."""
        wire = [p._wire() for p in self.params]
        return _agq.write_snapshot(self.net, wire, dict(self.metadata), dtype)

    def save(self, path: Union[str, "os.PathLike[str]"], dtype: str = "f16") -> None:
        data = self.to_bytes(dtype)
        tmp = f"{os.fspath(path)}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    @staticmethod
    def from_bytes(data: PathOrBytes) -> "Snapshot":
        return read_snapshot(data)


def read_snapshot(source: PathOrBytes) -> Snapshot:
    """Reads and validates an ``agq-snapshot/1`` file (a path or its bytes)."""
    net, params, metadata = _agq.read_snapshot(_read(source))
    return Snapshot(net, [_param_from_wire(t) for t in params], dict(metadata))


def write_snapshot(
    path: Union[str, "os.PathLike[str]"],
    net: str,
    params: Iterable[Param],
    metadata: Optional[Mapping[str, str]] = None,
    provenance: Optional[dict] = None,
    dtype: str = "f16",
) -> Snapshot:
    """Writes a snapshot of ``params`` (network order) and returns it."""
    snapshot = Snapshot(net, list(params), dict(metadata or {}))
    if provenance is not None:
        snapshot.provenance = provenance
    snapshot.save(path, dtype)
    return snapshot


@dataclass(frozen=True)
class ItqSettings:
    """In-training quantization: after each epoch past ``warmup``, the lowest
    ``ceil(split * n)`` parameters by accumulated importance get
    ``min(current width, schedule[epoch - warmup])`` (the last entry repeats); ``mode``
    ``"freeze"`` keeps them fixed, ``"project"`` trains them and snaps them back to their
    grid after every step. ``importance`` ranks the parameters: ``"grad"`` (the method's
    accumulated ``|grad|``) or ``"grad-magnitude"`` (those sums times the current ``|w|``,
    which keeps every layer of a deep network; also ``"magnitude"``, ``"random"``,
    ``"taylor"``), as ``agq itq --importance``."""

    split: float = 0.9
    warmup: int = 1
    schedule: Tuple[int, ...] = (8, 6, 4, 2, 0)
    mode: str = "freeze"
    importance: str = "grad"

    def __post_init__(self):
        if self.mode not in ("freeze", "project"):
            raise SettingsError(f"ITQ mode {self.mode!r}: expected 'freeze' or 'project'")


@dataclass
class ItqStep:
    """What one epoch-end ITQ step decided, per parameter name."""

    width: int
    """The low group's width at this step (bits)."""
    widths: Dict[str, np.ndarray]
    """New width of every value (uint8, the parameter's shape)."""
    values: Dict[str, np.ndarray]
    """Values after the step (float32): quantized where the width is below 32."""
    grids: Dict[str, Grid]
    """``{width: frac}`` of every fixed-point width of the tensor."""


def itq_width(epoch: int, settings: ItqSettings = ItqSettings()) -> Optional[int]:
    """The low-group width after the epoch with 0-based index ``epoch`` (None: warm-up)."""
    return _agq.itq_width(int(epoch), int(settings.warmup), [int(b) for b in settings.schedule])


def itq_step(net: str, params: Sequence[Param], epoch: int, settings: ItqSettings = ItqSettings()) -> Optional[ItqStep]:
    """The ITQ step at the end of the epoch with 0-based index ``epoch``; None during the
    warm-up. ``params`` carry the importance so far and their current widths (None: float)."""
    out = _agq.itq_step(
        net,
        [p._wire() for p in params],
        int(epoch),
        float(settings.split),
        int(settings.warmup),
        [int(b) for b in settings.schedule],
        str(settings.importance),
    )
    if out is None:
        return None
    width, tensors = out
    step = ItqStep(width, {}, {}, {})
    for p, (widths, values, grid) in zip(params, tensors):
        step.widths[p.name] = _from_u8(widths, p.shape)
        step.values[p.name] = _from_f32(values, p.shape)
        step.grids[p.name] = {int(b): int(f) for b, f in grid}
    return step


def quantize_tensor(weight: np.ndarray, widths: np.ndarray) -> Tuple[np.ndarray, Grid]:
    """``weight`` quantized by the core at ``widths`` (one per value; fractional lengths
    from each width group's largest magnitude): ``(values, {width: frac})``."""
    w = _float32("weight", weight)
    b = _uint8("widths", widths, w.shape)
    values, grid = _agq.quantize_tensor(list(w.shape), w.tobytes(), b.tobytes())
    return _from_f32(values, w.shape), {int(k): int(f) for k, f in grid}


def project(weight: np.ndarray, widths: np.ndarray, grid: Mapping[int, int]) -> np.ndarray:
    """``weight`` snapped onto a given grid: ``clamp(round(w * 2^f)) * 2^-f`` per value
    (rounding half away from zero; width 0 gives 0, width 32 keeps the value)."""
    w = _float32("weight", weight)
    b = _uint8("widths", widths, w.shape)
    raw = _agq.project(w.tobytes(), b.tobytes(), [(int(k), int(f)) for k, f in grid.items()])
    return _from_f32(raw, w.shape)


class Quantized:
    """A quantized network: ``report`` (the dict of ``agq quantize --report``),
    ``widths`` (final width per value, per parameter), and the ``.agq`` file."""

    def __init__(self, report_json: str, agq_bytes: bytes, widths: Dict[str, np.ndarray]):
        self.report_json = report_json
        self.report: dict = json.loads(report_json)
        self.widths = widths
        self._bytes = agq_bytes

    @property
    def ratio(self) -> float:
        return float(self.report["ratio"])

    def to_bytes(self) -> bytes:
        """The ``.agq`` file (docs/FORMAT.md); its length is ``report["bytes"]``."""
        return self._bytes

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        with open(path, "wb") as f:
            f.write(self._bytes)

    def __repr__(self) -> str:
        r = self.report
        return f"Quantized(net={r['net']!r}, method={r['method']!r}, ratio={r['ratio']:.2f}x, bytes={r['bytes']})"


def _widths_text(widths) -> Optional[str]:
    if widths is None or isinstance(widths, str):
        return widths
    return ",".join(str(int(b)) for b in widths)


def quantize_snapshot(
    snapshot: Union[PathOrBytes, Snapshot],
    method: Optional[str] = None,
    importance: Optional[str] = None,
    clusters: Optional[str] = None,
    widths: Union[None, str, Sequence[int]] = None,
    seed: Optional[int] = None,
) -> Quantized:
    """Quantizes a snapshot exactly as ``agq quantize`` does, with its defaults: method
    ``combined``, and for importance, clusters and widths the page's defaults for the
    snapshot's network (importance ``grad``, but ``grad-magnitude`` for VGG-16; for a network
    the page does not have ``grad``, ``quantile:0.5,0.8,0.95`` and ``[0, 4, 6, 8]``)."""
    data = snapshot.to_bytes("f32") if isinstance(snapshot, Snapshot) else _read(snapshot)
    report_json, agq_bytes, flat, shapes = _agq.quantize_snapshot(
        data, method, importance, clusters, _widths_text(widths), None if seed is None else int(seed)
    )
    flat_widths = np.frombuffer(flat, dtype=np.uint8)
    per_param: Dict[str, np.ndarray] = {}
    offset = 0
    for name, shape in shapes:
        n = int(np.prod(shape, dtype=np.int64))
        per_param[name] = flat_widths[offset : offset + n].copy().reshape(shape)
        offset += n
    return Quantized(report_json, agq_bytes, per_param)


@dataclass
class Decoded:
    """An ``.agq`` file read back: the network name, and per tensor its values (float32,
    bit-identical to the quantized ones), widths (uint8) and ``{width: frac}``."""

    net: str
    values: Dict[str, np.ndarray]
    widths: Dict[str, np.ndarray]
    grids: Dict[str, Grid]


def decode(source: PathOrBytes) -> Decoded:
    """Decodes an ``.agq`` file (a path or its bytes)."""
    net, tensors = _agq.decode(_read(source))
    out = Decoded(net, {}, {}, {})
    for name, shape, values, widths, grid in tensors:
        out.values[name] = _from_f32(values, shape)
        out.widths[name] = _from_u8(widths, shape)
        out.grids[name] = {int(b): int(f) for b, f in grid}
    return out


__all__ = [
    "AgqError",
    "Decoded",
    "Grid",
    "ItqSettings",
    "ItqStep",
    "Param",
    "Quantized",
    "SettingsError",
    "Snapshot",
    "SnapshotError",
    "decode",
    "itq_step",
    "itq_width",
    "project",
    "quantize_snapshot",
    "quantize_tensor",
    "read_snapshot",
    "write_snapshot",
]
