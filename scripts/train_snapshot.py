#!/usr/bin/env python3
"""Trains AlexNet or VGG-16 on CIFAR-10 into the page's two gradient snapshots, with
PyTorch and the agq Python module (every ITQ decision and quantized value comes from the
Rust core through agq.pytorch):

1. a float run: random crop (4-pixel zero padding) and horizontal flip, SGD with Nesterov
   momentum and weight decay, a linear warm-up then a cosine learning rate, label
   smoothing; importance |grad| accumulated over every step -> NET.safetensors;
2. its continuation with in-training quantization (the float run is ITQ's warm-up, the
   importance covers the whole history), a second cosine cycle, the last width change
   leaving at least a third of the ITQ epochs for recovery -> NET-itq.safetensors.

A checkpoint is written after every epoch (weights, optimizer, importance, widths, data
order and augmentation RNG, epoch, history) and every --checkpoint-minutes inside one (then
with the epoch's data order, next step and losses); --resume continues it bit for bit on the
CPU, from the middle of an epoch too.
A progress line (epoch, step, images/s since the last line and the epoch's mean, loss, ETA) is
printed at least every 30 seconds.

    .tools/py/bin/python scripts/train_snapshot.py --net alexnet --data ../shared/data/cifar10 \\
        --epochs 40 --itq-epochs 12 --resume

--export-interim writes the float snapshot of a run still going (from its checkpoint, with
the same flags as the run; the run itself goes on untouched): its provenance says so, and
how far the run got.

--from-snapshot NET.safetensors starts the ITQ phase from a float snapshot this script wrote
(its weights and |grad| sums, its Taylor sums when it has them), for when the float run's
checkpoint is gone: the SGD momentum and the data-order RNG start afresh, which the
provenance's `continued_from` says.

Accuracy is measured on the first 1,000 official CIFAR-10 test images (the page's).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import math
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import agq
from agq.models import NETWORKS
from agq.pytorch import GradientAccumulator

ROOT = Path(__file__).resolve().parents[1]
MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
STD = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
RECORD = 1 + 3 * 32 * 32
PROGRESS_SECONDS = 30.0
#: The most a snapshot the page downloads may weigh (www/snapshots/, docs/NETWORKS.md).
PAGE_LIMIT_BYTES = 64_000_000


def read_records(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def load_cifar(source: Path, limit: int | None = None):
    """CIFAR-10 binary records from a file or from the data_batch_*.bin(.gz) of a folder:
    ``(images uint8 [n, 3, 32, 32], labels int64 [n])``."""
    files = [source] if source.is_file() else sorted(source.glob("data_batch_*.bin*"))
    if not files:
        sys.exit(f"error: no CIFAR-10 data_batch_*.bin(.gz) in {source}")
    raw = b"".join(read_records(f) for f in files)
    if len(raw) % RECORD:
        sys.exit(f"error: {source}: {len(raw)} bytes are not whole CIFAR-10 records")
    a = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)[:limit]
    return torch.from_numpy(a[:, 1:].reshape(-1, 3, 32, 32).copy()), torch.from_numpy(a[:, 0].astype(np.int64))


def normalize(images: torch.Tensor) -> torch.Tensor:
    return (images.float() / 255.0 - MEAN) / STD


def augment(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random 32x32 crop of the image padded with 4 black pixels, and a random flip."""
    n = images.shape[0]
    padded = nn.functional.pad(images, (4, 4, 4, 4))
    dx = torch.randint(0, 9, (n,), generator=gen)
    dy = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.empty_like(images)
    for i in range(n):
        crop = padded[i, :, dy[i] : dy[i] + 32, dx[i] : dx[i] + 32]
        out[i] = crop.flip(2) if flip[i] else crop
    return out


