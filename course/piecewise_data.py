"""Synthetic sequences of notebook 06 (piecewise-constant neural ODEs): Lines, Circles, Billiards1D,
and one ball in a 1-D box with its bounce frames (the events the PC-ODE should tick at).

Everything is generated with vectorised NumPy (no downloads, no Python loop over sequences).
Every generator returns an array of shape (frames, sequences, state) (time first, as the paper's
code stores it) and is deterministic under its `seed`. `split` makes the paper's 90/10 split.
"""
from __future__ import annotations

import numpy as np

from . import validate


def lines(n: int = 10_000, frames: int = 21, seed: int = 0) -> np.ndarray:
    """Horizontal lines (notebook 06): x = linspace(0, 2.1, frames), y ~ U(0, 1) constant.

    Returns (frames, n, 2). The paper's task is 21 frames; a whole line is one linear segment.
    """
    n, frames = validate.positive_int("n", n), validate.integer("frames", frames, lo=2)
    rng = np.random.default_rng(validate.integer("seed", seed, lo=0))
    x = np.linspace(0.0, 2.1 * (frames - 1) / 20, frames)        # step 0.105 as in the paper
    y = rng.uniform(0.0, 1.0, n)
    return np.stack([np.broadcast_to(x[:, None], (frames, n)), np.broadcast_to(y, (frames, n))], -1).copy()


def circles(n: int = 10_000, step: float = 0.3, turns: float = 1.45, seed: int = 0) -> np.ndarray:
    """Circular arcs (notebook 06): radius ~ U(1, 2), start angle ~ U(0, 2 pi), centred at 0.

    Points every `step` of arc length along `turns` full turns, truncated to the number of
    points of the shortest (r = 1) arc: 30 frames at the paper's step 0.3 and 1.45 turns.
    Returns (frames, n, 2).
    """
    n = validate.positive_int("n", n)
    step = validate.positive("step", step)
    turns = validate.positive("turns", turns)
    rng = np.random.default_rng(validate.integer("seed", seed, lo=0))
    frames = int(turns * 2 * np.pi / step)                         # points of the r = 1 arc
    if frames < 2:
        raise ValueError(f"turns * 2 pi / step must give at least 2 frames, got {frames}")
    r = rng.uniform(1.0, 2.0, n)
    theta0 = rng.uniform(0.0, 2 * np.pi, n)
    theta = theta0 + np.arange(frames)[:, None] * step / r        # arc length s = r * angle
    return np.stack([r * np.cos(theta), r * np.sin(theta)], -1)


def _box_args(n, steps, every, dt, radius, seed):
    """The checked arguments of a ball-in-a-box simulation (billiards1d, bouncing_ball), and its generator."""
    n, steps, every = (validate.positive_int(k, v) for k, v in [("n", n), ("steps", steps), ("every", every)])
    dt = validate.number("dt", dt, lo=0, hi=0.05, lo_open=True)
    radius = validate.number("radius", radius, lo=0, hi=0.2, lo_open=True)
    if steps < every:
        raise ValueError(f"steps must be >= every ({every}), got {steps}")
    return n, steps, every, dt, radius, np.random.default_rng(validate.integer("seed", seed, lo=0))


