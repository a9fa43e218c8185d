"""Fitting a network: a minibatch training loop (`fit`) with a tqdm bar, and the `History` of
losses and metrics that it (and the other training loops of the course) returns.

Named for what it holds, not `train`: 03, 04, 06 and 13 define a `train()` of their own.
Plumbing shared by every notebook that trains a network (01_mnist1d first, section 4). The loop is plain on
purpose: Adam, fixed steps, evaluation every `eval_every` steps. The lesson of each
notebook is the model and the loss; this is the treadmill they run on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import time

import numpy as np
import torch
from tqdm.auto import tqdm

from . import validate

Tensorish = "torch.Tensor | np.ndarray"


@dataclass
class History:
    """What `fit` measured at each evaluation: `steps[i]` goes with every list's `[i]`."""

    steps: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, step: int, **values: float) -> None:
        self.steps.append(int(step))
        for k, v in values.items():
            self.metrics.setdefault(k, []).append(float(v))

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.metrics:
            raise KeyError(f"no metric {name!r}; have {sorted(self.metrics)}")
        return self.metrics[name]

    def last(self, name: str) -> float:
        """The metric at the last evaluation (what the papers quote), not the best."""
        return self[name][-1]


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max equals the label, in [0, 1]."""
    if logits.ndim != 2 or labels.ndim != 1 or logits.shape[0] != labels.shape[0]:
        raise ValueError(f"accuracy needs logits (N, C) and labels (N,), got {tuple(logits.shape)} and {tuple(labels.shape)}")
    return (logits.argmax(dim=1) == labels).float().mean().item()


def as_tensor(x, device: torch.device | str = "cpu", dtype: torch.dtype | None = None) -> torch.Tensor:
    """NumPy array or tensor -> tensor on `device` (floats become float32 unless `dtype`)."""
    t = torch.as_tensor(x)
    if dtype is None and t.is_floating_point():
        dtype = torch.float32
    return t.to(device=device, dtype=dtype) if dtype is not None else t.to(device)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable,
             metrics: dict[str, Callable] | None = None, batch_size: int = 4096) -> dict[str, float]:
    """Mean loss (and metrics) of `model` on (x, y), in batches, without gradients."""
    was_training = model.training
    model.eval()
    outs = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    model.train(was_training)
    out = torch.cat(outs)
    result = {"loss": float(loss_fn(out, y))}
    for name, fn in (metrics or {}).items():
        result[name] = float(fn(out, y))
    return result


def fit(model: torch.nn.Module, x: Tensorish, y: Tensorish, x_test: Tensorish, y_test: Tensorish, *,
        steps: int, lr: float = 1e-2, batch_size: int = 100, eval_every: int = 250,
        loss_fn: Callable = torch.nn.functional.cross_entropy, metrics: dict[str, Callable] | None = None,
        weight_decay: float = 0.0, optimizer: str = "adam", shuffle: bool = False, seed: int | None = None,
        device: torch.device | str = "cpu", progress: bool = True,
        callback: Callable[[History], None] | None = None, desc: str = "train", fused: bool = False) -> History:
    """Train `model` for `steps` minibatch steps; evaluate on train and test every `eval_every`.

    Args:
        model: a torch module mapping a batch of x to predictions.
        x, y, x_test, y_test: arrays or tensors; rows are examples.
        steps, lr, batch_size, weight_decay: the usual; optimizer is 'adam' or 'sgd'.
        eval_every: evaluate at step 0, every `eval_every` steps and at the last step.
        loss_fn, metrics: loss(pred, target) and {name: fn(pred, target)} measured on both sets
            (history keys 'train_loss', 'test_loss', 'train_<name>', 'test_<name>').
        shuffle: False takes sequential slices of x (MNIST-1D's recipe), True reshuffles each epoch.
        device: where to train; data are moved there once.
        callback: called with the history after each evaluation (live plots in panels).
        fused: Adam's update as one kernel (`torch.optim.Adam(fused=True)`): faster for small models, the
            same update to float rounding (not bit for bit); off by default, 'adam' only.
    Returns:
        the `History`.
    """
    validate.positive_int("steps", steps)
    validate.positive_int("batch_size", batch_size)
    validate.positive_int("eval_every", eval_every)
    validate.positive("lr", lr)
    validate.number("weight_decay", weight_decay, lo=0)
    validate.one_of("optimizer", optimizer, ("adam", "sgd"))
    validate.boolean("shuffle", shuffle)
    validate.callback(callback)
    validate.boolean("fused", fused)
    if fused and optimizer != "adam":
        raise ValueError(f"fused=True needs optimizer='adam', got {optimizer!r}")
    x, x_test = as_tensor(x, device), as_tensor(x_test, device)
    y, y_test = as_tensor(y, device), as_tensor(y_test, device)
    if len(x) != len(y) or len(x_test) != len(y_test):
        raise ValueError(f"x and y must have the same number of rows: {len(x)} vs {len(y)}, test {len(x_test)} vs {len(y_test)}")
    if len(x) < batch_size:
        raise ValueError(f"batch_size {batch_size} is larger than the training set ({len(x)} rows)")
    model.to(device)
    opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    opt = opt_cls(model.parameters(), lr=lr, weight_decay=weight_decay, **({"fused": True} if fused else {}))
    gen = torch.Generator(device="cpu").manual_seed(seed) if seed is not None else None
    order = torch.arange(len(x), device=device)
    history = History()

    def log(step: int) -> None:
        tr = evaluate(model, x, y, loss_fn, metrics)
        te = evaluate(model, x_test, y_test, loss_fn, metrics)
        history.add(step, **{f"train_{k}": v for k, v in tr.items()}, **{f"test_{k}": v for k, v in te.items()})
        if callback is not None:
            callback(history)

    start = time.perf_counter()
    log(0)
    bar = tqdm(range(1, steps + 1), desc=desc, disable=not progress, leave=False, mininterval=0.5)
    n_batches = len(x) // batch_size
    for step in bar:
        b = (step - 1) % n_batches
        if shuffle and b == 0:
            order = torch.randperm(len(x), generator=gen).to(device)
        idx = order[b * batch_size:(b + 1) * batch_size]
        loss = loss_fn(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % eval_every == 0 or step == steps:
            log(step)
            bar.set_postfix({k: f"{v[-1]:.3g}" for k, v in history.metrics.items() if k.startswith("test_")})
    history.seconds = time.perf_counter() - start
    return history
