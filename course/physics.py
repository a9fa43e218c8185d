"""Physical systems, integrators and datasets shared by the physics notebooks (02-06).

Plumbing, not the lesson: true dynamics to train on and to compare against. Notebook
02 (Hamiltonian NNs) teaches `rk4` and `leapfrog` by showing their source; 03
(Lagrangian NNs) uses `DoublePendulum`. Conventions:

* NumPy float64 throughout; every system is batched over leading axes, so a state
  `y` has shape `(..., state_dim)` and `energy(y)` has shape `y.shape[:-1]`.
* Hamiltonian systems store their state as `(q..., p...)`: all coordinates first,
  then all conjugate momenta. `DoublePendulum` stores `(theta1, theta2, omega1, omega2)`
  (angles and angular velocities, the Lagrangian view).
* Systems are autonomous: `derivative(t, y)` ignores `t` (it is there so that
  `derivative` plugs straight into `rk4`, `leapfrog`, `reference` and scipy).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.integrate import solve_ivp

__all__ = ["System", "MassSpring", "Pendulum", "DampedPendulum", "NBody", "TwoBody", "ThreeBody",
           "DoublePendulum", "rk4", "leapfrog", "reference", "make_dataset", "pixel_pendulum",
           "as_generator"]


# ----------------------------------------------------------------------------- helpers

def _positive(name: str, value) -> float:
    """`value` as a float, or a ValueError naming `name` when it is not a finite number > 0."""
    try:
        value = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number > 0, got {value!r}") from err
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _nonnegative(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}") from err
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _interval(name: str, value) -> tuple[float, float]:
    """A `(lo, hi)` pair with 0 <= lo <= hi."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}") from err
    if not (0 <= lo <= hi and np.isfinite(hi)):
        raise ValueError(f"{name} must satisfy 0 <= low <= high < inf, got {value!r}")
    return lo, hi