def billiards1d(n: int = 2_000, steps: int = 225, every: int = 5, dt: float = 0.01,
                radius: float = 0.1, seed: int = 0) -> np.ndarray:
    """Two balls bouncing on a vertical line in the unit box (notebook 06's Billiards1D).

    x = 0.5 and vx = 0 for both balls; y starts uniform without overlap, vy = +-1 (speed 1);
    elastic wall and ball-ball collisions (equal masses swap velocities). `steps` simulator
    steps of `dt`, kept every `every`-th: (steps // every, n, 4) as (x1, y1, x2, y2); the
    paper's 225 steps every 5 give 45 frames. All trajectories are simulated at once.
    """
    n, steps, every, dt, radius, rng = _box_args(n, steps, every, dt, radius, seed)
    lo, hi = radius, 1.0 - radius
    y = np.empty((n, 2))
    y[:, 0] = rng.uniform(lo, hi, n)
    bad = np.ones(n, bool)
    while bad.any():                                               # redraw ball 2 where the balls overlap
        y[bad, 1] = rng.uniform(lo, hi, bad.sum())
        bad = np.abs(y[:, 0] - y[:, 1]) < 2 * radius
    v = rng.choice([-1.0, 1.0], size=(n, 2))
    out = []
    for i in range(steps):
        if i % every == 0:
            out.append(y.copy())
        y = y + v * dt
        low, high = y < lo, y > hi                                 # walls: reflect position and velocity
        y = np.where(low, 2 * lo - y, np.where(high, 2 * hi - y, y))
        v = np.where(low | high, -v, v)
        gap, closing = y[:, 1] - y[:, 0], (v[:, 1] - v[:, 0]) * np.sign(y[:, 1] - y[:, 0]) < 0
        hit = (np.abs(gap) < 2 * radius) & closing                 # equal masses: swap velocities
        v[hit] = v[hit][:, ::-1]
    y = np.stack(out)                                              # (frames, n, 2)
    return np.stack([np.full_like(y[..., 0], 0.5), y[..., 0], np.full_like(y[..., 1], 0.5), y[..., 1]], -1)


def bouncing_ball(n: int = 2_000, steps: int = 225, every: int = 5, dt: float = 0.01,
                  radius: float = 0.1, seed: int = 0) -> np.ndarray:
    """One ball in a 1-D box (notebook 06's event task): height y in [radius, 1 - radius], speed 1.

    y starts uniform, vy = +-1; the walls reflect position and velocity (an event per bounce,
    every 0.8 time units, 16 frames at the defaults). `steps` simulator steps of `dt` kept every
    `every`-th: (steps // every, n, 1). The ball of `billiards1d` without the second ball.
    """
    n, steps, every, dt, radius, rng = _box_args(n, steps, every, dt, radius, seed)
    lo, hi = radius, 1.0 - radius
    y, v = rng.uniform(lo, hi, n), rng.choice([-1.0, 1.0], size=n)
    out = []
    for i in range(steps):
        if i % every == 0:
            out.append(y.copy())
        y = y + v * dt
        low, high = y < lo, y > hi
        y = np.where(low, 2 * lo - y, np.where(high, 2 * hi - y, y))
        v = np.where(low | high, -v, v)
    return np.stack(out)[..., None]


def bounce_frames(data: np.ndarray) -> np.ndarray:
    """Where a sequence (frames, n, dims) turns: True at frame f when some coordinate's step
    f-1 -> f and step f -> f+1 have opposite signs (the frame nearest a bounce). (frames, n) bool;
    the first and last frames are False (a bounce in the first or last step is not seen)."""
    data = np.asarray(data)
    if data.ndim != 3 or data.shape[0] < 3:
        raise ValueError(f"data must have shape (frames >= 3, sequences, state), got {data.shape}")
    step = np.diff(data, axis=0)
    turn = (step[:-1] * step[1:] < 0).any(-1)
    out = np.zeros(data.shape[:2], bool)
    out[1:-1] = turn
    return out


def split(data: np.ndarray, train_fraction: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """The first `train_fraction` of the sequences (axis 1) for training, the rest for testing."""
    data = np.asarray(data)
    if data.ndim != 3:
        raise ValueError(f"data must have shape (frames, sequences, state), got {data.shape}")
    train_fraction = validate.number("train_fraction", train_fraction, lo=0, hi=1, lo_open=True, hi_open=True)
    k = int(round(data.shape[1] * train_fraction))
    if not 0 < k < data.shape[1]:
        raise ValueError(f"train_fraction {train_fraction} leaves an empty split of {data.shape[1]} sequences")
    return data[:, :k], data[:, k:]
