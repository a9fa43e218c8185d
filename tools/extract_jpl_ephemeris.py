"""Write data/jpl_de421_inner_planets.csv: daily states of the Sun and the inner planets from JPL's DE421.

Notebook 05 (Nature's cost function) runs the paper's "real orbits" experiment: the Sun,
Mercury, Venus, Earth and Mars from two consecutive daily rows of a JPL ephemeris. The paper
used JPL Horizons vector tables (DE441, solar-system barycentre, ecliptic of J2000, daily,
2018-01-16 to 2023-02-15, of which its code keeps the last 365 days). The course has no
network at run time and cannot reach Horizons, so this script evaluates the same states from
JPL's DE421 kernel, which ships on PyPI as the package `de421` (read by `jplephem`'s
legacy `Ephemeris` class). JPL ephemerides are US-government work, public domain.

The packages are NOT course dependencies: install them in a scratch environment outside the
repository and run this script with that environment's Python:

    python3 -m venv /tmp/jpl/venv && /tmp/jpl/venv/bin/pip install de421==2008.1 jplephem==2.24 numpy
    /tmp/jpl/venv/bin/python tools/extract_jpl_ephemeris.py

What it writes (one row per day, 00:00 TDB, 2022-02-16 to 2023-02-15 = the paper's last 365
days): `date, jd_tdb`, then for each body `x, y, z` (km) and `vx, vy, vz` (km/s), relative to
the solar-system barycentre, rotated from DE421's ICRF/J2000 equator to the ecliptic of J2000
(obliquity 84381.448 arcsec, the frame Horizons calls "Ecliptic of J2000.0"). Earth is the
Earth-Moon barycentre minus the Moon's geocentric position times 1 / (1 + EMRAT).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "jpl_de421_inner_planets.csv"
BODIES = ("sun", "mercury", "venus", "earth", "mars")
JD_FIRST, DAYS = 2459626.5, 365          # 2022-02-16 00:00 TDB, 365 daily rows (to 2023-02-15)
OBLIQUITY = np.deg2rad(84381.448 / 3600.0)


def iso_date(jd: float) -> str:
    """Gregorian calendar date of a Julian day at 0h (Fliegel & Van Flandern)."""
    j = int(jd + 0.5) + 68569
    n = 4 * j // 146097
    j = j - (146097 * n + 3) // 4
    y = 4000 * (j + 1) // 1461001
    j = j - 1461 * y // 4 + 31
    m = 80 * j // 2447
    d = j - 2447 * m // 80
    j = m // 11
    m = m + 2 - 12 * j
    y = 100 * (n - 49) + y + j
    return f"{y:04d}-{m:02d}-{d:02d}"


def to_ecliptic(v: np.ndarray) -> np.ndarray:
    """(3, n) equatorial J2000 -> ecliptic J2000."""
    c, s = np.cos(OBLIQUITY), np.sin(OBLIQUITY)
    return np.stack([v[0], c * v[1] + s * v[2], -s * v[1] + c * v[2]])


def main() -> None:
    import de421
    from jplephem.ephem import Ephemeris

    eph = Ephemeris(de421)
    jd = JD_FIRST + np.arange(DAYS, dtype=float)

    def state(name):
        pos, vel = eph.position_and_velocity(name, jd)          # km, km/day, ICRF equator
        return pos, vel

    columns, blocks = [], []
    emb, emb_v = state("earthmoon")
    moon, moon_v = state("moon")                                 # geocentric
    for body in BODIES:
        if body == "earth":
            pos, vel = emb - moon * eph.earth_share, emb_v - moon_v * eph.earth_share
        else:
            pos, vel = state(body)
        pos, vel = to_ecliptic(pos), to_ecliptic(vel) / 86400.0  # km, km/s
        blocks += [pos, vel]
        columns += [f"{body}_{k}" for k in ("x", "y", "z", "vx", "vy", "vz")]
    table = np.concatenate(blocks).T                              # (DAYS, 30)
    version = getattr(de421, "__version__", "2008.1")
    lines = [f"# JPL DE421 (PyPI de421 {version}, read with jplephem's Ephemeris), written by tools/extract_jpl_ephemeris.py",
             "# solar-system barycentre, ecliptic of J2000 (obliquity 84381.448 arcsec); positions km, velocities km/s; 00:00 TDB",
             "date,jd_tdb," + ",".join(columns)]
    for t, row in zip(jd, table):
        lines.append(f"{iso_date(t)},{t:.1f}," + ",".join(f"{v:.12e}" for v in row))
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {DAYS} rows, {iso_date(jd[0])} to {iso_date(jd[-1])})")


if __name__ == "__main__":
    sys.exit(main())
