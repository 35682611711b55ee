"""PyTorch training with agq: accumulate ``|grad|`` of every parameter, apply in-training
quantization (ITQ) at epoch ends through the Rust core, export a gradient snapshot.

::

    acc = agq.pytorch.GradientAccumulator(model, net="lenet300", itq=agq.ItqSettings())
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            acc.accumulate()      # G += |grad|, T += |w * grad|, after backward, before the step
            optimizer.step()
            acc.constrain()       # ITQ: frozen values put back / projected onto their grid
        acc.end_epoch()           # the ITQ step (Rust), from the second epoch on by default
    acc.export("lenet300.safetensors")

Under ``torch.nn.parallel.DistributedDataParallel`` pass the wrapped model: the gradients
read after ``backward()`` are the all-reduced ones, rank 0 makes each ITQ decision and
broadcasts it, and :meth:`GradientAccumulator.export` writes on rank 0 only. Importing
this module needs torch; importing ``agq`` does not.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from .core import ItqSettings, ItqStep, Param, Quantized, Snapshot, itq_step, quantize_snapshot


def _distributed() -> Tuple[bool, int]:
    """(whether a process group of more than one process is running, this rank)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size() > 1, torch.distributed.get_rank()
    return False, 0


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The user's module inside DistributedDataParallel / DataParallel (names without ``module.``)."""
    wrappers = (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)
    return model.module if isinstance(model, wrappers) else model


