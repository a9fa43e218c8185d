"""Physical systems: true dynamics, energy and a distribution of initial states.

`System` is the base class of every system of the physics notebooks (02-06); this module
holds the one-body ones (spring, pendulum, damped pendulum, double pendulum). Gravity of
several bodies lives in `course.physics.nbody`. A new system subclasses `System`, sets
`name` and `state_dim` and implements `_derivative`, `_energy` and `_sample` on validated
float64 arrays of shape (..., state_dim).
"""
from __future__ import annotations

import numpy as np

from .. import validate

__all__ = ["System", "MassSpring", "Pendulum", "DampedPendulum", "DoublePendulum", "as_generator"]


def as_generator(rng) -> np.random.Generator:
    """A NumPy Generator from a Generator or an integer seed (None: fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy Generator or a non-negative integer seed, got {rng!r}")


def interval(name: str, value) -> tuple[float, float]:
    """A `(lo, hi)` pair of finite numbers with 0 <= lo <= hi, or a ValueError naming `name`."""
    try:
        lo, hi = value
        lo, hi = validate.number(name, lo, lo=0), validate.number(name, hi, lo=0)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a (low, high) pair with 0 <= low <= high < inf, got {value!r}") from err
    if lo > hi:
        raise ValueError(f"{name} must be a (low, high) pair with 0 <= low <= high < inf, got {value!r}")
    return lo, hi


def nonnegative(name: str, value) -> float:
    """A finite number >= 0 (friction, noise levels, sampling ranges)."""
    return validate.number(name, value, lo=0)


class System:
    """A physical system: true dynamics, energy, and a distribution of initial states.

    Subclasses set `name` and `state_dim` and implement `_derivative`, `_energy` and
    `_sample` on validated float64 arrays of shape (..., state_dim).
    """

    name: str = "system"
    state_dim: int = 0

    def check_state(self, y) -> np.ndarray:
        """`y` as float64 with last axis `state_dim`, or a ValueError saying what is wrong."""
        y = np.asarray(y, dtype=np.float64)
        if y.ndim < 1 or y.shape[-1] != self.state_dim:
            raise ValueError(f"{self.name}: state y must have shape (..., {self.state_dim}), got {y.shape}")
        return y

    def derivative(self, t, y) -> np.ndarray:
        """The true time derivative dy/dt, same shape as `y` (t is ignored: autonomous)."""
        return self._derivative(self.check_state(y))

    def energy(self, y) -> np.ndarray:
        """The total energy of each state, shape `y.shape[:-1]`."""
        return self._energy(self.check_state(y))

    def sample_initial(self, n, rng=None) -> np.ndarray:
        """`n` random initial states, shape (n, state_dim); rng is a Generator or an int seed."""
        return self._sample(validate.positive_int("n", n), as_generator(rng))

    def _derivative(self, y):
        raise NotImplementedError

    def _energy(self, y):
        raise NotImplementedError

    def _sample(self, n, rng):
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def on_circle(n: int, rng: np.random.Generator, radius: tuple[float, float]) -> np.ndarray:
    """(n, 2) points at a random angle and a radius uniform in `radius` (HNN's recipe)."""
    angle = rng.uniform(0, 2 * np.pi, n)
    r = rng.uniform(*radius, n)
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=-1)


class MassSpring(System):
    """Ideal mass on a spring, H = p^2/(2m) + k q^2/2; state (q, p).

    The HNN code's spring H = q^2 + p^2 is `MassSpring(m=0.5, k=2)` (notebook 02, eq. (3)).
    `radius`: initial states lie on a circle of random direction in the (q, p) plane,
    with radius uniform in this range.
    """

    name = "mass-spring"
    state_dim = 2

    def __init__(self, m: float = 1.0, k: float = 1.0, radius=(0.1, 1.0)):
        self.m, self.k = validate.positive("m", m), validate.positive("k", k)
        self.radius = interval("radius", radius)

    def _derivative(self, y):
        q, p = y[..., 0], y[..., 1]
        return np.stack([p / self.m, -self.k * q], axis=-1)

    def _energy(self, y):
        q, p = y[..., 0], y[..., 1]
        return p ** 2 / (2 * self.m) + self.k * q ** 2 / 2

    def _sample(self, n, rng):
        return on_circle(n, rng, self.radius)


class Pendulum(System):
    """Ideal pendulum, H = 2 m g l (1 - cos q) + l^2 p^2 / (2 m) (the HNN paper's convention); state (q, p).

    Not the textbook m g l (1 - cos q) + p^2 / (2 m l^2): the paper's H gives
    q'' = -2 g l^3 sin(q): with the defaults (m = l = 1, g = 3) a small-angle frequency
    sqrt(2 g) = sqrt(6), not the textbook sqrt(g / l) = sqrt(3). Defaults m = l = 1, g = 3 are the paper's. The HNN code's
    H = 3(1 - cos q) + p^2 is `Pendulum(m=0.5)`; it has the same q(t) as the default (notebook 02).
    """

    name = "pendulum"
    state_dim = 2

    def __init__(self, m: float = 1.0, l: float = 1.0, g: float = 3.0, radius=(1.3, 2.3)):
        self.m, self.l, self.g = validate.positive("m", m), validate.positive("l", l), validate.positive("g", g)
        self.radius = interval("radius", radius)

    def _derivative(self, y):
        q, p = y[..., 0], y[..., 1]
        return np.stack([self.l ** 2 * p / self.m,
                         -2 * self.m * self.g * self.l * np.sin(q)], axis=-1)

    def _energy(self, y):
        q, p = y[..., 0], y[..., 1]
        return 2 * self.m * self.g * self.l * (1 - np.cos(q)) + self.l ** 2 * p ** 2 / (2 * self.m)

    def _sample(self, n, rng):
        return on_circle(n, rng, self.radius)


