"""Tests of course.fea: the element, the assembly, the solve, SIMP, compliance and its adjoint,
the cone filter (the Gaussian one is course.blur, tested there too)."""
import numpy as np
import pytest
import torch

from course import blur, fea
from course import fea_problems as P

torch.set_num_threads(1)


def _design(problem, seed=0, lo=0.3, hi=1.0):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.uniform(lo, hi, problem.shape), dtype=torch.float64, requires_grad=True)


# ---------------------------------------------------------------- element and assembly
def test_element_stiffness_is_symmetric_psd_with_three_rigid_modes():
    ke = fea.element_stiffness()
    assert ke.shape == (8, 8)
    np.testing.assert_allclose(ke, ke.T, atol=1e-15)
    eig = np.linalg.eigvalsh(ke)
    assert eig.min() > -1e-12
    assert np.sum(np.abs(eig) < 1e-10) == 3
    # the rigid motions are the zero modes: translation in x and y, and a rotation
    x_shift = np.tile([1.0, 0.0], 4)
    y_shift = np.tile([0.0, 1.0], 4)
    np.testing.assert_allclose(ke @ x_shift, 0, atol=1e-14)
    np.testing.assert_allclose(ke @ y_shift, 0, atol=1e-14)


def test_element_stiffness_scales_with_young_modulus():
    np.testing.assert_allclose(fea.element_stiffness(E=2.5), 2.5 * fea.element_stiffness())


def test_sparse_assembly_matches_a_dense_assembly():
    problem = P.mbb_beam(6, 4, 0.5)
    rng = np.random.default_rng(1)
    young = rng.uniform(0.1, 1.0, problem.nelx * problem.nely)
    dense = np.zeros((problem.n_dofs,) * 2)
    for e, dofs in enumerate(fea.element_dofs(problem.nelx, problem.nely)):
        dense[np.ix_(dofs, dofs)] += young[e] * fea.element_stiffness()
    free = problem.free_dofs
    K = fea.stiffness_matrix(young, problem).toarray()
    np.testing.assert_allclose(K, dense[np.ix_(free, free)], atol=1e-14)


# ---------------------------------------------------------------- physics
def test_cantilever_tip_deflection_converges_to_beam_theory():
    """Slender cantilever (length 20 x height 1, E = 1, unit load): Euler-Bernoulli gives
    a tip deflection P L^3 / (3 E I) = 4 (L/h)^3 = 32000 in element units."""
    theory = 4 * 20 ** 3
    errors = []
    for nely in (2, 4, 8):
        problem = P.cantilever(20 * nely, nely, 0.5, force_position=0.5)
        u = fea.displacements(torch.ones(problem.shape, dtype=torch.float64), problem)
        tip = -u.numpy().reshape(problem.nelx + 1, problem.nely + 1, 2)[-1, :, 1].mean()
        errors.append(abs(tip / theory - 1))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.02


def test_compliance_of_uniform_designs_scales_as_density_to_minus_p():
    problem = P.mbb_beam(20, 8, 0.5)
    full = fea.compliance(torch.ones(problem.shape, dtype=torch.float64), problem).item()
    for rho in (0.3, 0.5, 0.8):
        for penal in (1.0, 3.0):
            c = fea.compliance(torch.full(problem.shape, rho, dtype=torch.float64), problem, penal=penal)
            np.testing.assert_allclose(c.item(), full * rho ** -penal, rtol=1e-6)


def test_compliance_equals_force_times_displacement():
    problem = P.cantilever(12, 6, 0.4, force_position=0.5)
    x = _design(problem).detach()
    u = fea.displacements(x, problem)
    c = fea.compliance(x, problem)
    np.testing.assert_allclose(c.item(), float(np.dot(problem.forces, u.numpy())), rtol=1e-10)


def test_compliance_adjoint_gradient_matches_finite_differences():
    problem = P.mbb_beam(8, 5, 0.5)
    x = _design(problem)
    fea.compliance(x, problem).backward()
    rng = np.random.default_rng(2)
    eps = 1e-6
    for _ in range(6):
        i, j = rng.integers(problem.nely), rng.integers(problem.nelx)
        xp, xm = x.detach().clone(), x.detach().clone()
        xp[i, j] += eps
        xm[i, j] -= eps
        fd = (fea.compliance(xp, problem).item() - fea.compliance(xm, problem).item()) / (2 * eps)
        assert abs(x.grad[i, j].item() - fd) <= 1e-5 * abs(fd)
    assert (x.grad <= 0).all()  # more material never makes the structure softer


