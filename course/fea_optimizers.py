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

__all__ = ["oc_update", "DesignHistory", "optimize_mma", "optimize_oc"]


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
