"""course.physics.kepler: the circular orbits are solutions of Newton's equations (scipy's solve_ivp)."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from course.physics import kepler


def test_circular_orbits_solve_the_sun_planet_problem():
    day = 86400.0
    t = np.arange(65) * day
    x, masses = kepler.circular_orbits(t)
    assert x.shape == (65, 5, 2) and masses.shape == (5,) and masses[0] == kepler.MASSES["sun"]
    np.testing.assert_allclose(x[:, 0], 0.0)
    gm = kepler.G * kepler.MASSES["sun"]
    for k in range(1, 5):
        v0 = (x[1, k] - x[0, k]) / day
        # exact initial velocity: tangential, |v| = sqrt(GM/r)
        r0 = np.linalg.norm(x[0, k])
        v_exact = np.sqrt(gm / r0) * np.array([-x[0, k, 1], x[0, k, 0]]) / r0
        assert np.linalg.norm(v0 - v_exact) / np.linalg.norm(v_exact) < 0.05   # one-day chord vs tangent: about omega*day/2 (Mercury 0.036)
        sol = solve_ivp(lambda _, y: np.r_[y[2:], -gm * y[:2] / np.linalg.norm(y[:2]) ** 3],
                        (0, t[-1]), np.r_[x[0, k], v_exact], t_eval=t, rtol=1e-11, atol=1.0)
        np.testing.assert_allclose(sol.y[:2].T, x[:, k], rtol=0, atol=1e-7 * r0)


def test_radius_is_constant_and_planets_selectable():
    x, masses = kepler.circular_orbits([0.0, 1e6], planets=("earth",))
    assert x.shape == (2, 2, 2)
    np.testing.assert_allclose(np.linalg.norm(x[:, 1], axis=-1), kepler.RADII["earth"])
    np.testing.assert_allclose(masses, [kepler.MASSES["sun"], kepler.MASSES["earth"]])


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="times"):
        kepler.circular_orbits([[0.0, 1.0]])
    with pytest.raises(ValueError, match="times"):
        kepler.circular_orbits([0.0, np.nan])
    with pytest.raises(ValueError, match="planet"):
        kepler.circular_orbits([0.0], planets=("pluto",))


def test_jpl_rows_are_daily_states_of_the_inner_planets():
    dates, x, v = kepler.jpl_ephemeris(velocities=True)
    assert len(dates) == 365 and dates[0] == "2022-02-16" and dates[-1] == "2023-02-15"
    assert x.shape == v.shape == (365, 5, 2)
    k = dates.index("2022-07-14")                        # the paper's first row
    r = np.linalg.norm(x[k, 1:] - x[k, :1], axis=-1)     # heliocentric distances (m)
    assert np.all((r > 0.9 * np.array([4.6e10, 1.07e11, 1.47e11, 2.07e11])) & (r < 1.1 * np.array([7.0e10, 1.09e11, 1.52e11, 2.49e11])))
    # the velocities are the positions' time derivative (central differences, one day apart)
    fd = (x[2:] - x[:-2]) / (2 * 86400.0)
    assert np.abs(fd - v[1:-1]).max() < 0.005 * np.abs(v[:, 1:]).max()
    # Earth's speed about the Sun: 29-31 km/s
    speed = np.linalg.norm(v[:, 3] - v[:, 0], axis=-1)
    assert 29e3 < speed.min() and speed.max() < 31e3


def test_jpl_rows_select_bodies_and_refuse_unknown_ones():
    dates, x = kepler.jpl_ephemeris(("earth",))
    assert x.shape == (365, 1, 2)
    with pytest.raises(ValueError):
        kepler.jpl_ephemeris(("pluto",))
