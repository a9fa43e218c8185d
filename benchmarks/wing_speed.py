"""How fast is one step of wing optimisation? 09_wings against the paper's code.

One step = simulate the 50x75 wind tunnel for 20 steps, differentiate the lift/drag proxy
with respect to every obstacle parameter, and take a gradient-ascent step: the original with
autograd on NumPy (its `optimize_wing`, which also re-simulates once per step to log frames,
as it ships), ours with PyTorch (the notebook's `optimize_wing`, run on the student's
operators). Both start from the same faint rectangle (NumPy seed 0). Unit: seconds per step.

The original is github.com/greydanus/optimize_wing (no license file: never copied here).
Run it from a checkout outside this repository with `autograd` importable:

    OMP_NUM_THREADS=1 python benchmarks/wing_speed.py --original /tmp/orig/optimize_wing --deps /tmp/origdeps --save
    python benchmarks/wing_speed.py --smoke         # ours only, a tiny tunnel (make test)
"""
from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import race  # noqa: E402

sys.path.insert(0, str(race.ROOT))
from tools.nbimport import definitions  # noqa: E402


def ours(rows, cols, steps):
    nb = definitions("09_wings")

    def run():
        out = nb["optimize_wing"](rows, cols, ascent_steps=steps, progress=False)
        return out["ratio"]
    return run


def original(directory, rows, cols, steps):
    race.add_original_to_path(directory)
    import optimize  # noqa: E402  (the original's optimize.py)
    args = optimize.get_args()
    args.tunnel_shape, args.optimization_steps, args.print_every = [rows, cols], steps, 10 ** 9

    def run():
        with contextlib.redirect_stdout(io.StringIO()):
            _, params = optimize.optimize_wing(args)
        return params
    return run


def final_ratio_of_original(params, rows, cols):
    """The original's lift/drag proxy of its final design (its own simulator, untimed)."""
    import numpy as np
    import optimize
    import simulate
    args = optimize.get_args()
    args.tunnel_shape = [rows, cols]
    occlusion = simulate.constrain_occlusion(params, args.tunnel_shape, args.use_oval_shape)
    vx, vy = np.ones((rows, cols)), np.zeros((rows, cols))
    final_vx, final_vy, _ = simulate.simulate_wind_tunnel(args, vx, vy, occlusion)
    return -np.mean(final_vy - vy) / np.mean(final_vx - vx)


def same_design(rows, cols):
    def check(our_ratios, original_params):
        theirs = final_ratio_of_original(original_params, rows, cols)
        ours_ = our_ratios[-1]
        if abs(ours_ - theirs) > 1e-6 * max(1.0, abs(theirs)):
            raise AssertionError(f"final L/D differs: ours {ours_:.10g}, original {theirs:.10g}")
        return f"final L/D {ours_:.6g} vs {theirs:.6g}"
    return check


def main(argv=None):
    args = race.arguments(__doc__.split("\n\n")[0], argv)
    rows, cols, steps = (12, 18, 1) if args.smoke else (50, 75, 2)
    fn_orig = original(args.original, rows, cols, steps) if args.original is not None else None
    record = race.race("09_wing_step", f"09 wing, {rows}x{cols} tunnel, 20 simulation steps, one ascent step",
                       ours(rows, cols, steps), fn_orig,
                       same_design(rows, cols),
                       repeats=args.repeats, threads=args.threads, unit="s per step", scale=1.0 / steps)
    return race.report(record, save=args.save)


if __name__ == "__main__":
    main()
