"""agq: accumulated-gradient quantization and compression of neural networks.

The method's one implementation is the Rust core of the agq project (the page and the
``agq`` command line run the same functions); this package is that core for Python:

- snapshots: :func:`read_snapshot`, :func:`write_snapshot`, :class:`Snapshot`
- in-training quantization: :func:`itq_step`, :func:`itq_width`, :func:`quantize_tensor`,
  :func:`project`
- PTQ / ITQ / combined quantization of a snapshot with the CSR report and the ``.agq``
  file: :func:`quantize_snapshot`; reading an ``.agq`` file back: :func:`decode`
- PyTorch training with importance accumulation and ITQ: :mod:`agq.pytorch` (needs torch;
  importing ``agq`` does not)

docs/PYTHON.md in the repository has the guide.
"""

from ._agq import AgqError, DecodeError, SettingsError, SnapshotError, __version__
from .core import (
    Decoded,
    Grid,
    ItqSettings,
    ItqStep,
    Param,
    Quantized,
    Snapshot,
    decode,
    itq_step,
    itq_width,
    project,
    quantize_snapshot,
    quantize_tensor,
    read_snapshot,
    write_snapshot,
)

__all__ = [
    "AgqError",
    "DecodeError",
    "Decoded",
    "Grid",
    "ItqSettings",
    "ItqStep",
    "Param",
    "Quantized",
    "SettingsError",
    "Snapshot",
    "SnapshotError",
    "__version__",
    "decode",
    "itq_step",
    "itq_width",
    "project",
    "quantize_snapshot",
    "quantize_tensor",
    "read_snapshot",
    "write_snapshot",
]
