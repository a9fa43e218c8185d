"""How fast does the D-HNN train on the damped spring? 04_dissipative_hnn against the paper's code.

Both sides train the paper's D-HNN (two residual tanh MLPs of width 256 for H and D, gradients with
respect to the state, Adam lr 1e-3, batches of 128 taken as sequential slices) on the same damped-spring
data (the notebook's `spring_dataset`: the paper's 25 x 25 grid, RandomState(42) shuffle, 85 % split) for
the same number of steps, each with its own test evaluation every 100 steps. Ours is the notebook's
`DHNN` (built on the graded `dhnn_parts`) and `train`; the original's is its `models.DHNN` and `train.train`
as they ship. Unit: ms per training step.

The original is github.com/greydanus/dissipative_hnns; run it from a checkout OUTSIDE this repository
(only its models.py and train.py are imported; they need nothing beyond torch and numpy):

    git clone https://github.com/greydanus/dissipative_hnns /tmp/orig/dissipative_hnns
    OMP_NUM_THREADS=1 python benchmarks/dhnn_speed.py --original /tmp/orig/dissipative_hnns --save
    python benchmarks/dhnn_speed.py --smoke          # ours only, tiny (make test)
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import race  # noqa: E402

sys.path.insert(0, str(race.ROOT))
from tools.nbimport import definitions  # noqa: E402


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def ours(nb, data, steps, width):
    def run():
        torch.manual_seed(42)
        model = nb["make_model"]("D-HNN", width=width)
        hist = nb["train"](model, data, steps, 1e-3)
        return n_params(model), hist.last("test_loss")
    return run


def original(directory, data, steps, width):
    if not (directory / "models.py").exists() or not (directory / "train.py").exists():
        raise SystemExit(f"--original {directory}: no models.py / train.py there (a dissipative_hnns checkout)")
    race.add_original_to_path(directory)
    models, train = importlib.import_module("models"), importlib.import_module("train")
    if not hasattr(models, "DHNN"):
        raise SystemExit(f"--original {directory}: its models.py has no DHNN")
    args = train.get_args()
    args.__dict__.update(input_dim=3, hidden_dim=width, learning_rate=1e-3, total_steps=steps, device="cpu",
                         print_every=10 ** 9, test_every=100, batch_size=128)
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in data.items() if isinstance(v, np.ndarray)}

    def run():
        torch.manual_seed(42)
        model = models.DHNN(args.input_dim, args.hidden_dim)
        results = train.train(model, args, arrays)
        return n_params(model), results["test_loss"][-1]
    return run


def same(a, b):
    if a[0] != b[0]:
        raise AssertionError(f"different models: {a[0]} vs {b[0]} parameters")
    return f"same model size ({a[0]:,} parameters), data and schedule; last logged test MSE {a[1]:.3g} vs {b[1]:.3g}"


def main(argv=None):
    args = race.arguments(__doc__.split("\n\n")[0], argv)
    steps, width = (3, 16) if args.smoke else (200, 256)
    nb = definitions("04_dissipative_hnn")
    data = nb["spring_dataset"](2.0, seed=42)
    fn_orig = None if args.original is None else original(args.original, data, steps, width)
    record = race.race("04_dhnn_spring", f"04 D-HNN on the damped spring, width {width}, batch 128 ({steps} steps)",
                       ours(nb, data, steps, width), fn_orig, same, repeats=args.repeats, threads=args.threads,
                       unit="ms per step", scale=1000.0 / steps)
    return race.report(record, save=args.save)


if __name__ == "__main__":
    main()
