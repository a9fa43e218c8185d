"""course.physics.dissipative: the damped spring against scipy's solve_ivp, its closed form and its
energy decay rate; the synthetic ocean's two parts are divergence-free and curl-free; bad inputs."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from course import physics as P


@pytest.mark.parametrize("friction_on", ["q", "p"])
def test_damped_spring_solution_matches_solve_ivp(friction_on):
    spring = P.DampedSpring(rho=2.0, friction_on=friction_on)
    y0 = np.array([0.85, 0.25])
    t = np.linspace(0, 4, 101)
    sol = solve_ivp(spring.derivative, (0, 4), y0, t_eval=t, rtol=1e-12, atol=1e-12, method="DOP853")
    np.testing.assert_allclose(spring.solution(y0, t), sol.y.T, atol=1e-9)


def test_damped_spring_field_is_the_papers():
    spring = P.DampedSpring(rho=2.0)                      # friction on q, as the paper's code
    y = np.array([[0.3, -0.4]])
    np.testing.assert_allclose(spring.derivative(0, y), [[2 * -0.4 - 2 * 0.3, -2 * 0.3]])
    np.testing.assert_allclose(spring.conservative(y), [[-0.8, -0.6]])
    np.testing.assert_allclose(spring.dissipative(y), [[-0.6, 0.0]])
    np.testing.assert_allclose(P.DampedSpring(rho=2.0, friction_on="p").dissipative(y), [[0.0, 0.8]])


@pytest.mark.parametrize("friction_on", ["q", "p"])
def test_energy_decays_at_the_stated_rate(friction_on):
    spring = P.DampedSpring(rho=1.5, friction_on=friction_on)
    y = spring.sample_initial(200, rng=0)
    rate = (2 * y * spring.derivative(0, y)).sum(-1)      # grad H . f with H = q^2 + p^2
    np.testing.assert_allclose(spring.energy_rate(y), rate, atol=1e-12)
    t = np.linspace(0, 3, 301)
    traj = spring.solution(np.array([1.0, 0.0]), t)
    energy = spring.energy(traj)
    assert np.all(np.diff(energy) <= 1e-12) and energy[-1] < 0.1 * energy[0]
    # integrated rate equals the energy lost (trapezoid rule on a fine grid)
    lost = np.trapz(spring.energy_rate(traj), t) if hasattr(np, "trapz") else np.trapezoid(spring.energy_rate(traj), t)
    assert abs((energy[-1] - energy[0]) - lost) < 1e-3


def test_zero_friction_conserves_energy_and_is_the_hnn_spring():
    spring = P.DampedSpring(rho=0.0)
    y = spring.sample_initial(10, rng=1)
    np.testing.assert_allclose(spring.derivative(0, y), P.MassSpring(m=0.5, k=2.0).derivative(0, y))
    traj = spring.solution(y[0], np.linspace(0, 10, 50))
    np.testing.assert_allclose(spring.energy(traj), spring.energy(y[0]), rtol=1e-10)


def test_split_parts_are_rotational_and_irrotational():
    spring = P.DampedSpring(rho=2.0)
    a_rot = np.array([[0.0, 2.0], [-2.0, 0.0]])
    a_irr = spring.matrix() - a_rot
    np.testing.assert_allclose(np.trace(a_rot), 0)         # divergence-free
    np.testing.assert_allclose(a_irr, a_irr.T)              # symmetric Jacobian: curl-free


def _div_curl(field, xy, t, h=1e-5):
    ex, ey = np.array([h, 0.0]), np.array([0.0, h])
    dfx = (field(xy + ex, t) - field(xy - ex, t)) / (2 * h)
    dfy = (field(xy + ey, t) - field(xy - ey, t)) / (2 * h)
    return dfx[..., 0] + dfy[..., 1], dfx[..., 1] - dfy[..., 0]


def test_ocean_parts_are_divergence_free_and_curl_free():
    ocean = P.SyntheticOcean(seed=3)
    xy = np.random.default_rng(0).uniform(-1.5, 1.5, (300, 2))
    t = np.random.default_rng(1).uniform(0, 1, 300)
    div_rot, _ = _div_curl(ocean.rotational, xy, t)
    _, curl_irr = _div_curl(ocean.irrotational, xy, t)
    div_irr, _ = _div_curl(ocean.irrotational, xy, t)
    assert np.abs(div_rot).max() < 1e-6 and np.abs(curl_irr).max() < 1e-6
    assert np.abs(div_irr).max() > 0.1                      # the sources do have divergence


def test_ocean_irrotational_is_gradient_of_potential():
    ocean = P.SyntheticOcean(seed=2)
    xy = np.random.default_rng(0).uniform(-1.5, 1.5, (50, 2))
    h = 1e-6
    num = np.stack([(ocean.potential(xy + e, 0.3) - ocean.potential(xy - e, 0.3)) / (2 * h)
                    for e in (np.array([h, 0]), np.array([0, h]))], -1)
    np.testing.assert_allclose(ocean.irrotational(xy, 0.3), num, atol=1e-6)


def test_ocean_dataset_shapes_and_noise():
    ocean = P.SyntheticOcean()
    d = ocean.dataset(n=10, frames=3, noise=0.1, rng=0)
    assert d["x"].shape == (300, 2) and d["t"].shape == (300,) and d["dx"].shape == (300, 2)
    np.testing.assert_allclose(d["dx_clean"], d["dx_rot"] + d["dx_irr"])
    assert 0.08 < np.std(d["dx"] - d["dx_clean"]) < 0.12
    assert set(np.unique(d["t"])) == {0.0, 1 / 3, 2 / 3}
    np.testing.assert_allclose(ocean.velocity(d["x"], d["t"]), d["dx_clean"])
    assert np.abs(d["dx_rot"]).mean() > 0.1 and np.abs(d["dx_irr"]).mean() > 0.01


@pytest.mark.parametrize("kwargs, name", [
    (dict(rho=-1.0), "rho"), (dict(friction_on="x"), "friction_on"), (dict(extent=0), "extent")])
def test_damped_spring_bad_inputs(kwargs, name):
    with pytest.raises(ValueError, match=name):
        P.DampedSpring(**kwargs)


def test_bad_states_and_times():
    spring = P.DampedSpring()
    with pytest.raises(ValueError, match="shape"):
        spring.derivative(0, np.zeros(3))
    with pytest.raises(ValueError, match="t must"):
        spring.solution(np.zeros(2), np.zeros((2, 2)))


@pytest.mark.parametrize("kwargs, name", [
    (dict(sigma=0), "sigma"), (dict(n_sources=-1), "n_sources"), (dict(amplitude=-1), "amplitude"),
    (dict(seed=-3), "rng")])
def test_ocean_bad_inputs(kwargs, name):
    with pytest.raises(ValueError, match=name):
        P.SyntheticOcean(**kwargs)


def test_ocean_bad_call_inputs():
    ocean = P.SyntheticOcean()
    with pytest.raises(ValueError, match="xy"):
        ocean.velocity(np.zeros((4, 3)), 0.0)
    with pytest.raises(ValueError, match="frames"):
        ocean.dataset(n=5, frames=0)
    with pytest.raises(ValueError, match="noise"):
        ocean.dataset(n=5, frames=2, noise=-1)
