"""Shipped weights: models that a FULL run trained, which FAST loads so a class sees the
trained result (11's Catch agent, 13's transformer, ...) after its own short training has
proven the pipeline.

Each model is two files in `data/weights/`: `<name>.pt`, a `state_dict` read back with
`torch.load(..., weights_only=True)` (tensors only, never pickled code), and `<name>.json`,
its provenance (notebook, settings, steps, commit, machine, and the card values of the run
that made it). `data/weights/README.md` is the table of both, rewritten on every save.

Only a recording run (`make reproduce`, which sets `COURSE_RECORD=1`) replaces what is
shipped; any other FULL run saves into `build/weights/`, as its cards go to `build/results/`.
Taught in 00_start_here ("FAST, FULL and shipped weights").
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import os
import platform
import re
import subprocess
from pathlib import Path

import torch

from .results import recording

_ROOT = Path(__file__).resolve().parent.parent
#: Budget of the repository: each file at most 5 MB, all shipped weights at most 25 MB.
MAX_FILE_BYTES = 5 * 2 ** 20
MAX_TOTAL_BYTES = 25 * 2 ** 20
_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")


def shipped_dir() -> Path:
    """Where shipped weights are read from: `$COURSE_WEIGHTS_DIR`, else `data/weights/`."""
    env = os.environ.get("COURSE_WEIGHTS_DIR")
    return Path(env) if env else _ROOT / "data" / "weights"


def save_dir() -> Path:
    """Where a FULL run saves: the shipped folder when recording, else `build/weights/`."""
    if os.environ.get("COURSE_WEIGHTS_DIR") or recording():
        return shipped_dir()
    return _ROOT / "build" / "weights"


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"name must be lower-case letters, digits and _, e.g. '11_catch_agent', got {name!r}")
    return name


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=_ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head + ("+uncommitted changes" if dirty else "")) if head else "unknown"


def _state_of(model_or_state) -> dict:
    if isinstance(model_or_state, torch.nn.Module):
        state = model_or_state.state_dict()
    elif isinstance(model_or_state, dict):
        state = model_or_state
    else:
        raise ValueError(f"expected an nn.Module or a state_dict, got {type(model_or_state).__name__}")
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("a state_dict holds tensors only (weights_only loading refuses anything else)")
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def save_weights(model_or_state, name: str, *, notebook: str, settings: dict, steps: int,
                 cards: dict | None = None, note: str = "", seconds: float | None = None,
                 extra: dict | None = None) -> Path:
    """Save a trained model's weights with their provenance; return the `.pt` path.

    Args:
        model_or_state: the trained `nn.Module`, or its `state_dict`.
        name: file stem, e.g. '11_catch_agent' (start with the notebook's number).
        notebook: the notebook whose FULL run made them, e.g. '11_atari_saliency'.
        settings: the FULL settings that trained it (JSON-serialisable).
        steps: training steps (or frames, say so in `settings`) the weights saw.
        cards: metric -> value of the cards this run measured with these weights.
        note: one line on what the weights are for.
        seconds: training wall time.
        extra: more provenance kept in the .json but not in the README table (a learning curve).
    """
    _check_name(name)
    if not re.fullmatch(r"\d\d_[a-z0-9_]+", str(notebook)):
        raise ValueError(f"notebook must look like '11_atari_saliency', got {notebook!r}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    buffer = io.BytesIO()
    torch.save(_state_of(model_or_state), buffer)
    if buffer.tell() > MAX_FILE_BYTES:
        raise ValueError(f"{name}: {buffer.tell() / 2**20:.1f} MB is over the {MAX_FILE_BYTES / 2**20:.0f} MB "
                         "budget of one shipped file: ship a smaller model or store it in half precision")
    provenance = dict(name=name, notebook=notebook, note=note, settings=settings, steps=steps,
                      cards=dict(cards or {}), seconds=None if seconds is None else round(float(seconds), 1),
                      commit=_commit(), made=_dt.date.today().isoformat(),
                      machine=f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
                      bytes=buffer.tell(), extra=dict(extra or {}))
    json.dumps(provenance)  # fails here, not half-way through writing, on settings that are not JSON
    folder = save_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pt"
    path.write_bytes(buffer.getvalue())
    (folder / f"{name}.json").write_text(json.dumps(provenance, indent=2) + "\n")
    write_readme(folder)
    return path


def provenance(name: str) -> dict:
    """The provenance of shipped weights `name` (see `save_weights`)."""
    path = shipped_dir() / f"{_check_name(name)}.json"
    if not path.exists():
        raise FileNotFoundError(f"no shipped weights named {name!r} in {shipped_dir()}: a recording FULL run "
                                "makes them (`make reproduce`); see data/weights/README.md")
    return json.loads(path.read_text())


def _mismatch(model: torch.nn.Module, state: dict) -> list[str]:
    own = model.state_dict()
    problems = [f"missing from the file: {k}" for k in own if k not in state]
    problems += [f"not in the model: {k}" for k in state if k not in own]
    problems += [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                 for k in own if k in state and state[k].shape != own[k].shape]
    return problems


def load_weights(model: torch.nn.Module, name: str) -> dict:
    """Load shipped weights `name` into `model` (in place) and return their provenance.

    Raises FileNotFoundError when they are not shipped, and ValueError naming the keys and
    shapes when they do not fit `model` (the model code changed since the FULL run).
    """
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    info = provenance(name)
    path = shipped_dir() / f"{name}.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing (its provenance file is there): re-run {info['notebook']} "
                                "with `make reproduce` to make it")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    state = torch.load(path, map_location=device, weights_only=True)
    problems = _mismatch(model, state)
    if problems:
        raise ValueError(f"{path.name} does not fit this {type(model).__name__} (was the model changed since "
                         f"commit {info['commit']}?): " + "; ".join(problems[:6]))
    model.load_state_dict(state)
    return info


def describe(name: str) -> str:
    """The line a notebook prints when it shows a shipped model, so the screen says which is which."""
    info = provenance(name)
    return (f"Weights from a FULL run (data/weights/{name}.pt, see data/weights/README.md): "
            f"{info['steps']:,} training steps in {info['notebook']}, commit {info['commit']}, {info['made']}.")


def trained_here(steps: int, what: str = "") -> str:
    """The matching line for a model this run trained itself."""
    return f"Trained here for {steps:,} steps{(' (' + what + ')') if what else ''}."


def write_readme(folder: Path | None = None) -> Path:
    """Rewrite `README.md` of the weights folder from the provenance files in it."""
    folder = Path(folder) if folder is not None else shipped_dir()
    rows = []
    for meta in sorted(folder.glob("*.json")):
        info = json.loads(meta.read_text())
        settings = ", ".join(f"{k}={v}" for k, v in info.get("settings", {}).items())
        cards = "; ".join(f"{k}: {v}" for k, v in info.get("cards", {}).items())
        rows.append(f"| {info['name']}.pt | {info['notebook']} | {info.get('note', '')} | {info['steps']:,} | "
                    f"{settings} | {cards} | {info['commit']}, {info['made']}, {info['machine']} | "
                    f"{info['bytes'] / 2**20:.2f} MB |")
    text = ("# data/weights/\n\n"
            "Weights that the course's own FULL runs trained (`make reproduce`), shipped so that FAST\n"
            "(in class, `make lab FAST=1`) shows trained results. Each `.pt` is a `state_dict` loaded with\n"
            "`torch.load(..., weights_only=True)` by `course.weights.load_weights`; its `.json` holds the\n"
            "provenance below. Budget: each file <= 5 MB, all <= 25 MB (tests/test_weights.py).\n"
            "Made by this course; MIT, as the code.\n\n"
            "| file | notebook | what | steps | FULL settings | cards of that run | commit, date, machine | size |\n"
            "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    path = folder / "README.md"
    path.write_text(text)
    return path
