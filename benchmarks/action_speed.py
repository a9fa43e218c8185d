"""How fast is one Adam step on the action of the Lennard-Jones gas? 05_action against the original code.

The paper's gas run (50 particles, 2-D, 100 time slices, 500 Adam steps) took the original
code 1,020 s on a shared 2-core machine: its potentials loop over the time slices in Python.
05_action evaluates every pair at every slice as one tensor. This script times a fixed number
of Adam steps of both, side by side (alternating, so both see the same load), on the same
initial path, and checks that both land on the same path.

The original is github.com/greydanus/ncf (MIT). It is not shipped or copied here: point
`--original` at a checkout of it OUTSIDE this repository, e.g.
    git clone https://github.com/greydanus/ncf /tmp/orig_action
Its `utils.py` imports pandas and celluloid for plotting only; if they are missing, empty
stand-in modules are registered so that `main.py` imports (nothing of theirs is called).

Usage (from the repository root):
    OMP_NUM_THREADS=1 python benchmarks/action_speed.py [--original DIR] [--steps 20] [--repeats 3] [--system gas|threebody]
    python benchmarks/action_speed.py --original-threads 2    # the original as it ships (torch's default threads)
"""
from __future__ import annotations

import argparse
import importlib.machinery
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.nbimport import definitions  # noqa: E402  (the notebook's own cells)


def load_original(directory):
    directory = Path(directory)
    if not (directory / "main.py").exists():
        raise SystemExit(f"--original {directory}: no main.py there (clone github.com/greydanus/ncf)")
    if str(directory.resolve()).startswith(str(ROOT)):
        raise SystemExit("--original must be outside this repository")
    for name in ("pandas", "celluloid"):
        try:
            __import__(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.__spec__ = importlib.machinery.ModuleSpec(name, None)
            stub.Camera = object
            sys.modules[name] = stub
    sys.path.insert(0, str(directory))
    import main as original  # noqa: E402
    return original


def setups(orig, ours, system):
    """(original runner, our runner) doing `steps` Adam steps from the paper's initial path."""
    if system == "gas":
        _, x_sim = orig.simulate_LJ(dt=0.2, N=50, damping_coeff=0.99)
        n, dt, lr, sigma, lag = 50, 0.2, 3e-5, 8e-3, orig.lagrangian_LJ
        kin, pot, tweak = ours["kinetic_particles"], ours["lennard_jones"], None
    else:
        _, x_sim = orig.simulate_3body(dt=0.5, stable_config=False)
        n, dt, lr, sigma, lag = 3, 0.5, 2e-2, 3e-2, orig.lagrangian_3body
        kin, pot = ours["kinetic_particles"], ours["gravity_soft"]
        tweak = lambda x: x * 0.8 + 0.2

    def run_original(steps):
        path = orig.PerturbedPath(x_sim, N=n, sigma=sigma)
        if tweak is not None:
            path.x.data[3:-3] = tweak(path.x.data[3:-3])
        _, path, _, _ = orig.minimize_action(path, steps=steps, step_size=lr, L_fn=lag, dt=dt, opt="adam",
                                             print_updates=0, verbose=False)
        return path.x.detach().numpy().reshape(x_sim.shape)

    def run_ours(steps):
        init = ours["perturb"](x_sim, sigma, seed=1)
        if tweak is not None:
            init[3:-3] = tweak(init[3:-3])
        path, _ = ours["minimise_action"](init, dt, kin, pot, steps, lr, n_bodies=n)
        return path.numpy()

    return run_original, run_ours


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--original", default="/tmp/orig_action")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--system", choices=["gas", "threebody"], default="gas")
    ap.add_argument("--original-threads", type=int, default=1,
                    help="torch threads for the original (it sets none: torch's default is one per core); ours always uses 1")
    args = ap.parse_args()
    torch.set_num_threads(1)
    orig = load_original(args.original)
    ours = definitions("05_action", extra=dict(SEED=1))
    run_original, run_ours = setups(orig, ours, args.system)
    walls, cpus = {"original": [], "ours": []}, {"original": [], "ours": []}
    for _ in range(args.repeats):
        for name, fn in (("original", run_original), ("ours", run_ours)):
            torch.set_num_threads(args.original_threads if name == "original" else 1)
            w, c = time.perf_counter(), time.process_time()
            out = fn(args.steps)
            walls[name].append(time.perf_counter() - w)
            cpus[name].append(time.process_time() - c)
            if name == "original":
                out_original = out
            else:
                out_ours = out
    diff = float(np.abs(out_original - out_ours).max())
    per = {k: statistics.median(v) / args.steps for k, v in walls.items()}
    per_cpu = {k: statistics.median(v) / args.steps for k, v in cpus.items()}
    print(f"{args.system}: {args.steps} Adam steps, median of {args.repeats}; torch threads: original "
          f"{args.original_threads}, ours 1")
    for k in ("original", "ours"):
        print(f"  {k:8s}: {1e3 * per[k]:8.1f} ms/step wall, {1e3 * per_cpu[k]:8.1f} ms/step CPU; "
              f"500 steps would take {500 * per[k]:7.1f} s wall")
    print(f"  speed-up: {per['original'] / per['ours']:.1f}x wall, {per_cpu['original'] / per_cpu['ours']:.1f}x CPU")
    print(f"  max |original path - our path| after {args.steps} steps: {diff:.2e}")


if __name__ == "__main__":
    main()
