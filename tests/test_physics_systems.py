"""course.physics.systems: each system against its invariants (energy conserved by the scipy reference, closed forms, the Euler-Lagrange equations) and bad inputs."""
import numpy as np
import pytest
import torch

from course import physics as P


CONSERVATIVE = [P.MassSpring(m=0.5, k=2.0), P.Pendulum(), P.TwoBody(), P.DoublePendulum()]


@pytest.mark.parametrize("system", CONSERVATIVE, ids=lambda s: s.name)
def test_reference_conserves_energy_over_long_horizon(system):
    y0 = system.sample_initial(3, rng=0)
    t = np.linspace(0, 100, 201)
    traj = P.reference(system.derivative, y0, t, rtol=1e-12, atol=1e-12)
    assert traj.shape == (201, 3, system.state_dim)
    energy = system.energy(traj)
    scale = np.abs(energy[0]) + 1e-12
    assert np.max(np.abs(energy - energy[0]) / scale) < 1e-8


def test_damped_pendulum_loses_energy_monotonically():
    system = P.DampedPendulum(gamma=0.2)
    traj = P.reference(system.derivative, system.sample_initial(2, rng=0), np.linspace(0, 10, 101))
    energy = system.energy(traj)
    assert np.all(np.diff(energy, axis=0) <= 1e-12)
    assert np.all(energy[-1] < 0.5 * energy[0])


def test_spring_matches_closed_form_and_hnn_scaling():
    spring = P.MassSpring(m=0.5, k=2.0)   # the HNN code's H = q^2 + p^2
    y = np.array([[0.3, -0.4]])
    np.testing.assert_allclose(spring.energy(y), [0.25])
    np.testing.assert_allclose(spring.derivative(0, y), [[2 * -0.4, -2 * 0.3]])
    t = np.linspace(0, 3, 7)
    traj = P.reference(spring.derivative, np.array([1.0, 0.0]), t)
    np.testing.assert_allclose(traj[:, 0], np.cos(2 * t), atol=1e-9)


def test_pendulum_hnn_code_scaling_has_same_angle_motion():
    paper, code = P.Pendulum(), P.Pendulum(m=0.5)   # 6(1-cos q) + p^2/2 and 3(1-cos q) + p^2
    assert code.energy(np.array([np.pi / 2, 1.0])) == pytest.approx(3 + 1)
    t = np.linspace(0, 5, 11)
    a = P.reference(paper.derivative, np.array([1.0, 0.0]), t)
    b = P.reference(code.derivative, np.array([1.0, 0.0]), t)
    np.testing.assert_allclose(a[:, 0], b[:, 0], atol=1e-8)


def test_double_pendulum_satisfies_euler_lagrange():
    """d/dt dL/dw = dL/dtheta along the analytic derivative, by finite differences of L."""
    system = P.DoublePendulum(m1=1.3, m2=0.7, l1=0.9, l2=1.2)
    y = system.sample_initial(5, rng=2)
    dy = system.derivative(0, y)
    eps = 1e-5

    def grad_L(state):
        return np.stack([(system.lagrangian(state + eps * e) - system.lagrangian(state - eps * e)) / (2 * eps)
                         for e in np.eye(4)], axis=-1)

    dL_dtheta = grad_L(y)[..., :2]
    # total time derivative of dL/domega along (theta', omega') = dy
    ddt_dL_domega = (grad_L(y + eps * dy)[..., 2:] - grad_L(y - eps * dy)[..., 2:]) / (2 * eps)
    np.testing.assert_allclose(ddt_dL_domega, dL_dtheta, atol=1e-4)


def test_double_pendulum_energy_and_positions():
    system = P.DoublePendulum()
    y = np.array([0.0, 0.0, 0.0, 0.0])
    assert system.energy(y) == pytest.approx(-(2 * 9.8 + 9.8))
    np.testing.assert_allclose(system.positions(y), [[0, -1], [0, -2]], atol=1e-12)
    np.testing.assert_allclose(system.derivative(0, y), 0)


@pytest.mark.parametrize("build,match", [
    (lambda: P.MassSpring(m=-1.0), "m must"),
    (lambda: P.MassSpring(k=0.0), "k must"),
    (lambda: P.Pendulum(l=-2.0), "l must"),
    (lambda: P.DampedPendulum(gamma=-0.1), "gamma must"),
    (lambda: P.DoublePendulum(l2=0.0), "l2 must"),
    (lambda: P.DoublePendulum(m1=-1.0), "m1 must"),
    (lambda: P.TwoBody(m2=-1.0), "m2 must"),
    (lambda: P.NBody([1.0, -1.0]), "masses must"),
    (lambda: P.MassSpring(radius=(1.0, 0.5)), "radius must"),
])
def test_bad_parameters_raise(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_pendulum_convention_small_angle_frequency():
    """The paper's H = 2mgl(1 - cos q) + l^2 p^2/2m swings at sqrt(2 g) (m = l = 1), not the textbook sqrt(g / l)."""
    pendulum = P.Pendulum(g=3.0)
    t = np.linspace(0, 4, 41)
    traj = P.reference(pendulum.derivative, np.array([1e-4, 0.0]), t, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(traj[:, 0], 1e-4 * np.cos(np.sqrt(6.0) * t), atol=1e-10)


def test_system_bad_states_and_samples_raise():
    spring = P.MassSpring()
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        spring.derivative(0, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        spring.sample_initial(0, rng=0)
    with pytest.raises(ValueError, match="rng must be"):
        spring.sample_initial(3, rng="seed")
    with pytest.raises(ValueError, match="rng must be"):
        spring.sample_initial(3, rng=-1)
    with pytest.raises(ValueError, match="radius must"):
        P.Pendulum(radius=("a", 1.0))
    with pytest.raises(ValueError, match="radius must"):
        P.Pendulum(radius=(1.0,))
    with pytest.raises(ValueError, match="g must"):
        P.Pendulum(g=np.inf)
    with pytest.raises(ValueError, match="omega_max must"):
        P.DoublePendulum(omega_max=-1.0)
    with pytest.raises(ValueError, match="m must"):
        P.MassSpring(m=True)
