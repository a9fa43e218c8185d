"""How fast does the PC-ODE train? 06_piecewise_node against the paper's code.

Both sides train the paper's PC-ODE (residual-MLP encoder and decoder of width 128, a GRUCell of
128, a linear delta-t head; 0.2 M parameters) with jumpy teacher forcing (eps 3e-3, burn-in 4,
Adam lr 1e-3) on the same Lines batches (course.piecewise_data.lines: 21 frames, 2 coordinates),
batch 256, for the same number of steps. Ours is the notebook's `train` with its `jumpy_frame`
(per frame one GRU update and one gradient-free decoder call that decides whether the segment
extends; the frames' GRU inputs are computed before the walk and the predictions the loss uses are
decoded after it, one call each; the encoder's last layer is folded into the GRU's input weights, and
`course.piecewise_fast.decode_pair` decodes each state at its elapsed time and at tau = 0 in one
pass with a written-out backward, tested equal to autograd); the original's loop is its `train.train` as it ships (it encodes
and decodes the whole sequence at once too, and runs a GRUCell per frame), with its evaluation
switched off (eval_every 0) so that both sides time training steps only.
Unit: ms per training step.

The original is github.com/greydanus/piecewise_node (Apache-2.0); run it from a checkout OUTSIDE this
repository whose folder is named piecewise_node (it is a package with relative imports):

    git clone https://github.com/greydanus/piecewise_node /tmp/orig/piecewise_node
    OMP_NUM_THREADS=1 python benchmarks/pcode_speed.py --original /tmp/orig/piecewise_node --save
    python benchmarks/pcode_speed.py --smoke          # ours only, tiny (make test)

Its models.py imports the old torchdyn API at import time (for the ODE-RNN only); when torchdyn is
missing an empty stand-in module is registered so that the package imports (nothing of it is called).
"""
from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import race  # noqa: E402

sys.path.insert(0, str(race.ROOT))
from tools.nbimport import definitions  # noqa: E402

from course import piecewise_data  # noqa: E402


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def ours(data, steps, width, batch):
    nb = definitions("06_piecewise_node", extra=dict(SEED=0, EPS=3e-3, BURN_IN=4, LR=1e-3, HEAD_LR=0.1, BATCH=batch,
                                                     MAX_SEGMENT=16, device="cpu"))

    def run():
        torch.manual_seed(0)
        model = nb["PCODE"](2, width, width)
        hist = nb["train"](model, data, steps, batch=batch)
        return n_params(model), hist.last("mse"), hist.last("mean_dt")
    return run


def original(directory, data, steps, width, batch):
    if directory.name != "piecewise_node" or not (directory / "teacher_forcing.py").exists():
        raise SystemExit(f"--original {directory}: expected a checkout named piecewise_node with teacher_forcing.py")
    for name in ("torchdyn", "torchdyn.models"):
        try:
            importlib.import_module(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.__spec__ = importlib.machinery.ModuleSpec(name, None)
            stub.NeuralDE = None
            sys.modules[name] = stub
    race.add_original_to_path(directory.parent)
    pn = importlib.import_module("piecewise_node")
    args = pn.get_train_args()
    args.__dict__.update(input_dim=2, rnn_dim=width, hidden_dim=width, batch_size=batch, total_steps=steps - 1,
                         eval_every=0, print_every=10 ** 9, aux_dims=0, device="cpu", seed=0)

    def run():
        torch.manual_seed(0)
        model = pn.SequenceModel(args.input_dim, args.hidden_dim, args.rnn_dim)
        results = pn.train(args, model, {"x": data, "x_test": data[:, :batch]})
        return n_params(model), results["Ldx"][-1], results["mean_dt"][-1]
    return run


def same(a, b):
    if a[0] != b[0]:
        raise AssertionError(f"different models: {a[0]} vs {b[0]} parameters")
    return (f"same model size ({a[0]:,} parameters), same task and batch; last-step state loss {a[1]:.3g} vs {b[1]:.3g}, "
            f"mean realised delta t {a[2]:.2f} vs {b[2]:.2f}")


def main(argv=None):
    args = race.arguments(__doc__.split("\n\n")[0], argv)
    steps, width, batch, n = (2, 16, 16, 64) if args.smoke else (5, 128, 256, 1280)
    data = torch.as_tensor(piecewise_data.lines(n, seed=0), dtype=torch.float32)
    fn_orig = None if args.original is None else original(args.original, data.clone(), steps, width, batch)
    record = race.race("06_pcode_lines", f"06 PC-ODE on Lines, width {width}, batch {batch} ({steps} steps)",
                       ours(data, steps, width, batch), fn_orig, same, repeats=args.repeats, threads=args.threads,
                       unit="ms per step", scale=1000.0 / steps)
    return race.report(record, save=args.save)


if __name__ == "__main__":
    main()