@torch.no_grad()
def accuracy(model, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = sum(int((model(normalize(x[i : i + 250])).argmax(1) == y[i : i + 250]).sum()) for i in range(0, len(x), 250))
    model.train()
    return 100.0 * correct / len(x)


def learning_rate(args, epoch: int, step: int, steps: int) -> float:
    """Warm-up then cosine over the float epochs; a second, lower cosine over the ITQ ones."""
    if epoch < args.epochs:
        t = epoch + step / steps
        if t < args.warmup_epochs:
            return args.lr * t / args.warmup_epochs
        span = max(args.epochs - args.warmup_epochs, 1e-9)
        return 0.5 * args.lr * (1 + math.cos(math.pi * (t - args.warmup_epochs) / span))
    t = epoch - args.epochs + step / steps
    return 0.5 * args.itq_lr * (1 + math.cos(math.pi * t / max(args.itq_epochs, 1)))


def itq_settings(args) -> agq.ItqSettings:
    return agq.ItqSettings(split=args.split, warmup=args.epochs, schedule=tuple(args.schedule), mode="freeze",
                           importance=args.itq_importance)


def check_recovery(args) -> None:
    """The last width change leaves at least a third of the ITQ epochs for recovery."""
    if args.itq_epochs and len(args.schedule) > args.itq_epochs - math.ceil(args.itq_epochs / 3):
        sys.exit(
            f"error: --schedule has {len(args.schedule)} steps: with --itq-epochs {args.itq_epochs} at least "
            f"{math.ceil(args.itq_epochs / 3)} epochs must follow the last width change"
        )


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def cpu_name() -> str:
    """The processor's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> str:
    return f"{cpu_name()}, {platform.machine()}, {os.cpu_count()} logical cores"


PRECISION_NAMES = {"f32": "F32", "bf16": "bf16 autocast (F32 weights, gradients and |grad| sums)"}


def precision_summary(history) -> str:
    """How the epochs of `history` were computed: one name, or each name with its epochs
    ("F32 for epochs 1-30, bf16 autocast (...) for epochs 31-45")."""
    runs = []  # [name, first epoch, last epoch]
    for h in history:
        name = PRECISION_NAMES[h.get("precision", "f32")]
        if runs and runs[-1][0] == name:
            runs[-1][2] = h["epoch"]
        else:
            runs.append([name, h["epoch"], h["epoch"]])
    if len(runs) <= 1:
        return runs[0][0] if runs else PRECISION_NAMES["f32"]
    return ", ".join(f"{name} for epochs {a}-{b}" if a != b else f"{name} for epoch {a}" for name, a, b in runs)


def provenance(args, state, phase: str) -> dict:
    history = [h for h in state["history"] if phase == "itq" or h["phase"] == "float"]
    return {
        "generator": "scripts/train_snapshot.py (PyTorch + the agq Python module)",
        "command": " ".join(sys.argv),
        "engine": f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads" + (", bf16 autocast" if args.precision == "bf16" else ""),
        "hardware": hardware(),
        "dataset": "CIFAR-10",
        "training_images": state["train_size"],
        "augmentation": "random crop (4-pixel zero padding), horizontal flip",
        "recipe": {
            "optimizer": "SGD, Nesterov momentum 0.9",
            "lr": args.lr,
            "warmup_epochs": args.warmup_epochs,
            "schedule": "linear warm-up then cosine",
            "weight_decay": args.decay,
            "label_smoothing": args.label_smoothing,
            "batch": args.batch,
            "precision": precision_summary(history),
            "itq_lr": args.itq_lr if phase == "itq" else None,
        },
        "method": "itq" if phase == "itq" else "none",
        "epochs": len(history),
        "accuracy_on": "first 1,000 official CIFAR-10 test images",
        "accuracy_percent": history[-1]["accuracy"],
        "epoch_accuracy": [h["accuracy"] for h in history],
        "wall_time_seconds": round(sum(h["seconds"] for h in history) + state.get("continued_from", {}).get("wall_time_seconds", 0.0), 1),
        "date": time.strftime("%Y-%m-%d"),
        **({"continued_from": state["continued_from"]} if "continued_from" in state and phase == "itq" else {}),
    }


def export_interim(args, ckpt, state, model, acc, tx, ty) -> int:
    """The float snapshot of the checkpointed run as it stands, its accuracy measured now."""
    if not args.resume or not ckpt.exists():
        sys.exit(f"error: --export-interim needs --resume and a checkpoint ({ckpt} is missing)")
    if state["epoch"] >= args.epochs:
        sys.exit(f"error: the run is past its float phase ({state['epoch']} of {args.epochs} epochs): its own snapshot is the float one")
    measured = accuracy(model, tx, ty)
    prov = provenance(args, state, "float")
    step = state.get("step", 0)
    prov.update(
        accuracy_percent=measured,
        epochs=state["epoch"] + (1 if step else 0),
        interim={
            "note": "a snapshot of a run still in its float phase: the learning rate has not decayed yet",
            "float_epochs_planned": args.epochs,
            "epochs_done": state["epoch"],
            "steps_into_next_epoch": step,
            "learning_rate_now": learning_rate(args, state["epoch"], step, state["train_size"] // args.batch),
        },
    )
    out = args.out_dir / f"{args.net}.safetensors"
    save_snapshot(acc.snapshot(prov), out, args.dtype)
    print(f"interim after {state['epoch']} epochs and {step} steps, {measured:.2f}% on the test images", flush=True)
    return 0


@torch.no_grad()
def continue_snapshot(args, model, acc, train_size: int) -> dict:
    """Loads the float snapshot `args.from_snapshot` into `model` and `acc` as the end of the
    float phase; returns the run's state (its float epochs' accuracies from the provenance)."""
    path = args.from_snapshot
    try:
        snap = agq.read_snapshot(path)
    except (OSError, ValueError) as e:
        sys.exit(f"error: --from-snapshot {path}: {e}")
    prov = snap.provenance or {}
    if snap.net != args.net:
        sys.exit(f"error: --from-snapshot {path} is a snapshot of {snap.net}, not {args.net}")
    if prov.get("method") != "none" or "interim" in prov:
        sys.exit(f"error: --from-snapshot {path} is not a finished float run of this script (method {prov.get('method')!r})")
    if prov.get("epochs") != args.epochs or prov.get("training_images") != train_size:
        sys.exit(f"error: --from-snapshot {path} has {prov.get('epochs')} float epochs on {prov.get('training_images')} images; "
                 f"give --epochs {prov.get('epochs')} and the same training data")
    named = dict(model.named_parameters())
    if [p.name for p in snap.params] != list(named) or any(p.shape != tuple(named[p.name].shape) for p in snap.params):
        sys.exit(f"error: --from-snapshot {path}: its parameters are not those of {args.net}")
    for p in snap.params:
        named[p.name].copy_(torch.from_numpy(p.weight))
    has_taylor = all(p.taylor is not None for p in snap.params)
    acc.load_state_dict({
        "epoch": args.epochs,
        "steps": int(prov.get("steps", 0)),
        "importance": {p.name: torch.from_numpy(p.importance) for p in snap.params},
        "taylor": {p.name: torch.from_numpy(p.taylor) for p in snap.params} if has_taylor else None,
        "widths": {p.name: None for p in snap.params},
        "grids": {},
    })
    float_precision = "bf16" if "bf16" in str(prov.get("engine", "")) else "f32"
    history = [{"epoch": i + 1, "phase": "float", "loss": None, "accuracy": a, "seconds": 0.0, "precision": float_precision}
               for i, a in enumerate(prov.get("epoch_accuracy", []))]
    continued = {
        "snapshot": Path(path).name,
        "command": prov.get("command"),
        "hardware": prov.get("hardware"),
        "wall_time_seconds": float(prov.get("wall_time_seconds", 0.0)),
        "note": "ITQ continued the float snapshot (its stored weights and importance), not the float run's checkpoint: SGD momentum and the data-order RNG restarted",
    }
    print(f"continuing {path}: {args.net} after {args.epochs} float epochs, {prov.get('accuracy_percent')}%", flush=True)
    return {"epoch": args.epochs, "history": history, "train_size": train_size, "continued_from": continued}


def save_snapshot(snap, path: Path, dtype: str) -> None:
    """Writes `snap` to `path`. When its Taylor sums take it over PAGE_LIMIT_BYTES (VGG-16:
    about 91 MB in F16), the whole snapshot goes to STEM-taylor.safetensors instead (for
    scripts/importance_sweep.sh) and `path` gets it without them, which its provenance says."""
    data = snap.to_bytes(dtype)
    if len(data) > PAGE_LIMIT_BYTES and any(p.taylor is not None for p in snap.params):
        full = path.with_name(f"{path.stem}-taylor.safetensors")
        write_atomic(full, data)
        print(f"wrote {full} ({len(data)} bytes, with the Taylor sums)", flush=True)
        snap = dataclasses.replace(snap, params=[dataclasses.replace(p, taylor=None) for p in snap.params], metadata=dict(snap.metadata))
        snap.provenance = {**snap.provenance, "taylor": f"left out to stay under {PAGE_LIMIT_BYTES} bytes: {full.name} has them ({len(data)} bytes)"}
        data = snap.to_bytes(dtype)
    write_atomic(path, data)
    print(f"wrote {path} ({len(data)} bytes)", flush=True)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--net", choices=["alexnet", "vgg16"], required=True)
    ap.add_argument("--data", type=Path, required=True, help="folder of data_batch_*.bin(.gz), or one file")
    ap.add_argument("--test", type=Path, default=ROOT / "www" / "data" / "cifar10" / "test_batch_first1000.bin.gz")
    ap.add_argument("--train-size", type=int, default=None, help="first N training images (default all)")
    ap.add_argument("--epochs", type=int, default=40, help="float epochs")
    ap.add_argument("--itq-epochs", type=int, default=12, help="ITQ epochs continuing the float run")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--itq-lr", type=float, default=0.01)
    ap.add_argument("--warmup-epochs", type=float, default=2.0)
    ap.add_argument("--decay", type=float, default=5e-4)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--split", type=float, default=0.9)
    ap.add_argument("--schedule", type=lambda s: [int(x) for x in s.split(",")], default=[8, 4, 0])
    ap.add_argument("--itq-importance", choices=["grad", "grad-magnitude"], default="grad",
                    help="what ranks the parameters at each ITQ step: grad (the method's accumulated |grad|) or "
                         "grad-magnitude (those sums times |w|; a global split by grad alone prunes VGG-16's "
                         "deep layers away entirely, docs/RESULTS.md)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--precision", choices=sorted(PRECISION_NAMES), default="f32",
                    help="bf16: each step's forward and backward under CPU autocast (weights, gradients, "
                         "|grad| sums and the measured accuracy stay F32); about 2.2x the F32 speed of "
                         "VGG-16 on a CPU with native bf16 dot products (docs/BENCHMARKS.md)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--checkpoint", type=Path, default=None, help="default ~/.cache/agq/train-NET.pt")
    ap.add_argument("--resume", action="store_true", help="continue the checkpoint if there is one")
    ap.add_argument("--stop-after", type=int, default=None, help="stop after this many epochs in all (tests)")
    ap.add_argument("--checkpoint-minutes", type=float, default=10.0,
                    help="also checkpoint inside an epoch this often (a VGG-16 epoch takes most of an hour on one core)")
    ap.add_argument("--stop-after-steps", type=int, default=None,
                    help="stop after this many steps of this run, with a mid-epoch checkpoint (tests)")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "www" / "snapshots")
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16")
    ap.add_argument("--from-snapshot", type=Path, default=None,
                    help="start the ITQ phase from this float snapshot of the script (when the float run's checkpoint is gone)")
    ap.add_argument("--export-interim", action="store_true",
                    help="write the float snapshot of the checkpoint as it stands (a run still in its float phase) and exit")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    check_recovery(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    ckpt = args.checkpoint or Path.home() / ".cache" / "agq" / f"train-{args.net}.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    x, y = load_cifar(args.data, args.train_size)
    tx, ty = load_cifar(args.test)
    torch.manual_seed(args.seed)
    model = NETWORKS[args.net]()
    opt = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9, nesterov=True, weight_decay=args.decay)
    acc = GradientAccumulator(model, net=args.net, itq=itq_settings(args) if args.itq_epochs else None)
    gen = torch.Generator().manual_seed(args.seed)
    state = {"epoch": 0, "history": [], "train_size": len(x)}
    if args.resume and ckpt.exists():
        saved = torch.load(ckpt, weights_only=False)
        if saved["net"] != args.net or saved["train_size"] != len(x):
            sys.exit(f"error: {ckpt} is a run of {saved['net']} on {saved['train_size']} images; remove it to start over")
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        acc.load_state_dict(saved["importance"])
        gen.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        state = saved["state"]
        print(f"resumed {ckpt} after epoch {state['epoch']}", flush=True)
    elif args.from_snapshot:
        state = continue_snapshot(args, model, acc, len(x))
    elif args.resume:
        print(f"no checkpoint at {ckpt}: starting over", flush=True)
    if args.export_interim:
        return export_interim(args, ckpt, state, model, acc, tx, ty)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    total = args.epochs + args.itq_epochs
    steps = len(x) // args.batch
    run_started = time.time()
    steps_this_run = 0

    def checkpoint(extra=None):
        save_atomic(
            {
                "net": args.net,
                "train_size": len(x),
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "importance": acc.state_dict(),
                "generator": gen.get_state(),
                "torch_rng": torch.get_rng_state(),
                "state": {**state, **(extra or {})},
            },
            ckpt,
        )

    while state["epoch"] < total and (args.stop_after is None or state["epoch"] < args.stop_after):
        epoch = state["epoch"]
        started = last_print = last_checkpoint = time.time()
        # a mid-epoch checkpoint holds the epoch's data order, its next step, its losses and
        # the seconds the epoch had run before it (an epoch's time counts every run of it)
        first_step = state.pop("step", 0)
        earlier_seconds = state.pop("seconds", 0.0)
        last_print_step = first_step
        order = state.pop("order", None)
        losses = state.pop("losses", [])
        if order is None:
            order = torch.randperm(len(x), generator=gen)
        for step in range(first_step, steps):
            if args.stop_after_steps is not None and steps_this_run >= args.stop_after_steps:
                checkpoint({"step": step, "order": order, "losses": losses, "seconds": earlier_seconds + time.time() - started})
                print(f"stopped at epoch {epoch + 1} step {step} (checkpoint written)", flush=True)
                return 0
            for group in opt.param_groups:
                group["lr"] = learning_rate(args, epoch, step, steps)
            idx = order[step * args.batch : (step + 1) * args.batch]
            batch = normalize(augment(x[idx], gen))
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                loss = loss_fn(model(batch), y[idx])
            loss.backward()
            acc.accumulate()
            opt.step()
            acc.constrain()
            losses.append(loss.item())
            steps_this_run += 1
            now = time.time()
            if args.checkpoint_minutes and now - last_checkpoint >= args.checkpoint_minutes * 60 and step + 1 < steps:
                last_checkpoint = now
                checkpoint({"step": step + 1, "order": order, "losses": losses, "seconds": earlier_seconds + now - started})
            if now - last_print >= PROGRESS_SECONDS:
                # images/s since the last line (what the machine gives now), and this epoch's
                # mean, which the ETA uses (it includes any pause of the process)
                recent = (step + 1 - last_print_step) * args.batch / max(now - last_print, 1e-6)
                rate = (step + 1 - first_step) * args.batch / (now - started)
                last_print, last_print_step = now, step + 1
                left = ((steps - step - 1) + (total - epoch - 1) * steps) * args.batch / rate
                print(
                    f"epoch {epoch + 1}/{total} step {step + 1}/{steps} {recent:.0f} images/s "
                    f"(epoch mean {rate:.0f}) loss {np.mean(losses[-50:]):.4f} ETA {left / 60:.0f} min",
                    flush=True,
                )
        itq_step = acc.end_epoch()
        seconds = earlier_seconds + time.time() - started
        phase = "float" if epoch < args.epochs else "itq"
        record = {"epoch": epoch + 1, "phase": phase, "loss": float(np.mean(losses)), "accuracy": accuracy(model, tx, ty), "seconds": round(seconds, 1),
                  "precision": args.precision}
        if itq_step is not None:
            record["itq_width"] = itq_step.width
        state["history"].append(record)
        state["epoch"] = epoch + 1
        print(json.dumps(record), flush=True)
        if state["epoch"] == args.epochs:
            save_snapshot(acc.snapshot(provenance(args, state, "float")), args.out_dir / f"{args.net}.safetensors", args.dtype)
        if state["epoch"] == total and args.itq_epochs:
            snap = acc.snapshot(provenance(args, state, "itq"))
            low = sum(int((p.width < 32).sum()) for p in snap.params) / snap.num_values
            snap.provenance = {**snap.provenance, "itq_low_fraction": round(low, 4)}
            save_snapshot(snap, args.out_dir / f"{args.net}-itq.safetensors", args.dtype)
        checkpoint()
        if state["epoch"] == args.epochs and args.itq_epochs:
            # the converged float run, kept so ITQ variants can continue it (copy it over the
            # checkpoint and --resume with other ITQ settings)
            shutil.copyfile(ckpt, ckpt.with_name(ckpt.stem + "-float.pt"))
    print(f"done: {state['epoch']} epochs ({time.time() - run_started:.0f} s this run)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
