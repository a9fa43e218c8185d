"""How fast is one FEA solve plus its gradient? course.fea against the tutorial's code.

One "evaluation" is what MMA asks for at every step of 07_topopt_180: Gaussian density
filter -> SIMP -> assemble K -> sparse solve -> compliance -> gradient w.r.t. the design.
We time it on the MBB beam at 80x25 (the tutorial's example) and 192x64 (08's large beam).

The reference is the tutorial's own NumPy/autograd code (Greydanus 2022). Its repository has
no license, so it is not shipped here: pass a local re-creation with `--reference FILE`,
a Python file that defines `make_value_and_grad(nelx, nely, volfrac)` returning
`f(x_flat) -> (compliance, gradient)` and imports `autograd` (install it outside the
course's environment, e.g. `pip install --target /tmp/ag autograd` and `--path /tmp/ag`).
Without `--reference` only course.fea is timed.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/fea_speed.py [--reference FILE] [--path DIR] [--repeats N]
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time

import numpy as np
import torch

from course import blur, fea
from course import fea_problems

SIZES = [(80, 25, 0.4), (192, 64, 0.4)]


def course_value_and_grad(nelx, nely, volfrac):
    problem = fea_problems.mbb_beam(nelx, nely, volfrac)

    def value_and_grad(x_flat):
        x = torch.tensor(x_flat.reshape(nely, nelx), requires_grad=True)
        c = fea.compliance(blur.gaussian_blur(x, 1.0), problem)
        c.backward()
        return c.item(), x.grad.numpy().ravel()
    return value_and_grad


def median_seconds(fns, x, repeats):
    """Median wall time of each function; calls alternate so that both see the same load
    (the course's machines are shared)."""
    for fn in fns:
        fn(x)  # warm-up: index arrays, caches, imports
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times):
            start = time.perf_counter()
            fn(x)
            bucket.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def load_reference(path, extra_path):
    if extra_path:
        sys.path.append(extra_path)
    spec = importlib.util.spec_from_file_location("stopt_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_value_and_grad


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", help="file defining make_value_and_grad (the tutorial's code)")
    parser.add_argument("--path", help="extra sys.path entry (where autograd is installed)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
    torch.set_num_threads(1)
    reference = load_reference(args.reference, args.path) if args.reference else None

    print(f"one evaluation (filter + solve + compliance + gradient), median of {args.repeats}, "
          f"torch threads={torch.get_num_threads()}")
    print(f"{'grid':>8} {'dofs':>6} {'course.fea':>11} {'tutorial':>10} {'speed-up':>9} {'|dc| rel diff':>14}")
    rng = np.random.default_rng(0)
    for nelx, nely, volfrac in SIZES:
        x = rng.uniform(0.1, 1.0, nelx * nely)
        ours_fn = course_value_and_grad(nelx, nely, volfrac)
        dofs = 2 * (nelx + 1) * (nely + 1)
        if reference is None:
            (ours,) = median_seconds([ours_fn], x, args.repeats)
            print(f"{nelx:>4}x{nely:<3} {dofs:>6} {ours * 1e3:>9.1f}ms {'-':>10} {'-':>9} {'-':>14}")
            continue
        ref_fn = reference(nelx, nely, volfrac)
        ours, theirs = median_seconds([ours_fn, ref_fn], x, args.repeats)
        (c1, g1), (c2, g2) = ours_fn(x), ref_fn(x)
        if abs(c1 - c2) > 1e-8 * abs(c2):
            raise RuntimeError(f"compliances disagree: course.fea {c1} vs reference {c2}")
        diff = np.linalg.norm(g1 - g2) / np.linalg.norm(g2)
        print(f"{nelx:>4}x{nely:<3} {dofs:>6} {ours * 1e3:>9.1f}ms {theirs * 1e3:>8.1f}ms "
              f"{theirs / ours:>8.2f}x {diff:>14.1e}")


if __name__ == "__main__":
    main()