class GradientAccumulator:
    """Accumulated importance ``G = sum over steps of |dL/dθ|`` of every parameter of
    ``model`` (every weight and bias, in ``named_parameters()`` order), on the parameters'
    device in float32, with optional ITQ. Beside it, the Taylor importance
    ``T = sum over the same steps of |θ · dL/dθ|`` (``θ`` the value the gradient was taken
    at), exported as the snapshot's ``taylor/P`` (``importance="taylor"``).

    ``net`` names the architecture in the snapshot (``agq.net``): use ``lenet300``,
    ``lenet5``, ``alexnet`` or ``vgg16`` with agq's parameter names and shapes to have the
    page measure accuracy; any other name is quantized and accounted only.
    """

    def __init__(self, model: torch.nn.Module, net: str, itq: Optional[ItqSettings] = None):
        self.model = _unwrap(model)
        self.net = net
        self.itq = itq
        self.params = list(self.model.named_parameters())
        if not self.params:
            raise ValueError("the model has no parameters")
        self.importance: Dict[str, torch.Tensor] = {
            name: torch.zeros(p.shape, dtype=torch.float32, device=p.device) for name, p in self.params
        }
        #: accumulated ``|θ · grad|`` per parameter; None when the run was resumed from a
        #: state without it (a partial sum would be wrong, so it is not exported)
        self.taylor: Optional[Dict[str, torch.Tensor]] = {
            name: torch.zeros(p.shape, dtype=torch.float32, device=p.device) for name, p in self.params
        }
        #: current ITQ width of every value (uint8, on the parameter's device); None = float
        self.widths: Dict[str, Optional[torch.Tensor]] = {name: None for name, _ in self.params}
        #: ``{width: frac}`` of every fixed-point width of each tensor, from the last ITQ step
        self.grids: Dict[str, Dict[int, int]] = {}
        #: completed epochs
        self.epoch = 0
        #: optimizer steps accumulated
        self.steps = 0
        self._constraints: Dict[str, tuple] = {}

    @torch.no_grad()
    def accumulate(self) -> None:
        """Adds ``|grad|`` of every parameter to its importance, and ``|θ · grad|`` to its
        Taylor importance: call it after ``backward()`` and before ``optimizer.step()``
        (parameters without a gradient add 0). The gradient is the mini-batch loss's alone:
        weight decay applied inside the optimizer is not part of it."""
        for name, p in self.params:
            if p.grad is not None:
                grad = p.grad.detach().to(torch.float32)
                self.importance[name].add_(grad.abs())
                if self.taylor is not None:
                    self.taylor[name].add_((p.detach().to(torch.float32) * grad).abs())
        self.steps += 1

    @torch.no_grad()
    def constrain(self) -> None:
        """After ``optimizer.step()``: ITQ-quantized values are put back (``freeze``) or
        snapped onto their grid (``project``: ``clamp(round(w * 2^f), lo, hi) * 2^-f``,
        rounding half to even on the device, as agq's own trainer does)."""
        for name, p in self.params:
            c = self._constraints.get(name)
            if c is None:
                continue
            if c[0] == "freeze":
                _, mask, values = c
                p.copy_(torch.where(mask, values, p))
            else:
                _, mask, scale, lo, hi = c
                codes = torch.clamp(torch.round(p * scale), lo, hi)
                p.copy_(torch.where(mask, codes / scale, p))

    def _param_list(self) -> list:
        out = []
        for name, p in self.params:
            w = self.widths[name]
            out.append(
                Param(
                    name,
                    p.detach().to(torch.float32).cpu().contiguous().numpy(),
                    self.importance[name].cpu().contiguous().numpy(),
                    None if w is None else w.cpu().numpy(),
                    None if self.taylor is None else self.taylor[name].cpu().contiguous().numpy(),
                )
            )
        return out

    def end_epoch(self) -> Optional[ItqStep]:
        """Counts the epoch and, when ITQ is on and the schedule says so, applies the ITQ
        step decided by the Rust core: new widths, the values quantized, the constraints of
        the next epoch. Returns the step (None when nothing was applied)."""
        self.epoch += 1
        if self.itq is None:
            return None
        many, rank = _distributed()
        step = itq_step(self.net, self._param_list(), self.epoch - 1, self.itq) if rank == 0 else None
        if many:
            box = [step]
            torch.distributed.broadcast_object_list(box, src=0)
            step = box[0]
        if step is not None:
            self._apply(step)
        return step

    @torch.no_grad()
    def _apply(self, step: ItqStep) -> None:
        self.grids = {name: dict(g) for name, g in step.grids.items()}
        for name, p in self.params:
            widths = torch.from_numpy(step.widths[name]).to(p.device)
            values = torch.from_numpy(step.values[name]).to(device=p.device, dtype=p.dtype)
            p.copy_(values)
            self.widths[name] = widths
        self._build_constraints()

    @torch.no_grad()
    def _build_constraints(self) -> None:
        """Per-value constraint tensors from the widths and grids (the core's decisions)."""
        self._constraints = {}
        mode = self.itq.mode if self.itq is not None else "freeze"
        for name, p in self.params:
            widths = self.widths[name]
            if widths is None:
                continue
            mask = widths < 32
            if not bool(mask.any()):
                continue
            if mode == "freeze":
                self._constraints[name] = ("freeze", mask, p.detach().clone())
                continue
            b = widths.cpu().numpy().astype(np.int64)
            frac = np.zeros(33, dtype=np.int64)
            for width, f in self.grids.get(name, {}).items():
                frac[width] = f
            fixed = (b > 0) & (b < 32)
            scale = np.where(fixed, np.exp2(frac[b].astype(np.float64)), 1.0).astype(np.float32)
            lo = np.where(fixed, -np.exp2(b - 1.0), 0.0).astype(np.float32)
            hi = np.where(fixed, np.exp2(b - 1.0) - 1.0, 0.0).astype(np.float32)
            as_t = lambda a: torch.from_numpy(a).to(device=p.device, dtype=p.dtype)
            self._constraints[name] = ("project", mask, as_t(scale), as_t(lo), as_t(hi))

    def snapshot(self, provenance: Optional[dict] = None) -> Snapshot:
        """The gradient snapshot of the model as it is now (weights, importance, widths)."""
        snap = Snapshot(self.net, self._param_list(), {})
        prov = {"engine": f"torch {torch.__version__} + agq.pytorch", "epochs": self.epoch, "steps": self.steps}
        if self.itq is not None:
            prov["itq"] = {
                "split": self.itq.split,
                "warmup": self.itq.warmup,
                "schedule": list(self.itq.schedule),
                "mode": self.itq.mode,
                "importance": self.itq.importance,
            }
        prov.update(provenance or {})
        snap.provenance = prov
        return snap

    def export(self, path, provenance: Optional[dict] = None, dtype: str = "f16") -> Optional[Snapshot]:
        """Writes the snapshot to ``path`` (on rank 0 only when distributed; other ranks
        return None). ``dtype`` ``"f16"`` halves the file (the page's snapshots), ``"f32"``
        is exact."""
        _, rank = _distributed()
        if rank != 0:
            return None
        snap = self.snapshot(provenance)
        snap.save(os.fspath(path), dtype)
        return snap

    def quantize(self, **settings) -> Quantized:
        """:func:`agq.quantize_snapshot` of the model as it is now (keywords as there)."""
        return quantize_snapshot(self.snapshot(), **settings)

    def state_dict(self) -> dict:
        """Everything needed to resume: importance (gradient and Taylor), widths, grids,
        epoch and step counts."""
        return {
            "net": self.net,
            "epoch": self.epoch,
            "steps": self.steps,
            "importance": {k: v.detach().cpu().clone() for k, v in self.importance.items()},
            "taylor": None if self.taylor is None else {k: v.detach().cpu().clone() for k, v in self.taylor.items()},
            "widths": {k: None if v is None else v.cpu().clone() for k, v in self.widths.items()},
            "grids": {k: dict(v) for k, v in self.grids.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restores :meth:`state_dict` (after the model's own state is loaded: frozen values
        are taken from the model). A state saved before Taylor accumulation existed (no
        ``"taylor"``) resumes with :attr:`taylor` None: the snapshot then has no ``taylor/P``."""
        self.epoch = int(state["epoch"])
        self.steps = int(state["steps"])
        taylor = state.get("taylor")
        self.taylor = None if taylor is None else {}
        for name, p in self.params:
            self.importance[name] = state["importance"][name].to(device=p.device, dtype=torch.float32)
            if taylor is not None:
                self.taylor[name] = taylor[name].to(device=p.device, dtype=torch.float32)
            w = state["widths"][name]
            self.widths[name] = None if w is None else w.to(p.device)
        self.grids = {k: dict(v) for k, v in state["grids"].items()}
        self._build_constraints()


__all__ = ["GradientAccumulator"]
