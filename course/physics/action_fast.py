"""The action's gradient by hand: a fast path for notebook 05's Lennard-Jones gas.

Notebook 05 (Nature's cost function) minimises the discrete action of a whole path with
autograd; that version is the lesson. Autograd records every operation of the forward pass
and walks back through them: for the gas (100 slices, 50 particles, 1,225 pairs) that is
most of the cost. Here the gradient of the same discrete action is written out:

    S_hat = 1/(N n) * sum_i (T_i - V_i),   T_i = sum_p m_p |v_i,p|^2 / 2,   v_i = (x_{i+1} - x_i) / dt,

with the last velocity duplicated (v_{N-1} = v_{N-2}, so v_{N-2} counts twice), so

    dS_hat/dx_k = 1/(N n) * [ m (w_{k-1} v_{k-1} - w_k v_k) / dt - dV/dx_k ],   w = 1, except w_{N-2} = 2,

which in the interior is -(m (x_{k+1} - 2 x_k + x_{k-1}) / dt^2 + dV/dx_k) / (N n): the leapfrog
(Stormer-Verlet) residual. The pair potential's gradient is summed over pairs with two
matrix products (an incidence matrix with +1/-1 per pair gathers the differences and
scatters the pair forces back), so no Python loop and no autograd tape.

`minimise_action_fast` mirrors the notebook's `minimise_action` (Adam, endpoints held,
the same recording schedule and history) and lands on the same path: see
tests/test_action_fast.py and benchmarks/action_speed.py. Plumbing, not the lesson.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

__all__ = ["pair_incidence", "lennard_jones_and_gradient", "lennard_jones_accel", "action_and_gradient",
           "minimise_action_fast"]


@lru_cache(maxsize=8)
def pair_incidence(n: int):
    """(gather, scatter) float64 matrices for the n(n-1)/2 pairs i < j (torch.triu_indices order).

    `X @ gather` gives x_i - x_j for every pair (columns); `F @ scatter` adds each pair's
    value to body i and subtracts it from body j.
    """
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"need at least two bodies, got n={n!r}")
    i, j = torch.triu_indices(n, n, 1)
    cols = torch.arange(len(i))
    gather = torch.zeros(n, len(i), dtype=torch.float64)
    gather[i, cols] = 1.0
    gather[j, cols] = -1.0
    return gather, gather.t().contiguous()


def lennard_jones_and_gradient(x, sigma: float = 0.04, scale: float = 1e-5, r_core: float = 0.04,
                               eps: float = 1e-6):
    """The notebook's eq. (7) and its gradient, without autograd.

    V = scale * sum_{i<j} [min(10((sigma/r)^12 - (sigma/r)^6), 10) + 100 (r_core - r)_+],
    r = sqrt(|x_i - x_j|^2 + eps); the clamped branch has zero gradient (as torch's clamp).

    Args:
        x: (N, n, 2) float64 tensor of positions (N slices, n particles).
    Returns:
        (V, dV): (N,) potential per slice and (N, n, 2) its gradient.
    """
    if x.ndim != 3 or x.shape[-1] != 2:
        raise ValueError(f"x must be (slices, particles, 2), got {tuple(x.shape)}")
    N, n, _ = x.shape
    gather, scatter = pair_incidence(n)
    X = x.permute(2, 0, 1).reshape(2 * N, n)                     # x coordinates, then y
    d = (X @ gather).view(2, N, -1)                              # x_i - x_j per pair: (2, N, P)
    r2 = d[0] * d[0]
    r2.addcmul_(d[1], d[1]).add_(eps)                            # r^2
    inv = r2.reciprocal()
    s6 = (inv * sigma ** 2).pow_(3)                              # (sigma / r)^6
    u = s6 - 1.0
    u.mul_(s6).mul_(10.0)                                        # 10 ((sigma/r)^12 - (sigma/r)^6)
    k = s6 * (-120.0 * scale)
    k.add_(60.0 * scale).mul_(s6).mul_(inv)                      # scale (du/dr) / r
    k.masked_fill_(u > 10.0, 0.0)                                # the clamp: no gradient above it
    u.clamp_(max=10.0)
    if bool((r2 < r_core * r_core).any()):                       # the linear core, r < r_core
        r = r2.sqrt_()
        c = r.neg().add_(r_core).clamp_(min=0.0)                 # (r_core - r)_+
        u.add_(c, alpha=100.0)
        k.addcdiv_((c > 0).to(k.dtype), r, value=-100.0 * scale)
    V = scale * u.sum(-1)
    dV = (d * k).view(2 * N, -1) @ scatter                       # (2 N, n)
    return V, dV.view(2, N, n).permute(1, 2, 0)


def lennard_jones_accel(x, v=None):
    """-dV/dx of eq. (7) for one configuration (n, 2) (unit masses), NumPy in and out: an ODE's `accel`."""
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))[None]
    return -lennard_jones_and_gradient(xt)[1][0].numpy()


