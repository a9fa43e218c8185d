"""How fast does the spring HNN train? 02_hamiltonian_nn against the paper's code.

Both sides train the paper's HNN (200 tanh units, full-batch Adam, lr 1e-3, weight decay 1e-4)
on the same spring data (the original's own draw, seed 0, made once and shared), for the same
number of steps. The original's loop is its `experiment-spring/train.py` as it ships (it
also evaluates the test loss at every step); ours is the notebook's HNN on `course` fit (test
loss every 200 steps, as the notebook runs it). Unit: ms per training step.

The original is github.com/greydanus/hamiltonian-nn (Apache-2.0); run it from a checkout
outside this repository, with `autograd` and `imageio` importable (e.g.
`pip install --target /tmp/origdeps autograd imageio` and `--deps /tmp/origdeps`):

    OMP_NUM_THREADS=1 python benchmarks/hnn_speed.py --original /tmp/orig/hamiltonian-nn --deps /tmp/origdeps --save
    python benchmarks/hnn_speed.py --smoke          # ours only, a few steps (make test)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import race  # noqa: E402

sys.path.insert(0, str(race.ROOT))
from tools.nbimport import definitions  # noqa: E402

from course.fitting import fit  # noqa: E402


def spring_data(seed=0):
    """The paper's spring draw without its code: the same recipe (50 noisy circles, t in [0, 3])."""
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 3, 30)
    xs, dxs = [], []
    for _ in range(50):
        direction = rng.rand(2) * 2 - 1
        y0 = direction / np.linalg.norm(direction) * (rng.rand() * 0.9 + 0.1)
        angle = np.arctan2(y0[1], y0[0]) - 2 * t             # H = q^2 + p^2: a circle at angular speed 2
        r = np.linalg.norm(y0)
        clean = np.stack([r * np.cos(angle), r * np.sin(angle)], -1)
        dxs.append(np.stack([2 * clean[:, 1], -2 * clean[:, 0]], -1))
        xs.append(clean + 0.1 * rng.randn(len(t), 2))
    x, dx = np.concatenate(xs), np.concatenate(dxs)
    half = len(x) // 2
    return {"x": x[:half], "dx": dx[:half], "test_x": x[half:], "test_dx": dx[half:]}


def ours(data, steps, hidden):
    nb = definitions("02_hamiltonian_nn")

    def run():
        torch.manual_seed(0)
        model = nb["HNN"](2, hidden)
        hist = fit(model, data["x"], data["dx"], data["test_x"], data["test_dx"], steps=steps, lr=1e-3,
                   batch_size=len(data["x"]), eval_every=max(1, min(200, steps)), loss_fn=F.mse_loss,
                   weight_decay=1e-4, shuffle=True, seed=0, progress=False)
        return hist.last("test_loss")
    return run


def original(directory, data, steps, hidden):
    race.add_original_to_path(directory, "experiment-spring")
    import train as original_train  # noqa: E402  (experiment-spring/train.py)
    original_train.get_dataset = lambda seed=0, **kw: data       # the same data on both sides
    args = type("Args", (), dict(input_dim=2, hidden_dim=hidden, learn_rate=1e-3, nonlinearity="tanh",
                                 total_steps=steps - 1, print_every=10 ** 9, name="spring", baseline=False,
                                 use_rk4=False, verbose=False, field_type="solenoidal", seed=0))()

    def run():
        model, stats = original_train.train(args)
        return stats["test_loss"][-1]
    return run


def same(a, b):
    ratio = a / b
    if not 0.5 < ratio < 2.0:
        raise AssertionError(f"final test losses differ too much: ours {a:.4g}, original {b:.4g}")
    return f"final test loss {a:.4f} vs {b:.4f}"


def main(argv=None):
    args = race.arguments(__doc__.split("\n\n")[0], argv)
    steps, hidden = (5, 16) if args.smoke else (500, 200)
    data = spring_data()
    fn_orig = None
    if args.original is not None:
        fn_orig = original(args.original, {k: v.copy() for k, v in data.items()}, steps, hidden)
    record = race.race("02_hnn_spring", f"02 spring HNN, {hidden} units, full-batch Adam ({steps} steps)",
                       ours(data, steps, hidden), fn_orig, same, repeats=args.repeats, threads=args.threads,
                       unit="ms per step", scale=1000.0 / steps)
    return race.report(record, save=args.save)


if __name__ == "__main__":
    main()
