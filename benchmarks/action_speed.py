"""How fast is the action minimisation of 05's Lennard-Jones gas? Ours against the original code.

The paper's gas run: 50 particles in 2-D, 100 time slices (1,225 pairs), 500 Adam steps on the
discrete action, from the paper's perturbed ODE path (NumPy seed 1).

- original: github.com/greydanus/ncf (MIT), `main.minimize_action` with `lagrangian_LJ`: its
  potential loops over the 100 time slices in Python and autograd takes the gradient;
- ours:     `course.physics.action_fast.minimise_action_fast`: the same action, its gradient
  written out by hand (the leapfrog residual plus the pair forces, summed by two matrix
  products), Adam and the endpoints as in the notebook;
- lesson (with --lesson): notebook 05's own `minimise_action` (autograd on a potential
  vectorised over all slices and pairs: the version students read and write).

Races (benchmarks/race.py: alternated in one process, at 1 and 2 torch threads, min and median,
"as shipped" and "best vs best", and a check that both sides compute the same thing):

    05_gas_step     ms per Adam step, 20 steps from the same initial path; same path after them
    05_gas_run      (--end-to-end) the whole run: ODE path, initial path, all 500 steps; same final path
    05_gas_step_lesson, 05_gas_run_lesson   (--lesson) the same with the lesson as "ours"

The original is not shipped or copied here: point `--original` at a checkout of it OUTSIDE this
repository (git clone https://github.com/greydanus/ncf /tmp/orig_action). Its utils.py imports
pandas and celluloid for plotting only; if they are missing, empty stand-in modules are
registered so that main.py imports (nothing of theirs is called).

    python benchmarks/action_speed.py --original /tmp/orig_action --save
    python benchmarks/action_speed.py --original /tmp/orig_action --end-to-end --lesson --save
    python benchmarks/action_speed.py --smoke          # tiny gas, no original: ours vs the lesson (make test)
"""
from __future__ import annotations

import argparse
import importlib.machinery
import sys
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import race  # noqa: E402

sys.path.insert(0, str(race.ROOT))
from tools.nbimport import definitions  # noqa: E402  (the notebook's own cells)
from course.physics import action_fast  # noqa: E402

GAS = dict(n=50, slices=100, dt=0.2, lr=3e-5, sigma=8e-3, damping=0.99, steps=20)
SMOKE = dict(n=6, slices=12, dt=0.2, lr=3e-5, sigma=8e-3, damping=0.99, steps=3)
RUN_STEPS = 500


def load_original(directory):
    if not (Path(directory) / "main.py").exists():
        raise SystemExit(f"--original {directory}: no main.py there (git clone https://github.com/greydanus/ncf)")
    for name in ("pandas", "celluloid"):
        try:
            __import__(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.__spec__ = importlib.machinery.ModuleSpec(name, None)
            stub.Camera = object
            sys.modules[name] = stub
    race.add_original_to_path(directory)
    import main as original  # noqa: E402  (the original's main.py)
    return original


def gas_start(ns, size, accel=None):
    """The paper's gas: start U(0.4, 0.6)^2 from NumPy seed 1 at rest, damped Euler ODE path, initial path."""
    p0 = np.random.RandomState(1).rand(size["n"], 2) * 0.2 + 0.4
    accel = accel or ns["force_accel"](ns["lennard_jones"])
    ode = ns["euler_ode"](p0, p0, size["dt"], accel, size["slices"], damping=size["damping"])
    return ode, ns["perturb"](ode, size["sigma"], seed=1)


def ours_fast(ns, size, steps, end_to_end):
    fixed = gas_start(ns, size)

    def run():
        ode, init = gas_start(ns, size, action_fast.lennard_jones_accel) if end_to_end else fixed
        path, _ = action_fast.minimise_action_fast(init, size["dt"], steps, size["lr"], n_bodies=size["n"])
        return path.numpy(), ode
    return run


def ours_lesson(ns, size, steps, end_to_end):
    fixed = gas_start(ns, size)

    def run():
        ode, init = gas_start(ns, size) if end_to_end else fixed
        path, _ = ns["minimise_action"](init, size["dt"], ns["kinetic_particles"], ns["lennard_jones"], steps,
                                        size["lr"], n_bodies=size["n"])
        return path.numpy(), ode
    return run


def original_run(orig, ns, size, steps, end_to_end):
    fixed = gas_start(ns, size)[0]

    def run():
        x_sim = orig.simulate_LJ(dt=size["dt"], N=size["n"], damping_coeff=size["damping"])[1] if end_to_end else fixed
        path = orig.PerturbedPath(x_sim, N=size["n"], sigma=size["sigma"])
        _, path, _, _ = orig.minimize_action(path, steps=steps, step_size=size["lr"], L_fn=orig.lagrangian_LJ,
                                             dt=size["dt"], opt="adam", print_updates=0, verbose=False)
        return path.x.detach().numpy().reshape(x_sim.shape), x_sim
    return run


def same_path(ours, theirs, tol=1e-9):
    """Both final paths equal (max difference <= tol) and the same final MSE to each side's ODE path."""
    diff = float(np.abs(ours[0] - theirs[0]).max())
    mse = [float(np.mean((p - ode) ** 2)) for p, ode in (ours, theirs)]
    if not diff <= tol:
        raise AssertionError(f"final paths differ by {diff:.3g} (> {tol:g}); MSE to the ODE path {mse[0]:.6g} vs {mse[1]:.6g}")
    return f"max path difference {diff:.1e}; final MSE to the ODE path {mse[0]:.6e} vs {mse[1]:.6e}"


def main(argv=None):
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--end-to-end", action="store_true", help="also race whole 500-step runs")
    pre.add_argument("--lesson", action="store_true", help="also race the notebook's autograd version")
    extra, rest = pre.parse_known_args(argv)
    args = race.arguments(__doc__.split("\n\n")[0], rest)
    size = SMOKE if args.smoke else GAS
    ns = definitions("05_action")
    orig = load_original(args.original) if args.original is not None else None
    if args.smoke:   # no original: check that ours and the lesson agree at a tiny size, and that both run
        print(same_path(ours_fast(ns, size, size["steps"], True)(), ours_lesson(ns, size, size["steps"], True)()))
    records = []
    kinds = [("step", size["steps"], False)] + ([("run", RUN_STEPS, True)] if extra.end_to_end else [])
    sides = [("", ours_fast)] + ([("_lesson", ours_lesson)] if extra.lesson else [])
    for kind, steps, end_to_end in kinds:
        for suffix, make in sides:
            label = "fast path (gradient by hand)" if suffix == "" else "the lesson (autograd)"
            what = (f"05 gas, {size['n']} particles, {size['slices']} slices, "
                    + ("ms per Adam step" if kind == "step" else f"all {steps} steps end to end") + f": {label}")
            fn_orig = original_run(orig, ns, size, steps, end_to_end) if orig is not None else None
            record = race.race(f"05_gas_{kind}{suffix}", what, make(ns, size, steps, end_to_end), fn_orig, same_path,
                               repeats=args.repeats, threads=args.threads,
                               unit="ms per step" if kind == "step" else "s",
                               scale=1e3 / steps if kind == "step" else 1.0)
            records.append(race.report(record, save=args.save and not args.smoke))
    return records


if __name__ == "__main__":
    main()
