"""course.physics.integrators: RK4 and leapfrog against scipy at their orders, leapfrog's symplectic structure, torch gradients, bad grids."""
import numpy as np
import pytest
import torch

from course import physics as P


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


def test_leapfrog_conserves_a_modified_energy_not_the_true_one():
    """Pendulum (not quadratic): leapfrog's energy error is bounded and shrinks as dt^2, but is not zero."""
    pendulum = P.Pendulum()
    y0 = np.array([2.0, 0.0])
    errors = []
    for dt in (0.1, 0.05):
        t = np.arange(0, 200.0, dt)
        e = pendulum.energy(P.leapfrog(pendulum.derivative, y0, t))
        err = np.abs(e / e[0] - 1)
        n = len(t) // 10
        assert err[-n:].max() <= 1.05 * err[:n].max()       # bounded, no drift
        errors.append(err.max())
    assert errors[1] > 1e-5                                    # not exact for a non-quadratic H
    assert 3.5 < errors[0] / errors[1] < 4.5                   # O(dt^2)


def test_integrators_bad_inputs_raise():
    spring = P.MassSpring()
    for integrator in (P.rk4, P.leapfrog, P.reference):
        with pytest.raises(ValueError, match="strictly increasing"):
            integrator(spring.derivative, np.ones(2), np.array([0.0, 1.0, 1.0]))   # zero step
        with pytest.raises(ValueError, match="strictly increasing"):
            integrator(spring.derivative, np.ones(2), np.array([0.0, -0.5]))       # negative step
        with pytest.raises(ValueError, match="1-D"):
            integrator(spring.derivative, np.ones(2), np.zeros((2, 2)))
        with pytest.raises(ValueError, match="t must be finite"):
            integrator(spring.derivative, np.ones(2), np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="even last axis"):
        P.leapfrog(lambda t, y: y, np.ones(3), np.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="rtol must"):
        P.reference(spring.derivative, np.ones(2), np.linspace(0, 1, 3), rtol=0)
    with pytest.raises(ValueError, match="y0 must"):
        P.reference(spring.derivative, np.ones(0), np.linspace(0, 1, 3))
