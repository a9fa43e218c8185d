"""course.fea_solver: the banded Cholesky solve (K is symmetric positive definite: E_min > 0 and supports
against rigid motion) against SuperLU's LU, the solver it replaced: the same displacements,
compliances and gradients to round-off, the same errors for singular or non-finite problems."""
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.linalg
import torch

from course import fea, fea_solver
from course import fea_problems as P

torch.set_num_threads(1)

PROBLEMS = {
    "mbb": lambda: P.mbb_beam(48, 16, 0.4),
    "cantilever": lambda: P.cantilever(40, 20, 0.4, force_position=0.5),
    "building (taller than wide)": lambda: P.multistory_building(16, 40, 0.4, interval=8),
    "causeway (square, two rollers)": lambda: P.causeway_bridge(24, 24),
    "michell (one pin)": lambda: P.michell(20, 20, 0.2),
}


def _young(problem, seed, lo=0.0):
    x = np.random.default_rng(seed).uniform(lo, 1.0, problem.nelx * problem.nely)
    return 1e-9 + x ** 3 * (1 - 1e-9)


def _splu_solve(young, problem):
    K = fea.stiffness_matrix(young, problem)
    free = problem.free_dofs
    return scipy.sparse.linalg.splu(K).solve(problem.forces[free]), K


@pytest.mark.parametrize("name", PROBLEMS)
def test_band_storage_holds_exactly_the_renumbered_matrix(name):
    problem = PROBLEMS[name]()
    young = _young(problem, 1)
    asm = fea_solver.assembly(problem)
    order, u = asm.band()[:2]
    assert np.array_equal(np.sort(order), np.arange(asm.n_free))
    dense = fea.stiffness_matrix(young, problem).toarray()[np.ix_(order, order)]
    rows, cols = np.nonzero(dense)
    assert np.max(np.abs(rows - cols)) == u                         # the band is as wide as claimed
    ab = asm.band_matrix(young)
    assert ab.shape == (u + 1, asm.n_free) and ab.flags.f_contiguous
    rebuilt = np.zeros_like(dense)
    for k in range(u + 1):                                          # ab[u + i - j, j] = K[i, j]
        offset = u - k
        rebuilt[np.arange(asm.n_free - offset), np.arange(offset, asm.n_free)] = ab[k, offset:]
    rebuilt = np.triu(rebuilt) + np.triu(rebuilt, 1).T
    np.testing.assert_allclose(rebuilt, dense, rtol=1e-14, atol=0)


def test_a_grid_taller_than_wide_is_numbered_along_its_short_side():
    tall = P.multistory_building(16, 64, 0.4)
    natural = 2 * (tall.nely + 2) - 1          # neighbours across a column in element_dofs' order
    u = fea_solver.assembly(tall).band()[1]
    assert u <= 2 * (tall.nelx + 2) + 1 < natural
    wide = P.mbb_beam(64, 16, 0.4)
    assert fea_solver.assembly(wide).band()[1] <= 2 * (wide.nely + 2) + 1


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("seed, lo", [(0, 0.0), (1, 0.3), (2, 0.0)])
def test_banded_solve_equals_the_sparse_lu_solve(name, seed, lo):
    problem = PROBLEMS[name]()
    young = _young(problem, seed, lo)
    u, factor = fea_solver.solve(young, problem)
    assert isinstance(factor, fea_solver.BandedCholesky)
    reference, K = _splu_solve(young, problem)
    free = problem.free_dofs
    np.testing.assert_allclose(u[free], reference, rtol=0, atol=1e-10 * np.abs(reference).max())
    assert np.all(u[problem.fixed_dofs] == 0)
    f = problem.forces[free]
    assert np.linalg.norm(K @ u[free] - f) <= 1e-9 * np.linalg.norm(f)
    # the same factor solves for another right-hand side (the adjoint's use)
    g = np.random.default_rng(seed).normal(size=free.size)
    np.testing.assert_allclose(factor.solve(g), scipy.sparse.linalg.spsolve(K, g), rtol=0,
                               atol=1e-10 * np.abs(factor.solve(g)).max())


