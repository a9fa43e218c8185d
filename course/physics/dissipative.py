"""Dissipative systems whose vector field has a known Helmholtz split (notebook 04).

Plumbing, not the lesson: the true fields that 04_dissipative_hnn trains on and measures its
learned rotational and irrotational parts against. Each field is the sum of a rotational
(divergence-free, Hamiltonian) part and an irrotational (curl-free, dissipative) part,
04's eq. (1): f = J grad H + grad D.

    DampedSpring    H = q^2 + p^2 with linear friction of strength `rho`; by default on q,
                    as the D-HNN paper's code has it (friction_on="q"), or on p (physical
                    friction, friction_on="p"). Linear, so `solution` is exact (a matrix
                    exponential).
    SyntheticOcean  a time-varying 2-D surface flow on [-1.5, 1.5]^2: a drifting
                    double-gyre stream function (rotational) plus moving Gaussian sources
                    and sinks (irrotational); the offline stand-in for the OSCAR currents.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from .. import validate
from .systems import System, as_generator, nonnegative

__all__ = ["DampedSpring", "SyntheticOcean"]


class DampedSpring(System):
    """The D-HNN paper's damped spring: H = q^2 + p^2 plus friction of strength `rho`.

    friction_on="q" (the paper's code): f = (2p - rho q, -2q), dissipative part (-rho q, 0) =
    grad D with D = -rho q^2 / 2. friction_on="p" (physical): f = (2p, -2q - rho p), dissipative
    part (0, -rho p). Energy decays at dH/dt = -2 rho q^2 (resp. -2 rho p^2).
    `extent`: initial states are sampled uniformly in [-extent, extent]^2.
    """

    name = "damped spring"
    state_dim = 2

    def __init__(self, rho: float = 2.0, friction_on: str = "q", extent: float = 1.2):
        self.rho = nonnegative("rho", rho)
        self.friction_on = validate.one_of("friction_on", friction_on, ("q", "p"))
        self.extent = validate.positive("extent", extent)

    def conservative(self, y) -> np.ndarray:
        """The rotational part J grad H = (2p, -2q), same shape as y."""
        y = self.check_state(y)
        return np.stack([2 * y[..., 1], -2 * y[..., 0]], axis=-1)

    def dissipative(self, y) -> np.ndarray:
        """The irrotational part grad D: (-rho q, 0) or (0, -rho p), same shape as y."""
        y = self.check_state(y)
        out = np.zeros_like(y)
        i = 0 if self.friction_on == "q" else 1
        out[..., i] = -self.rho * y[..., i]
        return out

    def _derivative(self, y):
        return self.conservative(y) + self.dissipative(y)

    def _energy(self, y):
        return y[..., 0] ** 2 + y[..., 1] ** 2

    def energy_rate(self, y) -> np.ndarray:
        """dH/dt = grad H . f along the flow: -2 rho q^2 (friction on q) or -2 rho p^2."""
        y = self.check_state(y)
        i = 0 if self.friction_on == "q" else 1
        return -2 * self.rho * y[..., i] ** 2

    def matrix(self) -> np.ndarray:
        """A with f(y) = A y (the system is linear)."""
        a = np.array([[0.0, 2.0], [-2.0, 0.0]])
        i = 0 if self.friction_on == "q" else 1
        a[i, i] -= self.rho
        return a

    def solution(self, y0, t) -> np.ndarray:
        """The exact trajectory y(t) = expm(A t) y0 on times t (1-D): shape (len(t), *y0.shape)."""
        y0 = self.check_state(y0)
        t = np.asarray(t, dtype=np.float64)
        if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
            raise ValueError(f"t must be a non-empty 1-D array of finite times, got shape {t.shape}")
        a = self.matrix()
        return np.stack([y0 @ expm(a * (ti - t[0])).T for ti in t])

    def _sample(self, n, rng):
        return rng.uniform(-self.extent, self.extent, (n, 2))


class SyntheticOcean:
    """A time-varying 2-D surface current on [-1.5, 1.5]^2 with a known Helmholtz split.

    Rotational part: J grad psi with a double-gyre stream function
    psi = A sin(k (x - c(t))) sin(l (y + 1.5)), k = 2 pi / 3, l = pi / 3, c(t) = drift sin(w t),
    i.e. velocity (d psi/dy, -d psi/dx) (two counter-rotating gyres that sway east-west).
    Irrotational part: grad phi with phi = sum_i s_i exp(-|r - r_i(t)|^2 / (2 sigma^2)),
    a bump with s_i > 0 draws the flow in (a sink, divergence < 0), one with s_i < 0 pushes it
    out (a source); the n_sources bumps alternate in sign and move on small circles. One period of the motion is t in [0, 1). Notebook 04 uses it in place of OSCAR.

    Args:
        amplitude: A, the gyres' strength.
        strength: |s_i| of the sources and sinks.
        sigma: width of each source or sink.
        drift: c(t)'s amplitude, how far the gyres sway.
        n_sources: number of moving sources/sinks (alternating sign).
        seed: places the sources (a Generator or an int).
    """

    extent = 1.5

    def __init__(self, amplitude: float = 1.0, strength: float = 0.6, sigma: float = 0.35,
                 drift: float = 0.2, n_sources: int = 4, seed=0):
        self.amplitude = validate.positive("amplitude", amplitude)
        self.strength = nonnegative("strength", strength)
        self.sigma = validate.positive("sigma", sigma)
        self.drift = nonnegative("drift", drift)
        self.n_sources = validate.integer("n_sources", n_sources, lo=0, hi=50)
        rng = as_generator(seed)
        self.centres = rng.uniform(-0.8, 0.8, (self.n_sources, 2))
        self.phases = rng.uniform(0, 2 * np.pi, self.n_sources)
        self.signs = np.where(np.arange(self.n_sources) % 2 == 0, 1.0, -1.0)

    def _xy_t(self, xy, t):
        xy = np.asarray(xy, dtype=np.float64)
        if xy.ndim < 1 or xy.shape[-1] != 2:
            raise ValueError(f"xy must have shape (..., 2), got {xy.shape}")
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), xy.shape[:-1])
        return xy[..., 0], xy[..., 1], t

    def rotational(self, xy, t) -> np.ndarray:
        """J grad psi = (d psi/dy, -d psi/dx) at points xy (..., 2) and times t (broadcast)."""
        x, y, t = self._xy_t(xy, t)
        k, l = 2 * np.pi / 3, np.pi / 3
        c = self.drift * np.sin(2 * np.pi * t)
        a = self.amplitude
        dpsi_dx = a * k * np.cos(k * (x - c)) * np.sin(l * (y + 1.5))
        dpsi_dy = a * l * np.sin(k * (x - c)) * np.cos(l * (y + 1.5))
        return np.stack([dpsi_dy, -dpsi_dx], axis=-1)

    def source_positions(self, t) -> np.ndarray:
        """(..., n_sources, 2) positions of the sources/sinks at times t."""
        t = np.asarray(t, dtype=np.float64)[..., None]
        angle = 2 * np.pi * t + self.phases
        return self.centres + 0.3 * np.stack([np.cos(angle), np.sin(angle)], axis=-1)

    def potential(self, xy, t) -> np.ndarray:
        """phi at points xy (..., 2) and times t: the dissipation-like scalar whose gradient is the
        irrotational part."""
        x, y, t = self._xy_t(xy, t)
        r = np.stack([x, y], -1)[..., None, :] - self.source_positions(t)
        return (self.strength * self.signs * np.exp(-(r ** 2).sum(-1) / (2 * self.sigma ** 2))).sum(-1)

    def irrotational(self, xy, t) -> np.ndarray:
        """grad phi at points xy (..., 2) and times t."""
        x, y, t = self._xy_t(xy, t)
        r = np.stack([x, y], -1)[..., None, :] - self.source_positions(t)
        bump = self.strength * self.signs * np.exp(-(r ** 2).sum(-1) / (2 * self.sigma ** 2))
        return (bump[..., None] * -r / self.sigma ** 2).sum(-2)

    def velocity(self, xy, t) -> np.ndarray:
        """The total current, rotational + irrotational."""
        return self.rotational(xy, t) + self.irrotational(xy, t)

    def grid(self, n: int) -> np.ndarray:
        """(n, n, 2) points of a square grid over [-1.5, 1.5]^2, [row = y, column = x]."""
        s = np.linspace(-self.extent, self.extent, validate.integer("n", n, lo=2))
        xx, yy = np.meshgrid(s, s)
        return np.stack([xx, yy], axis=-1)

    def dataset(self, n: int = 50, frames: int = 20, noise: float = 0.05, rng=None) -> dict:
        """Every grid point of `frames` snapshots over one period, flattened.

        Returns a dict of float64 arrays: 'x' (N, 2) positions, 't' (N,) times in [0, 1),
        'dx' (N, 2) noisy total velocity, 'dx_clean', 'dx_rot', 'dx_irr' (N, 2) the clean total
        and its two true parts; N = frames * n * n.
        """
        frames = validate.integer("frames", frames, lo=1)
        noise = nonnegative("noise", noise)
        rng = as_generator(rng)
        g = self.grid(n).reshape(-1, 2)
        times = np.arange(frames) / frames
        x = np.tile(g, (frames, 1))
        t = np.repeat(times, len(g))
        rot, irr = self.rotational(x, t), self.irrotational(x, t)
        clean = rot + irr
        return {"x": x, "t": t, "dx": clean + noise * rng.standard_normal(clean.shape),
                "dx_clean": clean, "dx_rot": rot, "dx_irr": irr}
