"""Datasets of physical trajectories: (observed state, true derivative) training pairs.

The recipe of the HNN paper's synthetic tasks (notebook 02, section 3); notebooks 03-06
reuse it for their systems.
"""
from __future__ import annotations

import numpy as np

from .. import validate
from .integrators import reference, time_grid
from .systems import System, as_generator, nonnegative

__all__ = ["make_dataset"]


def make_dataset(system: System, n_trajectories: int, t, seed: int = 0, noise: float = 0.0) -> dict:
    """Trajectories of `system` from random initial states, flattened into training pairs.

    Simulate with `reference`, add Gaussian noise of std `noise` to the observed states,
    keep the *clean* true derivatives as targets (notebook 02).

    Args:
        system: a `System`.
        n_trajectories: number of trajectories (>= 1).
        t: 1-D strictly increasing sampling times of each trajectory.
        seed: seed of the initial states and the noise.
        noise: std of the Gaussian noise added to observed states (>= 0).
    Returns:
        dict with
        'x' (N, state_dim) observed (noisy) states, N = n_trajectories * len(t), trajectory-major;
        'dxdt' (N, state_dim) true derivatives at the clean states;
        'x_clean' (N, state_dim) the states before noise;
        'trajectories' (n_trajectories, len(t), state_dim) clean trajectories;
        't' (len(t),) the times; 'energy' (n_trajectories, len(t)) true energy along them;
        'trajectory' (N,) the index of the trajectory each row comes from.
    """
    if not isinstance(system, System):
        raise ValueError(f"system must be a course.physics.System, got {system!r}")
    n_trajectories = validate.positive_int("n_trajectories", n_trajectories)
    t = time_grid(t)
    noise = nonnegative("noise", noise)
    rng = as_generator(seed)
    y0 = system.sample_initial(n_trajectories, rng)
    traj = np.moveaxis(reference(system.derivative, y0, t), 0, 1)    # (n, T, d)
    clean = traj.reshape(-1, system.state_dim)
    x = clean + noise * rng.standard_normal(clean.shape) if noise > 0 else clean.copy()
    return {"x": x, "dxdt": system.derivative(0.0, clean), "x_clean": clean, "trajectories": traj,
            "t": t, "energy": system.energy(traj),
            "trajectory": np.repeat(np.arange(n_trajectories), len(t))}
