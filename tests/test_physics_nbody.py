"""course.physics.nbody: gravity against its invariants (energy, momentum, angular momentum) and the paper's start recipes."""
import numpy as np
import pytest
import torch

from course import physics as P


def test_two_body_conserves_momentum_and_angular_momentum():
    system = P.TwoBody(m1=1.0, m2=2.0)
    y0 = system.sample_initial(3, rng=5)
    np.testing.assert_allclose(system.total_momentum(y0), 0, atol=1e-12)   # centre of mass at rest
    traj = P.reference(system.derivative, y0, np.linspace(0, 30, 121))
    np.testing.assert_allclose(system.total_momentum(traj), 0, atol=1e-9)
    L = system.angular_momentum(traj)
    np.testing.assert_allclose(L, np.broadcast_to(L[0], L.shape), rtol=1e-8)
    # leapfrog conserves angular momentum too (to round-off), another symplectic hallmark
    L_leap = system.angular_momentum(P.leapfrog(system.derivative, y0, np.linspace(0, 30, 601)))
    np.testing.assert_allclose(L_leap, np.broadcast_to(L_leap[0], L_leap.shape), rtol=1e-10)


def test_two_body_initial_orbits_are_nearly_circular():
    system = P.TwoBody(orbit_noise=0.0)
    y0 = system.sample_initial(5, rng=0)
    traj = P.reference(system.derivative, y0, np.linspace(0, 10, 101))
    x = system.positions(traj)
    distance = np.linalg.norm(x[..., 0, :] - x[..., 1, :], axis=-1)
    np.testing.assert_allclose(distance, np.broadcast_to(distance[0], distance.shape), rtol=1e-7)
    assert np.all((distance[0] >= 1.0) & (distance[0] <= 3.0))    # 2 x radius in [0.5, 1.5]


def test_two_body_coordinate_sampling_follows_the_original_code():
    """Body 1's x, y each in [0.5, 1.5]; body 2 mirrored; speed of a circular orbit, 1/(2 sqrt(r))."""
    system = P.TwoBody(orbit_noise=0.0, sampling="coordinates")
    y0 = system.sample_initial(200, rng=0)
    x, v = system.positions(y0), system.momenta(y0)
    assert np.all((x[:, 0] >= 0.5) & (x[:, 0] <= 1.5))
    np.testing.assert_allclose(x[:, 1], -x[:, 0], atol=1e-15)
    np.testing.assert_allclose(v[:, 1], -v[:, 0], atol=1e-15)
    r = np.linalg.norm(x[:, 0], axis=-1)
    np.testing.assert_allclose(np.linalg.norm(v[:, 0], axis=-1), 0.5 / np.sqrt(r), rtol=1e-12)
    assert np.all(x[:, 0, 0] * v[:, 0, 1] - x[:, 0, 1] * v[:, 0, 0] > 0)   # counter-clockwise
    traj = P.reference(system.derivative, y0[:4], np.linspace(0, 10, 51))
    distance = np.linalg.norm(np.diff(system.positions(traj), axis=-2)[..., 0, :], axis=-1)
    np.testing.assert_allclose(distance, np.broadcast_to(distance[0], distance.shape), rtol=1e-7)
    with pytest.raises(ValueError, match="sampling must be one of"):
        P.TwoBody(sampling="polar")


def test_three_bodies_conserve_energy_and_momentum():
    """NBody with three unequal masses: energy and momentum along the scipy reference."""
    system = P.NBody([1.0, 0.8, 1.2])
    rng = np.random.default_rng(0)
    y0 = np.concatenate([rng.uniform(-1, 1, 6), 0.3 * rng.standard_normal(6)])
    traj = P.reference(system.derivative, y0, np.linspace(0, 2, 21), rtol=1e-12, atol=1e-12)
    energy = system.energy(traj)
    assert np.max(np.abs(energy / energy[0] - 1)) < 1e-8
    p = system.total_momentum(traj)
    np.testing.assert_allclose(p, np.broadcast_to(p[0], p.shape), atol=1e-9)


def test_nbody_matches_newton_for_two_bodies():
    """The force on each body is G m1 m2 / r^2 towards the other."""
    system = P.NBody([2.0, 3.0], G=1.5)
    y = np.array([0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    force = system.derivative(0, y)[4:]
    np.testing.assert_allclose(force, [1.5 * 6 / 4, 0.0, -1.5 * 6 / 4, 0.0])
    assert system.energy(y) == pytest.approx(-1.5 * 6 / 2)


def test_nbody_bad_inputs_raise():
    with pytest.raises(ValueError, match="masses must"):
        P.NBody([1.0])
    with pytest.raises(ValueError, match="masses must"):
        P.NBody([1.0, np.nan])
    with pytest.raises(ValueError, match="G must"):
        P.NBody([1.0, 1.0], G=0)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 8\)"):
        P.TwoBody().energy(np.zeros(4))
    with pytest.raises(ValueError, match="radius must be > 0"):
        P.TwoBody(radius=(0.0, 1.0))
    with pytest.raises(ValueError, match="orbit_noise must"):
        P.TwoBody(orbit_noise=-0.1)
