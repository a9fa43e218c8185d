"""The inner planets for notebook 05: JPL ephemeris rows shipped in data/, and circular Kepler orbits.

Notebook 05 (Nature's cost function) minimises the action of the Sun and the four inner
planets. The paper starts from two consecutive daily rows of a JPL Horizons table.
`jpl_ephemeris` reads the course's offline copy of such rows: data/jpl_de421_inner_planets.csv,
evaluated from JPL's DE421 kernel (tools/extract_jpl_ephemeris.py; provenance in
data/README.md). `circular_orbits` is the older stand-in (each planet on a circle around a
fixed Sun with the circular speed sqrt(G M_sun / r)), kept for experiments without the table.
Plumbing, not the lesson.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import validate

__all__ = ["G", "MASSES", "RADII", "PHASES", "EPHEMERIS_FILE", "jpl_ephemeris", "circular_orbits"]

EPHEMERIS_FILE = Path(__file__).resolve().parents[2] / "data" / "jpl_de421_inner_planets.csv"

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


def jpl_ephemeris(bodies=("sun", "mercury", "venus", "earth", "mars"), path=EPHEMERIS_FILE, velocities=False):
    """The shipped JPL rows: dates and x-y positions (and velocities) in SI units.

    The file holds one row per day at 00:00 TDB, positions in km and velocities in km/s relative
    to the solar-system barycentre in the ecliptic of J2000 (the frame of the paper's Horizons
    tables). The paper uses the x-y projection; so does this.

    Args:
        bodies: names among sun, mercury, venus, earth, mars.
        path: the CSV file (default: data/jpl_de421_inner_planets.csv).
        velocities: also return the velocities.
    Returns:
        (dates, positions) with dates a list of 'YYYY-MM-DD' strings and positions a float64 array
        (days, len(bodies), 2) in metres; with `velocities`, (dates, positions, velocities in m/s).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: the JPL rows are missing (tools/extract_jpl_ephemeris.py writes them)")
    with open(path) as f:
        rows = [line.rstrip("\n").split(",") for line in f if line.strip() and not line.startswith("#")]
    header, rows = rows[0], rows[1:]
    bodies = list(bodies)
    for b in bodies:
        validate.one_of("body", b, ["sun", "mercury", "venus", "earth", "mars"])

    def columns(names):
        idx = [header.index(f"{b}_{c}") for b in bodies for c in names]
        return np.array([[float(r[k]) for k in idx] for r in rows]).reshape(len(rows), len(bodies), 2) * 1e3

    dates = [r[0] for r in rows]
    if velocities:
        return dates, columns("xy"), columns(("vx", "vy"))
    return dates, columns("xy")
