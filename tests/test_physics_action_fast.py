"""course.physics.action_fast: the gas's action gradient by hand equals autograd, and its Adam run
lands on the same path as notebook 05's own `minimise_action` (the lesson's autograd version)."""
import numpy as np
import pytest
import torch

from course.physics import action_fast
from tests.nbimport import definitions


@pytest.fixture(scope="module")
def ns():
    return definitions("05_action")


@pytest.fixture(scope="module")
def gas(ns):
    """The paper's gas at a reduced size (20 particles, 40 slices): ODE path and perturbed start."""
    p0 = np.random.RandomState(1).rand(20, 2) * 0.2 + 0.4
    ode = ns["euler_ode"](p0, p0, 0.2, ns["force_accel"](ns["lennard_jones"]), 40, damping=0.99)
    return ode, ns["perturb"](ode, 8e-3, seed=1)


def test_lennard_jones_and_its_gradient_equal_autograd(ns):
    x = torch.tensor(0.45 + 0.1 * np.random.RandomState(0).rand(5, 12, 2), dtype=torch.float64)
    x[0, 1] = x[0, 0] + 0.01               # inside the core (clamped, linear term)
    x[1, 2] = x[1, 0] + 0.045              # near the well's minimum
    x[2, 3] = x[2, 0] + 0.039              # inside the core, below the clamp
    xr = x.clone().requires_grad_(True)
    V_ref = ns["lennard_jones"](xr)
    V_ref.sum().backward()
    V, dV = action_fast.lennard_jones_and_gradient(x)
    np.testing.assert_allclose(V.numpy(), V_ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dV.numpy(), xr.grad.numpy(), rtol=1e-10, atol=1e-12 * xr.grad.abs().max().item())


def test_action_gradient_equals_autograd_through_the_notebooks_action(ns, gas):
    _, init = gas
    n, N, dt = 20, 40, 0.2
    x = torch.tensor(init, requires_grad=True)
    S = ns["discrete_action"](x, dt, ns["kinetic_particles"], ns["lennard_jones"])[0] / (N * n * dt)
    S.backward()
    S_hat, T_hat, V_hat, grad = action_fast.action_and_gradient(torch.tensor(init), dt,
                                                                action_fast.lennard_jones_and_gradient, n)
    assert abs(S_hat.item() - S.item()) < 1e-12 * max(1.0, abs(S.item()))
    assert float((grad - x.grad).abs().max() / x.grad.abs().max()) < 1e-10


def test_gradient_with_masses_equals_autograd(ns):
    m = torch.tensor([3.0, 1.0, 0.5], dtype=torch.float64)
    x0 = torch.tensor(np.random.RandomState(7).rand(9, 3, 2), dtype=torch.float64)
    x = x0.clone().requires_grad_(True)
    kin = lambda x, v: (0.5 * m[:, None] * v ** 2).flatten(1).sum(-1)
    S = ns["discrete_action"](x, 0.3, kin, ns["lennard_jones"])[0] / (9 * 3 * 0.3)
    S.backward()
    grad = action_fast.action_and_gradient(x0, 0.3, action_fast.lennard_jones_and_gradient, 3, masses=m)[3]
    np.testing.assert_allclose(grad.numpy(), x.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_fast_minimiser_lands_on_the_lessons_path(ns, gas):
    ode, init = gas
    path, hist = ns["minimise_action"](init, 0.2, ns["kinetic_particles"], ns["lennard_jones"], 60, 3e-5, n_bodies=20)
    fast, fhist = action_fast.minimise_action_fast(init, 0.2, 60, 3e-5, n_bodies=20)
    assert float((path - fast).abs().max()) < 1e-10
    assert fhist["steps"] == hist["steps"] and len(fhist["paths"]) == len(hist["paths"])
    for key in ("S", "T", "V"):
        np.testing.assert_allclose(fhist[key], hist[key], rtol=1e-10, atol=1e-15)
    assert np.array_equal(fast.numpy()[[0, -1]], init[[0, -1]])            # endpoints held


def test_accel_is_minus_the_gradient(ns):
    x = 0.45 + 0.1 * np.random.RandomState(3).rand(8, 2)
    a = action_fast.lennard_jones_accel(x, None)
    ref = ns["force_accel"](ns["lennard_jones"])(x, None)
    np.testing.assert_allclose(a, ref, rtol=1e-10, atol=1e-15)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        action_fast.lennard_jones_and_gradient(torch.zeros(4, 3))
    with pytest.raises(ValueError):
        action_fast.pair_incidence(1)
    with pytest.raises(ValueError):
        action_fast.minimise_action_fast(np.zeros((5, 3)), 0.2, 2, 1e-3)
