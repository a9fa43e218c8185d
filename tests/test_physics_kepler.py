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
