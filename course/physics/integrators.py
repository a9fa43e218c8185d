"""Integrators: a vector field f(t, y) and a start -> a trajectory on a time grid.

`rk4` and `leapfrog` are taught in notebook 02 (section 2, eqs. (4)-(5)); `reference`
(scipy's adaptive DOP853) is the ground truth the course measures everything against.
`rk4` and `leapfrog` take NumPy arrays or torch tensors (gradients flow through them).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.integrate import solve_ivp

from .. import validate

__all__ = ["rk4", "leapfrog", "reference", "time_grid"]


def time_grid(t) -> np.ndarray:
    """`t` as a 1-D float64 grid with strictly increasing, finite times."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or len(t) < 1:
        raise ValueError(f"t must be a 1-D array of times with at least one entry, got shape {t.shape}")
    validate.finite("t", t)
    if len(t) > 1 and not np.all(np.diff(t) > 0):
        raise ValueError("t must be strictly increasing (every step dt > 0)")
    return t


def _stack(states):
    return torch.stack(states) if isinstance(states[0], torch.Tensor) else np.stack(states)


def rk4(f, y0, t):
    """Classic fourth-order Runge-Kutta with fixed steps between the times of the grid `t`.

    Taught in notebook 02 (eq. (4)). Works on NumPy arrays and on torch tensors (gradients
    flow through it, so a model can be trained through the integrator). Global error
    O(dt^4); it does not conserve energy exactly, so long rollouts slowly drift.

    Args:
        f: f(t, y) -> dy/dt with the shape of y.
        y0: initial state, any shape (e.g. (state_dim,) or (batch, state_dim)).
        t: 1-D strictly increasing times; t[0] is the time of y0.
    Returns:
        states at every time of t, shape (len(t), *y0.shape), same type as y0.
    """
    t = time_grid(t)
    y = y0 if isinstance(y0, torch.Tensor) else np.asarray(y0, dtype=np.float64)
    states = [y]
    for t0, t1 in zip(t[:-1], t[1:]):
        h = t1 - t0
        k1 = f(t0, y)
        k2 = f(t0 + h / 2, y + h / 2 * k1)
        k3 = f(t0 + h / 2, y + h / 2 * k2)
        k4 = f(t1, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        states.append(y)
    return _stack(states)


def leapfrog(f, y0, t):
    """Leapfrog (velocity Verlet / Stormer-Verlet) for a separable H(q, p) = T(p) + V(q).

    Taught in notebook 02 (eq. (5)). The state is (q, p): the first half of the last axis
    holds q, the second half p. Each step kicks p by half a step, drifts q a full step,
    kicks p again. It is symplectic: it exactly conserves a nearby *modified* energy
    H + O(dt^2) (the true H itself only when H is quadratic, e.g. the spring), so its
    energy error stays bounded over very long runs (global error O(dt^2)). It uses f's
    dq/dt (which must depend on p only) and dp/dt (on q only); for a non-separable or
    damped system use `rk4`.

    Args:
        f: f(t, y) -> dy/dt = (dq/dt, dp/dt), y of shape (..., 2 d).
        y0: initial state (..., 2 d); NumPy or torch.
        t: 1-D strictly increasing times.
    Returns:
        states at every time of t, shape (len(t), *y0.shape), same type as y0.
    """
    t = time_grid(t)
    y = y0 if isinstance(y0, torch.Tensor) else np.asarray(y0, dtype=np.float64)
    if y.ndim < 1 or y.shape[-1] % 2:
        raise ValueError(f"leapfrog needs a state (q, p) with an even last axis, got shape {tuple(y.shape)}")
    d = y.shape[-1] // 2
    cat = torch.cat if isinstance(y, torch.Tensor) else np.concatenate
    q, p = y[..., :d], y[..., d:]
    dp_dt = f(t[0], y)[..., d:]
    states = [y]
    for t0, t1 in zip(t[:-1], t[1:]):
        h = t1 - t0
        p_half = p + h / 2 * dp_dt                                 # kick
        q = q + h * f(t0 + h / 2, cat([q, p_half], -1))[..., :d]   # drift
        dp_dt = f(t1, cat([q, p_half], -1))[..., d:]
        p = p_half + h / 2 * dp_dt                                 # kick
        states.append(cat([q, p], -1))
    return _stack(states)


def reference(f, y0, t, rtol: float = 1e-10, atol: float = 1e-10) -> np.ndarray:
    """A high-accuracy reference solution (scipy's adaptive DOP853) sampled on the grid `t`.

    The "truth" the course's integrators and models are measured against (notebooks 02-03).
    Batched: y0 may be (..., state_dim) as long as f handles batches (all
    `System.derivative` do).

    Args:
        f: f(t, y) -> dy/dt with the shape of y (NumPy).
        y0: initial state(s), any shape.
        t: 1-D strictly increasing times, t[0] the time of y0.
        rtol, atol: solver tolerances (> 0).
    Returns:
        (len(t), *y0.shape) float64 states.
    """
    t = time_grid(t)
    rtol, atol = validate.positive("rtol", rtol), validate.positive("atol", atol)
    y0 = np.asarray(y0, dtype=np.float64)
    if y0.ndim < 1 or y0.size == 0:
        raise ValueError(f"y0 must be a non-empty array of states, got shape {y0.shape}")
    if len(t) == 1:
        return y0[None].copy()
    shape = y0.shape

    def flat(time, y):
        return np.asarray(f(time, y.reshape(shape)), dtype=np.float64).reshape(-1)

    sol = solve_ivp(flat, (t[0], t[-1]), y0.reshape(-1), method="DOP853", t_eval=t, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"reference integration failed: {sol.message}")
    return sol.y.T.reshape(len(t), *shape)