@pytest.fixture
def splu_only(monkeypatch):
    monkeypatch.setattr(fea_solver, "BAND_LIMIT", -1)          # every solve takes the SuperLU path


def _compliance_and_gradient(problem, x):
    x = torch.tensor(x, requires_grad=True)
    c = fea.compliance(x, problem)
    c.backward()
    return c.item(), x.grad.numpy().copy()


def _displacement_gradient(problem, x, weights):
    x = torch.tensor(x, requires_grad=True)
    (fea.displacements(x, problem) @ weights).backward()
    return x.grad.numpy().copy()


@pytest.mark.parametrize("name", PROBLEMS)
def test_compliance_and_its_gradients_are_unchanged(name, monkeypatch):
    rng = np.random.default_rng(5)
    problem = PROBLEMS[name]()
    x = rng.uniform(0.05, 1.0, problem.shape)
    weights = torch.tensor(rng.normal(size=problem.n_dofs))
    c, grad = _compliance_and_gradient(problem, x)
    adjoint = _displacement_gradient(problem, x, weights)
    monkeypatch.setattr(fea_solver, "BAND_LIMIT", -1)
    problem_lu = PROBLEMS[name]()
    c_lu, grad_lu = _compliance_and_gradient(problem_lu, x)
    adjoint_lu = _displacement_gradient(problem_lu, x, weights)
    assert abs(c - c_lu) <= 1e-9 * abs(c_lu)
    np.testing.assert_allclose(grad, grad_lu, rtol=0, atol=1e-9 * np.abs(grad_lu).max())
    np.testing.assert_allclose(adjoint, adjoint_lu, rtol=0, atol=1e-9 * np.abs(adjoint_lu).max())


def test_wide_bands_go_to_the_sparse_lu(monkeypatch):
    problem = P.mbb_beam(30, 10, 0.5)
    monkeypatch.setattr(fea_solver, "BAND_LIMIT", fea_solver.assembly(problem).band()[1] - 1)
    u, factor = fea_solver.solve(_young(problem, 3), problem)
    assert not isinstance(factor, fea_solver.BandedCholesky)
    monkeypatch.setattr(fea_solver, "BAND_LIMIT", fea_solver.assembly(problem).band()[1])
    assert isinstance(fea_solver.solve(_young(problem, 3), problem)[1], fea_solver.BandedCholesky)


def test_a_cholesky_failure_falls_back_to_the_sparse_lu(monkeypatch):
    problem = P.cantilever(20, 10, 0.5)
    young = _young(problem, 4)
    expected, _ = fea_solver.solve(young, problem)

    def not_positive_definite(*args, **kwargs):
        raise np.linalg.LinAlgError("not positive definite")
    monkeypatch.setattr(scipy.linalg, "cholesky_banded", not_positive_definite)
    u, factor = fea_solver.solve(young, problem)
    assert not isinstance(factor, fea_solver.BandedCholesky)
    np.testing.assert_allclose(u, expected, rtol=0, atol=1e-10 * np.abs(expected).max())


def test_singular_and_non_finite_problems_still_raise_clear_errors():
    loads = P.mbb_beam(6, 3, 0.5).forces
    corner_load = np.zeros_like(loads)
    corner_load[-1] = -1.0
    pivot = P.Problem("pivot", 6, 3, 0.5, np.array([0, 1, 3]), corner_load)   # a free rotation
    with pytest.raises(ValueError, match="singular|ill-conditioned"):
        fea.compliance(torch.ones(3, 6, dtype=torch.float64), pivot)
    floating = P.Problem("floating", 6, 3, 0.5, np.array([], dtype=int), loads)
    with pytest.raises(ValueError, match="rigid"):
        fea.compliance(torch.ones(3, 6, dtype=torch.float64), floating)
    beam = P.mbb_beam(20, 8, 0.5)
    for bad in (float("nan"), float("inf")):
        x = torch.ones(beam.shape, dtype=torch.float64)
        x[2, 3] = bad
        with pytest.raises(ValueError, match="singular|ill-conditioned"):
            fea.compliance(x, beam)
        with pytest.raises(ValueError, match="singular|ill-conditioned"):
            fea.displacements(x, beam)
