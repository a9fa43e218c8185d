"""course.physics: systems against their invariants, integrators against scipy at their orders."""
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


def test_three_body_energy_conserved_with_tight_tolerance():
    system = P.ThreeBody()
    y0 = system.sample_initial(2, rng=1)
    traj = P.reference(system.derivative, y0, np.linspace(0, 5, 51), rtol=1e-12, atol=1e-12)
    energy = system.energy(traj)
    assert np.max(np.abs(energy / energy[0] - 1)) < 1e-8


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


def _error_at_end(integrator, system, y0, n_steps, horizon=2.0):
    t = np.linspace(0, horizon, n_steps + 1)
    truth = P.reference(system.derivative, y0, t[[0, -1]], rtol=1e-13, atol=1e-13)[-1]
    return np.max(np.abs(integrator(system.derivative, y0, t)[-1] - truth))


@pytest.mark.parametrize("integrator,order", [(P.rk4, 4), (P.leapfrog, 2)], ids=["rk4", "leapfrog"])
@pytest.mark.parametrize("system", [P.Pendulum(), P.TwoBody()], ids=lambda s: s.name)
def test_integrators_converge_at_their_order(integrator, order, system):
    y0 = system.sample_initial(2, rng=3)
    coarse = _error_at_end(integrator, system, y0, 50)
    fine = _error_at_end(integrator, system, y0, 100)
    observed = np.log2(coarse / fine)   # halving dt divides the error by 2^order
    assert order - 0.3 < observed < order + 0.3, f"observed order {observed:.2f}"


def test_leapfrog_energy_bounded_while_rk4_drifts():
    spring = P.MassSpring(m=0.5, k=2.0)
    t = np.arange(0, 2000.0, 0.2)           # ~640 periods, coarse step
    y0 = np.array([1.0, 0.0])
    e_leap = spring.energy(P.leapfrog(spring.derivative, y0, t))
    e_rk4 = spring.energy(P.rk4(spring.derivative, y0, t))
    leap_err = np.abs(e_leap / e_leap[0] - 1)
    # bounded: the error over the last tenth is no larger than over the first tenth
    n = len(t) // 10
    assert leap_err.max() < 0.05
    assert leap_err[-n:].max() <= 1.01 * leap_err[:n].max()
    # RK4 at the same step loses energy steadily
    assert e_rk4[-1] < 0.9 * e_rk4[0]


def test_leapfrog_is_symplectic():
    """The Jacobian M of the one-step map satisfies M^T J M = J (pendulum, nonlinear)."""
    system = P.Pendulum()
    y0 = np.array([0.7, -0.3])
    t = np.array([0.0, 0.1])
    eps = 1e-6
    cols = [(P.leapfrog(system.derivative, y0 + eps * e, t)[-1]
             - P.leapfrog(system.derivative, y0 - eps * e, t)[-1]) / (2 * eps) for e in np.eye(2)]
    M = np.stack(cols, axis=1)
    J = np.array([[0.0, 1.0], [-1.0, 0.0]])
    np.testing.assert_allclose(M.T @ J @ M, J, atol=1e-8)


def test_integrators_work_on_torch_with_gradients():
    spring = P.MassSpring(m=0.5, k=2.0)
    field = lambda t, y: torch.stack([2 * y[..., 1], -2 * y[..., 0]], dim=-1)
    y0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    t = np.linspace(0, 1, 21)
    for integrator in (P.rk4, P.leapfrog):
        out = integrator(field, y0, t)
        assert isinstance(out, torch.Tensor) and out.shape == (21, 1, 2)
        ref = integrator(spring.derivative, y0.detach().numpy(), t)
        np.testing.assert_allclose(out.detach().numpy(), ref, atol=1e-12)
        out[-1].sum().backward()
        assert y0.grad is not None and torch.isfinite(y0.grad).all()
        y0.grad = None


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


def test_make_dataset_shapes_noise_and_targets():
    system = P.MassSpring(m=0.5, k=2.0)
    t = np.linspace(0, 3, 30)
    data = P.make_dataset(system, 50, t, seed=0, noise=0.1)
    assert data["x"].shape == data["dxdt"].shape == (1500, 2)
    assert data["trajectories"].shape == (50, 30, 2) and data["energy"].shape == (50, 30)
    np.testing.assert_allclose(data["dxdt"], system.derivative(0, data["x_clean"]))
    assert 0.08 < np.std(data["x"] - data["x_clean"]) < 0.12
    radius = np.linalg.norm(data["trajectories"][:, 0], axis=-1)
    assert radius.min() >= 0.1 and radius.max() <= 1.0
    again = P.make_dataset(system, 50, t, seed=0, noise=0.1)
    np.testing.assert_array_equal(again["x"], data["x"])          # seeded
    clean = P.make_dataset(system, 50, t, seed=0)
    np.testing.assert_array_equal(clean["x"], clean["x_clean"])


def test_pixel_pendulum_shape_range_and_motion():
    theta = np.linspace(-0.5, 0.5, 6).reshape(2, 3)
    frames = P.pixel_pendulum(theta, size=28)
    assert frames.shape == (2, 3, 28, 28)
    assert frames.min() >= 0 and frames.max() <= 1 and frames.max() > 0.9
    cols = np.arange(28)
    centroid = (P.pixel_pendulum(np.linspace(-0.5, 0.5, 5)) * cols).sum((1, 2)) / P.pixel_pendulum(
        np.linspace(-0.5, 0.5, 5)).sum((1, 2))
    assert np.all(np.diff(centroid) > 0.5)   # positive theta swings the bob to the right
    down, up = P.pixel_pendulum(0.0), P.pixel_pendulum(np.pi)
    rows = np.arange(28)[:, None]
    assert (down * rows).sum() / down.sum() > 14 > (up * rows).sum() / up.sum()


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


def test_bad_inputs_raise():
    spring = P.MassSpring()
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        spring.derivative(0, np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 8\)"):
        P.TwoBody().energy(np.zeros(4))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        spring.sample_initial(0, rng=0)
    with pytest.raises(ValueError, match="rng must be"):
        spring.sample_initial(3, rng="seed")
    with pytest.raises(ValueError, match="n_trajectories must be"):
        P.make_dataset(spring, 0, np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="noise must"):
        P.make_dataset(spring, 2, np.linspace(0, 1, 5), noise=-0.1)
    with pytest.raises(ValueError, match="system must"):
        P.make_dataset("spring", 2, np.linspace(0, 1, 5))
    for integrator in (P.rk4, P.leapfrog, P.reference):
        with pytest.raises(ValueError, match="strictly increasing"):
            integrator(spring.derivative, np.ones(2), np.array([0.0, 1.0, 1.0]))   # zero step
        with pytest.raises(ValueError, match="strictly increasing"):
            integrator(spring.derivative, np.ones(2), np.array([0.0, -0.5]))       # negative step
        with pytest.raises(ValueError, match="1-D"):
            integrator(spring.derivative, np.ones(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="even last axis"):
        P.leapfrog(lambda t, y: y, np.ones(3), np.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="rtol must"):
        P.reference(spring.derivative, np.ones(2), np.linspace(0, 1, 3), rtol=0)
    with pytest.raises(ValueError, match="size must"):
        P.pixel_pendulum(0.1, size=4)
    with pytest.raises(ValueError, match="theta must"):
        P.pixel_pendulum(np.nan)