def test_gradcheck_compliance_and_displacements():
    problem = P.michell(6, 6, 0.4)
    x = _design(problem, seed=3)
    assert torch.autograd.gradcheck(lambda t: fea.compliance(t, problem), (x,), eps=1e-6, atol=1e-6, rtol=1e-5)
    weights = torch.tensor(np.random.default_rng(4).normal(size=problem.n_dofs))
    assert torch.autograd.gradcheck(lambda t: fea.displacements(t, problem) @ weights, (x,),
                                    eps=1e-6, atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_clear_errors():
    problem = P.mbb_beam(10, 4, 0.5)
    with pytest.raises(ValueError, match="shape"):
        fea.compliance(torch.ones((4, 9), dtype=torch.float64), problem)
    with pytest.raises(ValueError, match="torch tensor"):
        fea.compliance(np.ones((4, 10)), problem)
    with pytest.raises(ValueError, match="penal"):
        fea.simp(torch.ones(2, 2), penal=0.5)
    with pytest.raises(ValueError, match="e_min"):
        fea.compliance(torch.ones((4, 10), dtype=torch.float64), problem, e_min=0.0)
    with pytest.raises(ValueError, match="E must"):
        fea.element_stiffness(E=0)
    with pytest.raises(ValueError, match="nu must"):
        fea.element_stiffness(nu=0.5)
    with pytest.raises(ValueError, match="young must have shape"):
        fea.stiffness_matrix(np.ones(7), problem)


def test_unsupported_structures_raise_instead_of_returning_garbage():
    loads = P.mbb_beam(6, 3, 0.5).forces
    floating = P.Problem("floating", 6, 3, 0.5, np.array([], dtype=int), loads)
    with pytest.raises(ValueError, match="rigid"):
        fea.compliance(torch.ones(3, 6, dtype=torch.float64), floating)
    only_x = P.Problem("rollers", 6, 3, 0.5, np.arange(0, 8, 2), loads)  # x fixed on the left only
    with pytest.raises(ValueError, match="rigid"):
        fea.compliance(torch.ones(3, 6, dtype=torch.float64), only_x)
    # x and y pinned at one node and y at the node below it: a rotation about the pin remains
    corner_load = np.zeros_like(loads)
    corner_load[-1] = -1.0
    pivot = P.Problem("pivot", 6, 3, 0.5, np.array([0, 1, 3]), corner_load)
    with pytest.raises(ValueError, match="singular|ill-conditioned"):
        fea.compliance(torch.ones(3, 6, dtype=torch.float64), pivot)


def test_nearly_void_designs_give_huge_compliance_not_an_error():
    """L-BFGS line searches try nearly void designs; they are ill-conditioned (round-off
    residuals up to ~1e-4 at E_min = 1e-9), not singular, and must not raise."""
    problem = P.mbb_beam(60, 20, 0.5)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.uniform(0, 1, problem.shape)
        x[x < rng.uniform(0.3, 0.9)] = 1e-28
        c = fea.compliance(torch.tensor(x), problem)
        assert torch.isfinite(c) and c.item() > 0


# ---------------------------------------------------------------- the cone filter
def _filter_design(seed=6):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.uniform(0.3, 1.0, (5, 6)), dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("filt, size", [(blur.gaussian_blur, 1.0), (blur.gaussian_blur, 2.5),
                                        (fea.cone_filter, 2.0), (fea.cone_filter, 3.5)])
def test_filters_preserve_constants_and_pass_gradcheck(filt, size):
    const = torch.full((7, 11), 0.37, dtype=torch.float64)
    np.testing.assert_allclose(filt(const, size).numpy(), 0.37, atol=1e-14)
    x = _filter_design()
    assert torch.autograd.gradcheck(lambda t: filt(t, size), (x,))
    assert not torch.allclose(filt(x, size), x)  # it does smooth


def test_cone_filter_weights_match_the_88_line_definition():
    x = torch.zeros((5, 5), dtype=torch.float64)
    x[2, 2] = 1.0
    out = fea.cone_filter(x, 1.5)
    # interior element: neighbours at distance 1 weigh 0.5, diagonals 1.5 - sqrt(2), centre 1.5
    total = 1.5 + 4 * 0.5 + 4 * (1.5 - np.sqrt(2))
    np.testing.assert_allclose(out[2, 2].item(), 1.5 / total)
    np.testing.assert_allclose(out[2, 3].item(), 0.5 / total)
    np.testing.assert_array_equal(fea.cone_filter(x, 1.0).numpy(), x.numpy())   # radius 1: identity


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="radius"):
        fea.cone_filter(torch.ones(3, 3), 0)
    with pytest.raises(ValueError, match="radius"):
        fea.cone_filter(torch.ones(3, 3), float("nan"))
    with pytest.raises(ValueError, match="2-D torch tensor"):
        fea.cone_filter(np.ones((3, 3)), 2.0)
