"""Planar gravity of several bodies: `NBody` and the HNN paper's two-body task (notebook 02).

State layout (state_dim = 4 n): positions body by body, then momenta body by body,
    (x_1, y_1, x_2, y_2, ..., px_1, py_1, px_2, py_2, ...),
so the first half is q and the second half p (the HNN code instead orders x's, then y's,
then velocities; with unit masses momenta equal velocities). A three-body sampler (the
paper's task 4b) would subclass `NBody` here; notebook 02 does not run that task.
"""
from __future__ import annotations

import numpy as np

from .. import validate
from .systems import System, interval, nonnegative, on_circle

__all__ = ["NBody", "TwoBody"]


class NBody(System):
    """Planar gravitational n-body problem with momenta; H = sum |p_i|^2/(2 m_i) - sum_{i<j} G m_i m_j / r_ij.

    `positions(y)` and `momenta(y)` reshape a state (..., 4 n) to (..., n, 2).
    """

    name = "n-body"

    def __init__(self, masses, G: float = 1.0):
        masses = np.asarray(masses, dtype=np.float64)
        if masses.ndim != 1 or len(masses) < 2:
            raise ValueError(f"masses must be a 1-D list of at least two masses, got {masses!r}")
        if not np.all(np.isfinite(masses)) or np.any(masses <= 0):
            raise ValueError(f"masses must all be finite and > 0, got {masses.tolist()}")
        self.masses, self.G = masses, validate.positive("G", G)
        self.n_bodies = len(masses)
        self.state_dim = 4 * self.n_bodies

    def positions(self, y) -> np.ndarray:
        """(..., n_bodies, 2) positions of a state (..., state_dim)."""
        y = self.check_state(y)
        return y[..., : 2 * self.n_bodies].reshape(*y.shape[:-1], self.n_bodies, 2)

    def momenta(self, y) -> np.ndarray:
        """(..., n_bodies, 2) momenta of a state (..., state_dim)."""
        y = self.check_state(y)
        return y[..., 2 * self.n_bodies:].reshape(*y.shape[:-1], self.n_bodies, 2)

    def _pairs(self, y):
        """Displacements r_j - r_i (..., n, n, 2) and distances (..., n, n) (inf on the diagonal)."""
        x = self.positions(y)
        d = x[..., None, :, :] - x[..., :, None, :]
        r = np.sqrt(np.sum(d ** 2, axis=-1))
        r = r + np.where(np.eye(self.n_bodies, dtype=bool), np.inf, 0.0)
        return d, r

    def _derivative(self, y):
        m = self.masses
        p = self.momenta(y)
        d, r = self._pairs(y)
        # force on i: sum_j G m_i m_j (r_j - r_i) / |r_j - r_i|^3
        force = self.G * np.sum((m[:, None] * m[None, :] / r ** 3)[..., None] * d, axis=-2)
        dq = p / m[:, None]
        shape = y.shape[:-1] + (2 * self.n_bodies,)
        return np.concatenate([dq.reshape(shape), force.reshape(shape)], axis=-1)

    def _energy(self, y):
        m = self.masses
        kinetic = np.sum(np.sum(self.momenta(y) ** 2, axis=-1) / (2 * m), axis=-1)
        _, r = self._pairs(y)
        potential = -0.5 * self.G * np.sum(m[:, None] * m[None, :] / r, axis=(-2, -1))
        return kinetic + potential

    def total_momentum(self, y) -> np.ndarray:
        """(..., 2) sum of the bodies' momenta (conserved)."""
        return self.momenta(y).sum(axis=-2)

    def angular_momentum(self, y) -> np.ndarray:
        """(...,) total angular momentum about the origin, sum x_i py_i - y_i px_i (conserved)."""
        x, p = self.positions(y), self.momenta(y)
        return np.sum(x[..., 0] * p[..., 1] - x[..., 1] * p[..., 0], axis=-1)

    def _pack(self, positions, velocities):
        """State rows (n, state_dim) from (n, n_bodies, 2) positions and velocities."""
        n = positions.shape[0]
        momenta = velocities * self.masses[:, None]
        return np.concatenate([positions.reshape(n, -1), momenta.reshape(n, -1)], axis=-1)


def rotate(v, angle):
    """Rotate 2-D vectors v (..., 2) by `angle` (broadcast) radians."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


class TwoBody(NBody):
    """Two bodies in the plane (HNN task 4, notebook 02). Layout: (x1, y1, x2, y2, px1, py1, px2, py2).

    `sample_initial`: centre of mass at rest at the origin, speeds of a circular orbit
    times (1 + orbit_noise * N(0, 1)) (nearly circular, slightly elliptical orbits,
    counter-clockwise). Where body 1 starts depends on `sampling`:
      'radius'      - direction uniform on the circle, distance from the centre of mass
                      uniform in `radius` (what the paper's text says);
      'coordinates' - body 1's x and y each uniform in `radius` (what the original code
                      does: the first quadrant only, distances sqrt(2) * radius at most).
    For unequal masses the distances scale with the mass ratio; equal masses put body 2
    at minus body 1.
    """

    SAMPLINGS = ("radius", "coordinates")

    name = "two-body"

    def __init__(self, m1: float = 1.0, m2: float = 1.0, G: float = 1.0, radius=(0.5, 1.5),
                 orbit_noise: float = 0.05, sampling: str = "radius"):
        super().__init__([validate.positive("m1", m1), validate.positive("m2", m2)], G=G)
        self.radius = interval("radius", radius)
        if self.radius[0] <= 0:
            raise ValueError(f"radius must be > 0 for an orbit, got {radius!r}")
        self.orbit_noise = nonnegative("orbit_noise", orbit_noise)
        self.sampling = validate.one_of("sampling", sampling, self.SAMPLINGS)

    def _sample(self, n, rng):
        m1, m2 = self.masses
        total = m1 + m2
        if self.sampling == "radius":
            separation = 2 * rng.uniform(*self.radius, n)      # equal masses: each body at `radius`
            direction = on_circle(n, rng, (1.0, 1.0))           # unit vector from body 1 to body 2
        else:
            body1 = rng.uniform(*self.radius, (n, 2))           # equal masses: body 1 exactly here
            distance = np.linalg.norm(body1, axis=-1)
            separation, direction = 2 * distance, -body1 / distance[:, None]
        speed = np.sqrt(self.G * total / separation)            # relative speed of a circular orbit
        speed = speed * (1 + self.orbit_noise * rng.standard_normal(n))
        rel_x = separation[:, None] * direction                 # r2 - r1
        rel_v = speed[:, None] * rotate(direction, np.pi / 2)   # v2 - v1, counter-clockwise
        positions = np.stack([-m2 / total * rel_x, m1 / total * rel_x], axis=1)
        velocities = np.stack([-m2 / total * rel_v, m1 / total * rel_v], axis=1)
        return self._pack(positions, velocities)
