"""Circular Kepler orbits of the inner planets: the offline stand-in for an ephemeris (notebook 05).

Notebook 05 (Nature's cost function) minimises the action of the Sun and the four inner
planets. The paper starts from two consecutive daily rows of a JPL Horizons table; the
course has no network, so `circular_orbits` places each planet on a circle around a fixed
Sun with the circular speed sqrt(G M_sun / r) (an exact solution of the Sun-planet two-body
problem with the Sun held still), at the paper's masses and G. Plumbing, not the lesson.
"""
from __future__ import annotations

import numpy as np

from .. import validate

__all__ = ["G", "MASSES", "RADII", "PHASES", "circular_orbits"]

G = 6.67e-11                       # the paper's value (m^3 kg^-1 s^-2)
MASSES = {"sun": 1.99e30, "mercury": 3.3e23, "venus": 4.87e24, "earth": 5.97e24, "mars": 6.42e23}   # kg, the paper's
RADII = {"mercury": 5.791e10, "venus": 1.0821e11, "earth": 1.496e11, "mars": 2.2794e11}   # semi-major axes (m)
PHASES = {"mercury": 0.3, "venus": 2.1, "earth": 4.0, "mars": 5.5}   # starting angles (rad), arbitrary but fixed


def circular_orbits(times, planets=("mercury", "venus", "earth", "mars")):
    """Positions (len(times), 1 + len(planets), 2) in metres: the Sun at the origin, then each planet.

    Args:
        times: 1-D times in seconds.
        planets: names among `RADII`.
    Returns:
        (positions, masses): float64 positions and the (1 + n,) masses in kg (the Sun first).
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or len(t) == 0:
        raise ValueError(f"times must be a non-empty 1-D array of seconds, got shape {t.shape}")
    validate.finite("times", t)
    planets = list(planets)
    for p in planets:
        validate.one_of("planet", p, list(RADII))
    out = np.zeros((len(t), 1 + len(planets), 2))
    for k, p in enumerate(planets, start=1):
        r = RADII[p]
        omega = np.sqrt(G * MASSES["sun"] / r ** 3)
        out[:, k, 0] = r * np.cos(PHASES[p] + omega * t)
        out[:, k, 1] = r * np.sin(PHASES[p] + omega * t)
    masses = np.array([MASSES["sun"]] + [MASSES[p] for p in planets])
    return out, masses