def as_generator(rng) -> np.random.Generator:
    """A NumPy Generator from a Generator or an integer seed (None: fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a numpy Generator or a non-negative integer seed, got {rng!r}")


def _count(name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
    return int(n)


def _time_grid(t) -> np.ndarray:
    """`t` as a 1-D float64 grid with strictly increasing, finite times."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or len(t) < 1:
        raise ValueError(f"t must be a 1-D array of times with at least one entry, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("t must hold finite times")
    if len(t) > 1 and not np.all(np.diff(t) > 0):
        raise ValueError("t must be strictly increasing (every step dt > 0)")
    return t


def _stack(states):
    return torch.stack(states) if isinstance(states[0], torch.Tensor) else np.stack(states)


# ----------------------------------------------------------------------------- systems

class System:
    """A physical system: true dynamics, energy, and a distribution of initial states.

    Subclasses set `name` and `state_dim` and implement `_derivative` and `_energy` on
    validated float64 arrays of shape (..., state_dim).
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
        return self._sample(_count("n", n), as_generator(rng))

    def _derivative(self, y):
        raise NotImplementedError

    def _energy(self, y):
        raise NotImplementedError

    def _sample(self, n, rng):
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def _on_circle(n: int, rng: np.random.Generator, radius: tuple[float, float]) -> np.ndarray:
    """(n, 2) points at a random angle and a radius uniform in `radius` (HNN's recipe)."""
    angle = rng.uniform(0, 2 * np.pi, n)
    r = rng.uniform(*radius, n)
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=-1)


class MassSpring(System):
    """Ideal mass on a spring, H = p^2/(2m) + k q^2/2; state (q, p).

    The HNN code's spring H = q^2 + p^2 is `MassSpring(m=0.5, k=2)` (notebook 02).
    `radius`: initial states lie on a circle of random direction in the (q, p) plane,
    with radius uniform in this range.
    """

    name = "mass-spring"
    state_dim = 2

    def __init__(self, m: float = 1.0, k: float = 1.0, radius=(0.1, 1.0)):
        self.m, self.k = _positive("m", m), _positive("k", k)
        self.radius = _interval("radius", radius)

    def _derivative(self, y):
        q, p = y[..., 0], y[..., 1]
        return np.stack([p / self.m, -self.k * q], axis=-1)

    def _energy(self, y):
        q, p = y[..., 0], y[..., 1]
        return p ** 2 / (2 * self.m) + self.k * q ** 2 / 2

    def _sample(self, n, rng):
        return _on_circle(n, rng, self.radius)


class Pendulum(System):
    """Ideal pendulum, H = 2 m g l (1 - cos q) + l^2 p^2 / (2 m) (the HNN paper's eq.); state (q, p).

    Defaults m = l = 1, g = 3 are the paper's. The HNN code's H = 3(1 - cos q) + p^2 is
    `Pendulum(m=0.5)`; it has the same q(t) as the default (notebook 02).
    """

    name = "pendulum"
    state_dim = 2

    def __init__(self, m: float = 1.0, l: float = 1.0, g: float = 3.0, radius=(1.3, 2.3)):
        self.m, self.l, self.g = _positive("m", m), _positive("l", l), _positive("g", g)
        self.radius = _interval("radius", radius)

    def _derivative(self, y):
        q, p = y[..., 0], y[..., 1]
        return np.stack([self.l ** 2 * p / self.m,
                         -2 * self.m * self.g * self.l * np.sin(q)], axis=-1)

    def _energy(self, y):
        q, p = y[..., 0], y[..., 1]
        return 2 * self.m * self.g * self.l * (1 - np.cos(q)) + self.l ** 2 * p ** 2 / (2 * self.m)

    def _sample(self, n, rng):
        return _on_circle(n, rng, self.radius)


class DampedPendulum(Pendulum):
    """A pendulum with friction: dp/dt gains -gamma * p, so energy decays.

    Stand-in for the HNN paper's real (lab-recorded) pendulum: an HNN cannot represent
    this loss of energy (notebook 02; notebook 04 models it).
    """

    name = "damped pendulum"

    def __init__(self, m: float = 1.0, l: float = 1.0, g: float = 3.0, gamma: float = 0.1,
                 radius=(1.3, 2.3)):
        super().__init__(m=m, l=l, g=g, radius=radius)
        self.gamma = _nonnegative("gamma", gamma)

    def _derivative(self, y):
        dy = super()._derivative(y)
        dy[..., 1] -= self.gamma * y[..., 1]
        return dy


class NBody(System):
    """Planar gravitational n-body problem with momenta; H = sum |p_i|^2/(2 m_i) - sum_{i<j} G m_i m_j / r_ij.

    State layout (state_dim = 4 n): positions body by body, then momenta body by body,
        (x_1, y_1, x_2, y_2, ..., px_1, py_1, px_2, py_2, ...),
    so the first half is q and the second half p (the HNN code instead orders x's, then
    y's, then velocities; with unit masses momenta equal velocities).
    `positions(y)` and `momenta(y)` reshape to (..., n, 2).
    """

    name = "n-body"

    def __init__(self, masses, G: float = 1.0):
        masses = np.asarray(masses, dtype=np.float64)
        if masses.ndim != 1 or len(masses) < 2:
            raise ValueError(f"masses must be a 1-D list of at least two masses, got {masses!r}")
        if not np.all(np.isfinite(masses)) or np.any(masses <= 0):
            raise ValueError(f"masses must all be finite and > 0, got {masses.tolist()}")
        self.masses, self.G = masses, _positive("G", G)
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


def _rotate(v, angle):
    """Rotate 2-D vectors v (..., 2) by `angle` (broadcast) radians."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


class TwoBody(NBody):
    """Two bodies in the plane (HNN task 4). Layout: (x1, y1, x2, y2, px1, py1, px2, py2).

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
        super().__init__([_positive("m1", m1), _positive("m2", m2)], G=G)
        self.radius = _interval("radius", radius)
        if self.radius[0] <= 0:
            raise ValueError(f"radius must be > 0 for an orbit, got {radius!r}")
        self.orbit_noise = _nonnegative("orbit_noise", orbit_noise)
        if sampling not in self.SAMPLINGS:
            raise ValueError(f"sampling must be one of {self.SAMPLINGS}, got {sampling!r}")
        self.sampling = sampling

    def _sample(self, n, rng):
        m1, m2 = self.masses
        total = m1 + m2
        if self.sampling == "radius":
            separation = 2 * rng.uniform(*self.radius, n)      # equal masses: each body at `radius`
            direction = _on_circle(n, rng, (1.0, 1.0))          # unit vector from body 1 to body 2
        else:
            body1 = rng.uniform(*self.radius, (n, 2))           # equal masses: body 1 exactly here
            distance = np.linalg.norm(body1, axis=-1)
            separation, direction = 2 * distance, -body1 / distance[:, None]
        speed = np.sqrt(self.G * total / separation)            # relative speed of a circular orbit
        speed = speed * (1 + self.orbit_noise * rng.standard_normal(n))
        rel_x = separation[:, None] * direction                 # r2 - r1
        rel_v = speed[:, None] * _rotate(direction, np.pi / 2)  # v2 - v1, counter-clockwise
        positions = np.stack([-m2 / total * rel_x, m1 / total * rel_x], axis=1)
        velocities = np.stack([-m2 / total * rel_v, m1 / total * rel_v], axis=1)
        return self._pack(positions, velocities)


class ThreeBody(NBody):
    """Three equal masses in the plane (HNN task 4b). Layout: (x1, y1, x2, y2, x3, y3, px1, ..., py3).

    `sample_initial`: bodies on an equilateral triangle of random rotation and circumradius
    uniform in `radius`, with the velocities of a circular rotating orbit, each velocity
    component multiplied by (1 + velocity_noise * U[-1, 1]) (chaotic orbits).
    """

    name = "three-body"

    def __init__(self, m: float = 1.0, G: float = 1.0, radius=(0.9, 1.2), velocity_noise: float = 0.2):
        m = _positive("m", m)
        super().__init__([m, m, m], G=G)
        self.radius = _interval("radius", radius)
        if self.radius[0] <= 0:
            raise ValueError(f"radius must be > 0 for an orbit, got {radius!r}")
        self.velocity_noise = _nonnegative("velocity_noise", velocity_noise)

    def _sample(self, n, rng):
        r = rng.uniform(*self.radius, n)
        first = r[:, None] * _on_circle(n, rng, (1.0, 1.0))
        corners = 2 * np.pi / 3 * np.arange(3)
        positions = _rotate(first[:, None, :], corners[None, :])                     # (n, 3, 2)
        # circular orbit of an equilateral triangle: v^2 = G m / (sqrt(3) r)
        speed = np.sqrt(self.G * self.masses[0] / (np.sqrt(3) * r))
        velocities = _rotate(positions, np.pi / 2) / r[:, None, None] * speed[:, None, None]
        velocities = velocities * (1 + self.velocity_noise * rng.uniform(-1, 1, velocities.shape))
        return self._pack(positions, velocities)


class DoublePendulum(System):
    """Double pendulum of point masses on massless rods; state (theta1, theta2, omega1, omega2).

    Angles from the downward vertical. `derivative` gives the analytic accelerations
    (Euler-Lagrange equations solved for theta''), `lagrangian(y)` = T - V and
    `energy(y)` = T + V (NumPy). Notebook 03 learns L from data generated here.
    `sample_initial`: angles uniform in +-theta_max, angular velocities in +-omega_max.
    """

    name = "double pendulum"
    state_dim = 4

    def __init__(self, m1: float = 1.0, m2: float = 1.0, l1: float = 1.0, l2: float = 1.0,
                 g: float = 9.8, theta_max: float = np.pi / 2, omega_max: float = 1.0):
        self.m1, self.m2 = _positive("m1", m1), _positive("m2", m2)
        self.l1, self.l2 = _positive("l1", l1), _positive("l2", l2)
        self.g = _positive("g", g)
        self.theta_max, self.omega_max = _nonnegative("theta_max", theta_max), _nonnegative("omega_max", omega_max)

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


# ----------------------------------------------------------------------------- integrators

def rk4(f, y0, t):
    """Classic fourth-order Runge-Kutta with fixed steps between the times of the grid `t`.

    Taught in notebook 02. Works on NumPy arrays and on torch tensors (gradients flow
    through it, so a model can be trained through the integrator). Global error O(dt^4);
    it does not conserve energy exactly, so long rollouts slowly drift.

    Args:
        f: f(t, y) -> dy/dt with the shape of y.
        y0: initial state, any shape (e.g. (state_dim,) or (batch, state_dim)).
        t: 1-D strictly increasing times; t[0] is the time of y0.
    Returns:
        states at every time of t, shape (len(t), *y0.shape), same type as y0.
    """
    t = _time_grid(t)
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

    Taught in notebook 02. The state is (q, p): the first half of the last axis holds q,
    the second half p. Each step kicks p by half a step, drifts q a full step, kicks p
    again. It is symplectic: it conserves a slightly perturbed energy exactly, so its
    energy error stays bounded over very long runs (global error O(dt^2)). It uses
    f's dq/dt (which must depend on p only) and dp/dt (on q only); for a non-separable
    or damped system use `rk4`.

    Args:
        f: f(t, y) -> dy/dt = (dq/dt, dp/dt), y of shape (..., 2 d).
        y0: initial state (..., 2 d); NumPy or torch.
        t: 1-D strictly increasing times.
    Returns:
        states at every time of t, shape (len(t), *y0.shape), same type as y0.
    """
    t = _time_grid(t)
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
        p_half = p + h / 2 * dp_dt                            # kick
        q = q + h * f(t0 + h / 2, cat([q, p_half], -1))[..., :d]  # drift
        dp_dt = f(t1, cat([q, p_half], -1))[..., d:]
        p = p_half + h / 2 * dp_dt                            # kick
        states.append(cat([q, p], -1))
    return _stack(states)


def reference(f, y0, t, rtol: float = 1e-10, atol: float = 1e-10) -> np.ndarray:
    """A high-accuracy reference solution (scipy's adaptive DOP853) sampled on the grid `t`.

    The "truth" the course's integrators and models are measured against. Batched: y0
    may be (..., state_dim) as long as f handles batches (all `System.derivative` do).

    Args:
        f: f(t, y) -> dy/dt with the shape of y (NumPy).
        y0: initial state(s), any shape.
        t: 1-D strictly increasing times, t[0] the time of y0.
        rtol, atol: solver tolerances (> 0).
    Returns:
        (len(t), *y0.shape) float64 states.
    """
    t = _time_grid(t)
    rtol, atol = _positive("rtol", rtol), _positive("atol", atol)
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


# ----------------------------------------------------------------------------- data

def make_dataset(system: System, n_trajectories: int, t, seed: int = 0, noise: float = 0.0) -> dict:
    """Trajectories of `system` from random initial states, flattened into training pairs.

    The recipe of HNN's synthetic tasks (notebook 02): simulate with `reference`, add
    Gaussian noise of std `noise` to the observed states, keep the *clean* true
    derivatives as targets.

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
    n_trajectories = _count("n_trajectories", n_trajectories)
    t = _time_grid(t)
    noise = _nonnegative("noise", noise)
    rng = as_generator(seed)
    y0 = system.sample_initial(n_trajectories, rng)
    traj = np.moveaxis(reference(system.derivative, y0, t), 0, 1)    # (n, T, d)
    clean = traj.reshape(-1, system.state_dim)
    x = clean + noise * rng.standard_normal(clean.shape) if noise > 0 else clean.copy()
    return {"x": x, "dxdt": system.derivative(0.0, clean), "x_clean": clean, "trajectories": traj,
            "t": t, "energy": system.energy(traj),
            "trajectory": np.repeat(np.arange(n_trajectories), len(t))}


def pixel_pendulum(theta, size: int = 28) -> np.ndarray:
    """Grayscale frames of a pendulum at angle(s) `theta`, drawn with NumPy.

    Stand-in for the gym renderer of HNN's pixel task (notebook 02): the pivot sits at the
    centre, theta = 0 hangs straight down, theta grows counter-clockwise. Rod and bob are
    anti-aliased so the image changes smoothly with theta.

    Args:
        theta: angle(s) in radians, any shape (...).
        size: image side in pixels (>= 8).
    Returns:
        (..., size, size) float64 frames with values in [0, 1].
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    theta = np.asarray(theta, dtype=np.float64)
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta must hold finite angles")
    centre = (size - 1) / 2
    length = 0.4 * size
    bob_radius, rod_half_width = 0.1 * size, 0.04 * size
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)          # row grows downwards
    bob_col = centre + length * np.sin(theta)[..., None, None]
    bob_row = centre + length * np.cos(theta)[..., None, None]
    # distance of each pixel to the rod (segment from pivot to bob)
    dr, dc = bob_row - centre, bob_col - centre
    s = np.clip(((rows - centre) * dr + (cols - centre) * dc) / length ** 2, 0, 1)
    rod = np.hypot(rows - centre - s * dr, cols - centre - s * dc)
    bob = np.hypot(rows - bob_row, cols - bob_col)
    ink_rod = np.clip(rod_half_width + 0.5 - rod, 0, 1) * 0.6
    ink_bob = np.clip(bob_radius + 0.5 - bob, 0, 1)
    return np.maximum(ink_rod, ink_bob)
