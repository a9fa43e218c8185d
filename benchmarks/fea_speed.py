"""How fast is structural optimisation? course.fea (07, 08) against the tutorial's code.

Two races on the MBB beam:
- one evaluation, what MMA asks for at every step: Gaussian density filter -> SIMP ->
  assemble K -> sparse solve -> compliance -> gradient w.r.t. the design, at 80x25 (the
  tutorial's example) and 192x64 (08's large beam); the compliances and gradients must agree;
- the whole tutorial run: MMA (NLopt) for 81 evaluations at 80x25, volume fraction 0.4; the
  final compliances must agree (the tutorial's re-run gives 343.94).

The original is `stopt_200.py` of github.com/greydanus/structural_optimization (no license
file: never copied here). Its functions are read from a checkout outside this repository
(everything above its "Run the simulation" line, so nothing runs on import); it needs
`autograd` (`pip install --target /tmp/origdeps autograd`, then `--deps /tmp/origdeps`):

    OMP_NUM_THREADS=1 python benchmarks/fea_speed.py --original /tmp/orig/structural_optimization --deps /tmp/origdeps --save
    python benchmarks/fea_speed.py --smoke          # ours only, a small beam (make test)
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import race  # noqa: E402

from course import blur, fea, fea_optimizers, fea_problems  # noqa: E402

STOP_MARK = "##### Run the simulation"


def load_original(directory: Path) -> types.ModuleType:
    source = (directory / "stopt_200.py").read_text()
    if STOP_MARK not in source:
        raise SystemExit(f"{directory}/stopt_200.py: no '{STOP_MARK}' line: is this the tutorial's code?")
    module = types.ModuleType("stopt_200_functions")
    exec(compile(source.split(STOP_MARK)[0], str(directory / "stopt_200.py"), "exec"), module.__dict__)
    return module


def ours_value_and_grad(nelx, nely, volfrac):
    problem = fea_problems.mbb_beam(nelx, nely, volfrac)

    def value_and_grad(x_flat):
        x = torch.tensor(x_flat.reshape(nely, nelx), requires_grad=True)
        c = fea.compliance(blur.gaussian_blur(x, 1.0), problem)
        c.backward()
        return c.item(), x.grad.numpy().ravel()
    return value_and_grad


def original_value_and_grad(orig, nelx, nely, volfrac):
    args = orig.get_args(*orig.mbb_beam(nelx, nely, volfrac))
    fn = orig.autograd.value_and_grad(lambda x: orig.objective(x.reshape(nely, nelx), args))
    return lambda x_flat: fn(x_flat)


def same_value_and_grad(ours, theirs):
    (c1, g1), (c2, g2) = ours, theirs
    if abs(c1 - c2) > 1e-8 * abs(c2):
        raise AssertionError(f"compliances disagree: ours {c1}, original {c2}")
    diff = np.linalg.norm(g1 - g2) / np.linalg.norm(g2)
    if diff > 1e-6:
        raise AssertionError(f"gradients disagree: relative difference {diff:.2e}")
    return f"compliance equal to 1e-8, gradient to {diff:.0e}"


def ours_mma(nelx, nely, volfrac, evals):
    problem = fea_problems.mbb_beam(nelx, nely, volfrac)

    def objective(x):
        return fea.compliance(blur.gaussian_blur(x, 1.0), problem)

    def volume(x):
        return blur.gaussian_blur(x, 1.0).mean()

    def run():
        x0 = np.full((nely, nelx), volfrac)
        history = fea_optimizers.optimize_mma(objective, volume, volfrac, x0, evals)
        return history.losses[-1] if hasattr(history, "losses") else history
    return run


def original_mma(orig, nelx, nely, volfrac, evals):
    def run():
        args = orig.get_args(*orig.mbb_beam(nelx, nely, volfrac))
        args.opt_steps = evals - 1
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            losses, _, _ = orig.fast_stopt(args, verbose=False)
        return float(losses[-1])
    return run


def main(argv=None):
    args = race.arguments(__doc__.split("\n\n")[0], argv)
    orig = load_original(args.original) if args.original is not None else None
    sizes = [(20, 8, 0.4)] if args.smoke else [(80, 25, 0.4), (192, 64, 0.4)]
    records = []
    for nelx, nely, volfrac in sizes:
        x = np.random.default_rng(0).uniform(0.1, 1.0, nelx * nely)
        ours_fn = ours_value_and_grad(nelx, nely, volfrac)
        orig_fn = original_value_and_grad(orig, nelx, nely, volfrac) if orig else None
        records.append(race.report(race.race(
            f"07_fea_evaluation_{nelx}x{nely}", f"07/08 FEA, one evaluation with gradient, MBB {nelx}x{nely}",
            lambda: ours_fn(x), (lambda: orig_fn(x)) if orig else None, same_value_and_grad,
            repeats=args.repeats, threads=args.threads, unit="ms", scale=1000.0), save=args.save))
    nelx, nely, volfrac, evals = (20, 8, 0.4, 5) if args.smoke else (80, 25, 0.4, 81)
    records.append(race.report(race.race(
        "07_mbb_mma_run", f"07 MBB {nelx}x{nely}, MMA, {evals} evaluations",
        ours_mma(nelx, nely, volfrac, evals), original_mma(orig, nelx, nely, volfrac, evals) if orig else None,
        lambda a, b: _same_compliance(a, b), repeats=max(1, args.repeats // 2), threads=args.threads,
        unit="s"), save=args.save))
    return records


def _same_compliance(ours, theirs):
    ours = float(ours)
    if abs(ours - theirs) > 2e-3 * abs(theirs):
        raise AssertionError(f"final compliances disagree: ours {ours:.5g}, original {theirs:.5g}")
    return f"final compliance {ours:.2f} vs {theirs:.2f}"


if __name__ == "__main__":
    main()