def action_and_gradient(x, dt: float, potential_and_gradient, n_bodies: int, masses=1.0):
    """The paper's scaled action S_hat (eq. 4 of notebook 05) and its gradient by hand.

    Args:
        x: (N, n, 2) float64 path.
        dt: time step.
        potential_and_gradient: x -> (V per slice (N,), dV/dx (N, n, 2)).
        n_bodies: the scale's body count (S_hat = sum(T - V) / (N n_bodies)).
        masses: scalar or (n,) masses for T = sum m |v|^2 / 2.
    Returns:
        (S_hat, T_hat, V_hat, grad): the scaled action, its kinetic and potential sums
        (each divided by N n_bodies, as the notebook records them) and dS_hat/dx (N, n, 2).
    """
    N = x.shape[0]
    m = torch.as_tensor(masses, dtype=x.dtype)
    if m.ndim == 1:
        m = m[:, None]
    v = (x[1:] - x[:-1]) / dt                                    # (N-1, n, 2)
    mv = m * v
    ke = 0.5 * (mv * v).flatten(1).sum(-1)                       # T_0 .. T_{N-2}
    T = ke.sum() + ke[-1]                                        # T_{N-1} = T_{N-2}
    V, dV = potential_and_gradient(x)
    norm = 1.0 / (N * n_bodies)
    grad = -dV
    w = mv / dt
    w[-1] *= 2.0                                                 # the duplicated last velocity
    grad[1:] += w
    grad[:-1] -= w
    grad *= norm
    Vs = V.sum()
    return (T - Vs) * norm, T * norm, Vs * norm, grad


def minimise_action_fast(x_init, dt: float, steps: int, lr: float, potential_and_gradient=None,
                         n_bodies: int = 1, masses=1.0, records: int = 15):
    """Adam on S_hat with the endpoints held: notebook 05's `minimise_action`, gradient by hand.

    Same initial path, learning rate, endpoint handling (gradients of the first and last
    slice zeroed before each update) and recording schedule (the path before the first step,
    then after every `steps // records`-th step) as the notebook, so the same history keys.
    `potential_and_gradient` defaults to `lennard_jones_and_gradient`.
    """
    if potential_and_gradient is None:
        potential_and_gradient = lennard_jones_and_gradient
    x = torch.nn.Parameter(torch.as_tensor(np.asarray(x_init), dtype=torch.float64).clone())
    if x.ndim != 3 or x.shape[-1] != 2:
        raise ValueError(f"x_init must be (slices, bodies, 2), got {tuple(x.shape)}")
    opt = torch.optim.Adam([x], lr=lr)
    hist = {"S": [], "T": [], "V": [], "paths": [x.detach().clone()], "steps": [-1]}
    every = max(steps // records, 1)
    for i in range(steps):
        with torch.no_grad():
            S, T, V, grad = action_and_gradient(x.detach(), dt, potential_and_gradient, n_bodies, masses)
        hist["S"].append(S.item())
        hist["T"].append(T.item())
        hist["V"].append(V.item())
        grad[[0, -1]] = 0.0                                      # endpoints fixed, before the update
        x.grad = grad
        opt.step()
        if i % every == 0:
            hist["paths"].append(x.detach().clone())
            hist["steps"].append(i)
    return x.detach(), hist