class DampedPendulum(Pendulum):
    """A pendulum with friction: dp/dt gains -gamma * p, so energy decays.

    Stand-in for the HNN paper's real (lab-recorded) pendulum: an HNN cannot represent
    this loss of energy (notebook 02; notebook 04 models it).
    """

    name = "damped pendulum"

    def __init__(self, m: float = 1.0, l: float = 1.0, g: float = 3.0, gamma: float = 0.1,
                 radius=(1.3, 2.3)):
        super().__init__(m=m, l=l, g=g, radius=radius)
        self.gamma = nonnegative("gamma", gamma)

    def _derivative(self, y):
        dy = super()._derivative(y)
        dy[..., 1] -= self.gamma * y[..., 1]
        return dy


class DoublePendulum(System):
    """Double pendulum of point masses on massless rods; state (theta1, theta2, omega1, omega2).

    Angles from the downward vertical. `derivative` gives the analytic accelerations
    (Euler-Lagrange equations solved for theta''), `lagrangian(y)` = T - V and
    `energy(y)` = T + V (NumPy). Notebook 03 learns L from data generated here and checks
    its Euler-Lagrange layer (03's eq. (3)) against `derivative`.
    `sample_initial`: angles uniform in +-theta_max, angular velocities in +-omega_max.
    """

    name = "double pendulum"
    state_dim = 4

    def __init__(self, m1: float = 1.0, m2: float = 1.0, l1: float = 1.0, l2: float = 1.0,
                 g: float = 9.8, theta_max: float = np.pi / 2, omega_max: float = 1.0):
        self.m1, self.m2 = validate.positive("m1", m1), validate.positive("m2", m2)
        self.l1, self.l2 = validate.positive("l1", l1), validate.positive("l2", l2)
        self.g = validate.positive("g", g)
        self.theta_max, self.omega_max = nonnegative("theta_max", theta_max), nonnegative("omega_max", omega_max)

    def _derivative(self, y):
        t1, t2, w1, w2 = np.moveaxis(y, -1, 0)
        m1, m2, l1, l2, g = self.m1, self.m2, self.l1, self.l2, self.g
        delta = t1 - t2
        a1 = (l2 / l1) * (m2 / (m1 + m2)) * np.cos(delta)
        a2 = (l1 / l2) * np.cos(delta)
        f1 = -(l2 / l1) * (m2 / (m1 + m2)) * w2 ** 2 * np.sin(delta) - (g / l1) * np.sin(t1)
        f2 = (l1 / l2) * w1 ** 2 * np.sin(delta) - (g / l2) * np.sin(t2)
        det = 1 - a1 * a2   # = m1 / (m1 + m2 sin^2 delta) > 0
        acc1 = (f1 - a1 * f2) / det
        acc2 = (f2 - a2 * f1) / det
        return np.stack([w1, w2, acc1, acc2], axis=-1)

    def _kinetic_potential(self, y):
        t1, t2, w1, w2 = np.moveaxis(y, -1, 0)
        m1, m2, l1, l2, g = self.m1, self.m2, self.l1, self.l2, self.g
        kinetic = (0.5 * m1 * (l1 * w1) ** 2
                   + 0.5 * m2 * ((l1 * w1) ** 2 + (l2 * w2) ** 2 + 2 * l1 * l2 * w1 * w2 * np.cos(t1 - t2)))
        potential = -(m1 + m2) * g * l1 * np.cos(t1) - m2 * g * l2 * np.cos(t2)
        return kinetic, potential

    def _energy(self, y):
        kinetic, potential = self._kinetic_potential(y)
        return kinetic + potential

    def lagrangian(self, y) -> np.ndarray:
        """L = T - V of each state, shape y.shape[:-1]."""
        kinetic, potential = self._kinetic_potential(self.check_state(y))
        return kinetic - potential

    def positions(self, y) -> np.ndarray:
        """Cartesian positions of the two bobs, (..., 2, 2) as [[x1, y1], [x2, y2]] (pivot at 0)."""
        y = self.check_state(y)
        t1, t2 = y[..., 0], y[..., 1]
        x1, y1 = self.l1 * np.sin(t1), -self.l1 * np.cos(t1)
        x2, y2 = x1 + self.l2 * np.sin(t2), y1 - self.l2 * np.cos(t2)
        return np.stack([np.stack([x1, y1], -1), np.stack([x2, y2], -1)], axis=-2)

    def _sample(self, n, rng):
        theta = rng.uniform(-self.theta_max, self.theta_max, (n, 2))
        omega = rng.uniform(-self.omega_max, self.omega_max, (n, 2))
        return np.concatenate([theta, omega], axis=-1)
