"""Optimisers on the design variables of a topology-optimisation problem: optimality criteria
(OC, the 88-line code's update) and the Method of Moving Asymptotes (MMA, NLopt's LD_MMA, as the
180-line tutorial uses).

07_topopt_180 writes both in its cells (its `oc_update` is a graded exercise); 08_neural_reparam
runs these shared drivers as its baselines. The drivers take the objective and the volume as
plain torch functions of the design variables, so the physics and the filter stay with the
caller. Every driver calls `callback(history)` after each evaluation with the `DesignHistory`
so far, the signature `course.widgets.live_plot` takes.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from . import validate

__all__ = ["oc_update", "DesignHistory", "optimize_mma", "optimize_oc", "lbfgs_b"]


def _check_oc_step(move, eta):
    validate.number("move", move, lo=0, hi=1, lo_open=True)
    validate.number("eta", eta, lo=0, hi=1, lo_open=True)


def oc_update(x: np.ndarray, dc: np.ndarray, dv: np.ndarray, volume, volfrac: float,
              move: float = 0.2, eta: float = 0.5, lam_bounds=(1e-9, 1e9)) -> np.ndarray:
    """One optimality-criteria step (Bendsoe 1995; the 88-line code). Written in 07_topopt_180 (eq. 6), used in 08.

    Each density is scaled by B_e^eta with B_e = -dc_e / (lambda dv_e), then clipped to a
    move limit and to [0, 1]; the Lagrange multiplier lambda is found by bisection (in log
    space) so that the new design meets the volume budget.

    Args:
        x: (nely, nelx) current design variables in [0, 1].
        dc: (nely, nelx) gradient of compliance w.r.t. x (<= 0).
        dv: (nely, nelx) gradient of the volume w.r.t. x (> 0).
        volume: function design -> volume (e.g. the mean filtered density), a float.
        volfrac: the volume budget in (0, 1).
        move: largest change of a density per step, in (0, 1].
        eta: damping exponent in (0, 1].
        lam_bounds: bracket for lambda.
    Returns:
        the new (nely, nelx) design, with volume(x_new) <= volfrac.
    """
    validate.fraction("volfrac", volfrac)
    _check_oc_step(move, eta)
    x, dc, dv = (np.asarray(a, dtype=np.float64) for a in (x, dc, dv))
    if dc.shape != x.shape or dv.shape != x.shape:
        raise ValueError(f"dc and dv must have the shape of x {x.shape}, got {dc.shape}, {dv.shape}")
    ratio = np.maximum(-dc, 0) / np.maximum(dv, 1e-30)
    lower, upper = np.maximum(x - move, 0), np.minimum(x + move, 1)
    step = lambda lam: np.clip(x * (ratio / lam) ** eta, lower, upper)
    lo, hi = np.log(lam_bounds[0]), np.log(lam_bounds[1])
    while hi - lo > 1e-10:          # larger lambda -> less material
        mid = 0.5 * (lo + hi)
        if volume(step(np.exp(mid))) > volfrac:
            lo = mid
        else:
            hi = mid
    return step(np.exp(hi))


# ----------------------------------------------------------------------------------------
# Optimizers on the design variables: MMA (NLopt) and optimality criteria
# ----------------------------------------------------------------------------------------
@dataclass
class DesignHistory:
    """What `optimize_mma` and `optimize_oc` record: one entry per objective evaluation
    (and what their callbacks receive, the entries so far).

    Attributes:
        losses: (n,) float array, the objective at each evaluation (its last entry is the
            final design's for OC; for MMA an evaluation can be a trial point MMA rejects).
        designs: list of n arrays shaped like x0, the design variables evaluated.
        volumes: (n,) float array, `volume(design)` at each evaluation.
    """

    losses: np.ndarray
    designs: list
    volumes: np.ndarray

    @classmethod
    def of(cls, losses, designs, volumes) -> "DesignHistory":
        """A history from the lists a driver appends to (a snapshot: later appends do not show)."""
        return cls(np.array(losses, dtype=np.float64), list(designs), np.array(volumes, dtype=np.float64))


def _check_optimizer_args(objective, volume, volfrac, x0, steps, steps_name, callback):
    validate.function("objective", objective, "objective(x) of a torch tensor x")
    validate.function("volume", volume, "volume(x) of a torch tensor x")
    validate.callback(callback)
    validate.fraction("volfrac", volfrac)
    validate.positive_int(steps_name, steps)
    if torch.is_tensor(x0):
        x0 = x0.detach().cpu().numpy()
    x0 = np.array(x0, dtype=np.float64)   # a copy: the caller's array is never changed
    if x0.ndim < 1 or x0.size == 0:
        raise ValueError(f"x0 must be a non-empty array of design variables, got shape {x0.shape}")
    if not np.all((x0 >= 0) & (x0 <= 1)):
        raise ValueError(f"x0 must lie in [0, 1] (finite), got values in [{x0.min()}, {x0.max()}]")
    return x0


def _value_and_grad(fn, x: np.ndarray, name: str):
    """NumPy in (what the optimizers speak), torch autograd in the middle, NumPy out."""
    x_t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = fn(x_t)
    if not torch.is_tensor(value) or value.numel() != 1:
        raise ValueError(f"{name} must return a scalar torch tensor, got {type(value).__name__} "
                         f"of shape {tuple(getattr(value, 'shape', ()))}")
    (grad,) = torch.autograd.grad(value, x_t)
    return value.item(), grad.numpy()


def _volume_of(volume, x: np.ndarray) -> float:
    with torch.no_grad():
        return float(volume(torch.tensor(x, dtype=torch.float64)))


def optimize_mma(objective, volume, volfrac: float, x0, evals: int, callback=None) -> DesignHistory:
    """Minimise objective(x) subject to volume(x) <= volfrac and 0 <= x <= 1 with the Method of
    Moving Asymptotes (Svanberg 1987; NLopt's LD_MMA, as the 180-line tutorial does).
    Taught in 07_topopt_180; 08_neural_reparam uses it as a baseline (with a cone filter).

    Gradients come from torch autograd: both functions receive x as a float64 tensor shaped
    like x0 and return a scalar tensor. The constraint tolerance is 1e-8. The budget counts
    function evaluations (MMA may evaluate a trial point, reject it and try again), and every
    evaluation is recorded.

    Args:
        objective: torch function x -> scalar to minimise, e.g. the compliance of filter(x).
        volume: torch function x -> scalar, e.g. the mean filtered density.
        volfrac: the volume budget in (0, 1).
        x0: starting design variables, an array (e.g. (nely, nelx)) with values in [0, 1].
        evals: number of objective evaluations, >= 1.
        callback: optional callback(history), called after every evaluation with the
            DesignHistory so far (e.g. `widgets.live_plot(draw)`).
    Returns:
        a DesignHistory with at most `evals` entries.
    """
    import nlopt   # a declared dependency; imported here so that `course.fea` loads without it

    x0 = _check_optimizer_args(objective, volume, volfrac, x0, evals, "evals", callback)
    shape = x0.shape
    losses, designs, volumes = [], [], []

    def objective_for_nlopt(x_flat, grad):
        x = x_flat.reshape(shape).copy()
        value, dvalue = _value_and_grad(objective, x, "objective")
        if grad.size:
            grad[:] = dvalue.ravel()
        losses.append(value)
        designs.append(x)
        volumes.append(_volume_of(volume, x))
        if callback is not None:
            callback(DesignHistory.of(losses, designs, volumes))
        return value

    def constraint_for_nlopt(x_flat, grad):   # volume(x) - volfrac <= 0
        value, dvalue = _value_and_grad(lambda t: volume(t) - volfrac, x_flat.reshape(shape), "volume")
        if grad.size:
            grad[:] = dvalue.ravel()
        return value

    opt = nlopt.opt(nlopt.LD_MMA, x0.size)
    opt.set_lower_bounds(0.0)
    opt.set_upper_bounds(1.0)
    opt.set_min_objective(objective_for_nlopt)
    opt.add_inequality_constraint(constraint_for_nlopt, 1e-8)
    opt.set_maxeval(int(evals))
    opt.optimize(x0.ravel())
    return DesignHistory.of(losses[:evals], designs[:evals], volumes[:evals])


def optimize_oc(objective, volume, volfrac: float, x0, iterations: int, move: float = 0.2,
                eta: float = 0.5, callback=None) -> DesignHistory:
    """Minimise objective(x) subject to volume(x) <= volfrac and 0 <= x <= 1 with optimality
    criteria: `iterations` steps of `oc_update`. Taught in 07_topopt_180; 08_neural_reparam uses
    it as a baseline (with a cone filter).

    Each iteration evaluates the objective and the volume with their autograd gradients,
    records them, then takes one OC step. OC assumes dobjective/dx <= 0 (more material is
    stiffer) and dvolume/dx > 0.

    Args:
        objective: torch function x -> scalar to minimise, e.g. the compliance of filter(x).
        volume: torch function x -> scalar, e.g. the mean filtered density.
        volfrac: the volume budget in (0, 1).
        x0: starting design variables, an array (e.g. (nely, nelx)) with values in [0, 1].
        iterations: number of evaluations (= OC steps), >= 1.
        move: largest change of a design variable per step, in (0, 1].
        eta: damping exponent in (0, 1].
        callback: optional callback(history), called after every evaluation with the
            DesignHistory so far (e.g. `widgets.live_plot(draw)`).
    Returns:
        a DesignHistory with `iterations` entries (the design *before* each step).
    """
    x = _check_optimizer_args(objective, volume, volfrac, x0, iterations, "iterations", callback)
    _check_oc_step(move, eta)
    volume_of = functools.partial(_volume_of, volume)
    losses, designs, volumes = [], [], []
    for _ in range(iterations):
        value, dvalue = _value_and_grad(objective, x, "objective")
        vol, dvol = _value_and_grad(volume, x, "volume")
        losses.append(value)
        designs.append(x.copy())
        volumes.append(vol)
        if callback is not None:
            callback(DesignHistory.of(losses, designs, volumes))
        x = oc_update(x, dvalue, dvol, volume_of, volfrac, move, eta)
    return DesignHistory.of(losses, designs, volumes)


# ----------------------------------------------------------------------------------------
# SciPy's L-BFGS-B without bounds, its own core driven directly (08's L-BFGS runs)
# ----------------------------------------------------------------------------------------
def _lbfgs_b_direct(fun_and_grad, x0, maxfun, factr, pgtol, m, maxls, maxiter):
    """scipy.optimize._minimize_lbfgsb's loop for bounds=None and no callback, on SciPy's own
    `setulb`: the same calls with the same arrays, less ScalarFunction's per-evaluation copies and
    comparisons of x (about eight passes over x an evaluation, 20-30 ms at 1.5 M parameters).
    SciPy skips the evaluation when setulb asks again for the point it last evaluated; so does
    this loop."""
    from scipy.optimize import _lbfgsb

    x = np.array(np.asarray(x0).ravel(), dtype=np.float64)
    n = x.size
    eps = np.finfo(float).eps
    factr = (factr * eps) / eps                    # fmin_l_bfgs_b passes ftol = factr * eps on
    low, up, nbd = np.zeros(n), np.zeros(n), np.zeros(n, np.int32)
    wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m)
    iwa = np.zeros(3 * n, dtype=np.int32)
    task, ln_task, lsave = np.zeros(2, np.int32), np.zeros(2, np.int32), np.zeros(4, np.int32)
    isave, dsave = np.zeros(44, np.int32), np.zeros(29)

    def evaluate(point):
        value, grad = fun_and_grad(point)
        value = value if np.isscalar(value) else np.asarray(value).item()    # as SciPy's wrapper
        return value, np.asarray(grad, dtype=np.float64)   # setulb only reads it

    last_x = x.copy()                              # SciPy evaluates x0 first (ScalarFunction)
    f, g = evaluate(last_x)
    f0 = np.array(0.0)                             # the first setulb call sees f = 0.0, as SciPy's
    nfev, iterations = 1, 0
    while True:
        _lbfgsb.setulb(m, x, low, up, nbd, f0 if f0 is not None else f, g, factr, pgtol, wa, iwa,
                       task, lsave, isave, dsave, maxls, ln_task)
        f0 = None
        if task[0] == 3:                           # FG: evaluate at x (unless it is the last point)
            if not (np.array_equal(x[:256], last_x[:256]) and np.array_equal(x, last_x)):   # cheap test first
                last_x = x.copy()
                f, g = evaluate(last_x)
                nfev += 1
        elif task[0] == 1:                         # NEW_X: SciPy's budget checks
            iterations += 1
            if iterations >= maxiter:
                task[0], task[1] = 5, 504
            elif nfev > maxfun:
                task[0], task[1] = 5, 502
        else:
            break
    return x, float(f), nfev


_LBFGS_B_DIRECT = []    # [True/False] once probed: does the direct loop give fmin_l_bfgs_b's run?


def _direct_matches_scipy() -> bool:
    """Probe once: the direct loop and fmin_l_bfgs_b on a small non-quadratic problem give the same
    evaluation points (bit for bit) and the same result; anything else (another SciPy's setulb
    signature, an error) falls back to fmin_l_bfgs_b."""
    if not _LBFGS_B_DIRECT:
        import scipy.optimize

        rng = np.random.default_rng(0)
        scale, start = rng.uniform(0.5, 5.0, 40), rng.normal(size=40)

        def probe(points):
            def fg(x):
                points.append(np.array(x))
                return float(np.sum(scale * x * x) + np.sum(np.sin(3 * x))), 2 * scale * x + 3 * np.cos(3 * x)
            return fg

        ok = False
        try:
            ours, theirs = [], []
            x_ours, f_ours, _ = _lbfgs_b_direct(probe(ours), start, 25, 1.0, 1e-14, 10, 20, 15000)
            x_theirs, f_theirs, _ = scipy.optimize.fmin_l_bfgs_b(probe(theirs), start, maxfun=25, factr=1,
                                                                  pgtol=1e-14)
            ok = (len(ours) == len(theirs) > 5 and all(np.array_equal(a, b) for a, b in zip(ours, theirs))
                  and np.array_equal(x_ours, x_theirs) and f_ours == f_theirs)
        except Exception:       # noqa: BLE001 -- any failure means: use SciPy's own loop
            ok = False
        _LBFGS_B_DIRECT.append(ok)
    return _LBFGS_B_DIRECT[0]


def lbfgs_b(fun_and_grad, x0, maxfun: int = 15000, factr: float = 1e7, pgtol: float = 1e-5, m: int = 10,
            maxls: int = 20, maxiter: int = 15000):
    """Minimise without bounds by SciPy's L-BFGS-B: the run `scipy.optimize.fmin_l_bfgs_b(fun_and_grad,
    x0, maxfun=..., factr=..., pgtol=..., m=..., maxls=..., maxiter=...)` makes, bit for bit (the same
    points evaluated in the same order, the same result), with less overhead per evaluation.

    SciPy's wrapper copies and compares the whole vector x about eight times an evaluation; with the
    ~1 M weights of 08's CNN that is 20-30 ms of its ~300 ms. This calls SciPy's own core
    (`setulb`) in SciPy's loop directly. It is used only when a probe run gives fmin_l_bfgs_b's
    points exactly (checked once per process); otherwise it calls fmin_l_bfgs_b.

    Args:
        fun_and_grad: x (float64 vector, not to be modified) -> (value, gradient vector). An
            exception it raises (e.g. a budget's) ends the run and propagates.
        x0: the starting vector (any shape; flattened).
        maxfun, factr, pgtol, m, maxls, maxiter: as in `scipy.optimize.fmin_l_bfgs_b`.
    Returns:
        (x, f, nfev): the final point and value, and the number of evaluations.
    """
    validate.function("fun_and_grad", fun_and_grad, "fun_and_grad(x) -> (value, gradient)")
    for name, value in (("maxfun", maxfun), ("m", m), ("maxls", maxls), ("maxiter", maxiter)):
        validate.positive_int(name, value)
    validate.number("factr", factr, lo=0)
    validate.number("pgtol", pgtol, lo=0)
    x0 = np.asarray(x0, dtype=np.float64).ravel()
    if x0.size == 0 or not np.all(np.isfinite(x0)):
        raise ValueError(f"x0 must be a non-empty finite vector, got {x0.size} entries")
    if _direct_matches_scipy():
        return _lbfgs_b_direct(fun_and_grad, x0, maxfun, factr, pgtol, m, maxls, maxiter)
    import scipy.optimize

    x, f, info = scipy.optimize.fmin_l_bfgs_b(fun_and_grad, x0, maxfun=maxfun, factr=factr, pgtol=pgtol,
                                              m=m, maxls=maxls, maxiter=maxiter)
    return x, float(f), info["funcalls"]
