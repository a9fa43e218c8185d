"""Speed paths of 08_neural_reparam that must give the same bits as the plain code:
course.fea_optimizers.lbfgs_b (SciPy's L-BFGS-B core driven without fmin_l_bfgs_b's wrapper) against
scipy.optimize.fmin_l_bfgs_b, and course.fea's element products against np.einsum."""
import types

import numpy as np
import pytest
import scipy.optimize
import torch

from course import fea, fea_optimizers, fea_problems
from course.fea_solver import KE, element_dofs


def _recording(fn, points):
    def fg(x):
        points.append(np.array(x))
        return fn(x)
    return fg


def _rosenbrock(x):
    value = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    grad = np.zeros_like(x)
    grad[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    grad[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return float(value), grad


def _bumpy(x):
    scale = np.linspace(0.5, 4.0, x.size)
    return float(np.sum(scale * x * x) + np.sum(np.sin(3 * x))), 2 * scale * x + 3 * np.cos(3 * x)


def _quadratic(x):                                  # converges long before the budget
    return float(x @ x), 2 * x


@pytest.mark.parametrize("fn, n, options", [
    (_rosenbrock, 30, dict(maxfun=60, factr=1, pgtol=1e-14)),
    (_rosenbrock, 7, dict(maxfun=200)),                                  # fmin_l_bfgs_b's defaults
    (_bumpy, 500, dict(maxfun=40, factr=1, pgtol=1e-14, m=5)),
    (_bumpy, 50, dict(maxfun=300, factr=1e3, pgtol=1e-9, maxls=5, maxiter=20)),
    (_quadratic, 20, dict(maxfun=100, factr=1, pgtol=1e-14)),
])
def test_lbfgs_b_evaluates_the_points_fmin_l_bfgs_b_evaluates_bit_for_bit(fn, n, options):
    start = np.random.default_rng(n).normal(size=n)
    ours, theirs = [], []
    x, f, nfev = fea_optimizers.lbfgs_b(_recording(fn, ours), start, **options)
    x_ref, f_ref, info = scipy.optimize.fmin_l_bfgs_b(_recording(fn, theirs), start, **options)
    assert fea_optimizers._direct_matches_scipy()          # the fast loop ran, not the fallback
    assert len(ours) == len(theirs) == nfev == info["funcalls"]
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, x_ref)
    assert f == f_ref


def test_an_exception_of_the_objective_ends_the_run_after_the_same_points():
    class Budget(Exception):
        pass

    def run(minimise, budget):
        points = []

        def fg(x):
            if len(points) == budget:
                raise Budget
            points.append(np.array(x))
            return _rosenbrock(x)
        with pytest.raises(Budget):
            minimise(fg, np.full(12, -1.0), maxfun=budget, factr=1, pgtol=1e-14)
        return points

    ours, theirs = run(fea_optimizers.lbfgs_b, 9), run(scipy.optimize.fmin_l_bfgs_b, 9)
    assert len(ours) == len(theirs) == 9
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_without_a_matching_probe_it_is_fmin_l_bfgs_b(monkeypatch):
    monkeypatch.setattr(fea_optimizers, "_LBFGS_B_DIRECT", [False])
    calls = []
    real = scipy.optimize.fmin_l_bfgs_b
    monkeypatch.setattr(scipy.optimize, "fmin_l_bfgs_b", lambda *a, **k: calls.append(1) or real(*a, **k))
    x, f, nfev = fea_optimizers.lbfgs_b(_rosenbrock, np.zeros(5), maxfun=30, factr=1, pgtol=1e-14)
    x_ref, f_ref, info = real(_rosenbrock, np.zeros(5), maxfun=30, factr=1, pgtol=1e-14)
    assert calls == [1] and nfev == info["funcalls"] and f == f_ref
    np.testing.assert_array_equal(x, x_ref)


def test_lbfgs_b_rejects_bad_input():
    with pytest.raises(ValueError):
        fea_optimizers.lbfgs_b("not a function", np.zeros(3))
    with pytest.raises(ValueError):
        fea_optimizers.lbfgs_b(_quadratic, np.zeros(3), maxfun=0)
    with pytest.raises(ValueError):
        fea_optimizers.lbfgs_b(_quadratic, np.zeros(0))
    with pytest.raises(ValueError):
        fea_optimizers.lbfgs_b(_quadratic, np.array([1.0, np.nan]))
    with pytest.raises(ValueError):
        fea_optimizers.lbfgs_b(_quadratic, np.zeros(3), factr=-1)


def test_the_notebook_lbfgs_design_gives_the_fmin_l_bfgs_b_run():
    """08's lbfgs_design on fea_optimizers.lbfgs_b against the same cell on scipy's fmin_l_bfgs_b
    (the code before): equal losses, volumes and designs, CNN and pixels."""
    from tests.nbimport import definitions

    ns = definitions("08_neural_reparam")
    problem = fea_problems.mbb_beam(48, 16, 0.4)
    new = [ns["run_cnn"](problem, 14, seed=1), ns["run_pixels"](problem, 14)]
    plain = types.SimpleNamespace(lbfgs_b=lambda fg, x0, **k: scipy.optimize.fmin_l_bfgs_b(fg, x0, **k))
    ns["fea_optimizers"] = plain
    old = [ns["run_cnn"](problem, 14, seed=1), ns["run_pixels"](problem, 14)]
    for a, b in zip(new, old):
        assert len(a["losses"]) == len(b["losses"]) == 14
        np.testing.assert_array_equal(a["losses"], b["losses"])
        np.testing.assert_array_equal(a["volumes"], b["volumes"])
        for x, y in zip(a["designs"], b["designs"]):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("nel", [1, 768, 2047, 2048, 3072, 12288])
def test_element_products_are_einsums_bits(nel):
    rng = np.random.default_rng(nel)
    a = rng.normal(size=(nel, 8)) * 10.0 ** rng.uniform(-8, 8, size=(nel, 1))
    b = rng.normal(size=(nel, 8)) * 10.0 ** rng.uniform(-8, 8, size=(nel, 1))
    a[: min(3, nel)] = 0.0                               # zero rows: the sign of zero too
    b[-1, :4] = -0.0
    for left, right in ((a, a), (a, b), (b, a)):
        got, want = fea._element_products(left, right), np.einsum("ei,ij,ej->e", left, KE, right)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("shape", [(60, 20), (192, 64)])
def test_compliance_and_displacement_gradients_unchanged(shape):
    problem = fea_problems.mbb_beam(*shape, 0.4)
    x = torch.tensor(np.random.default_rng(0).uniform(0.05, 1.0, problem.shape), requires_grad=True)
    u = fea.displacements(x, problem)
    (u * torch.linspace(-1, 1, u.numel(), dtype=torch.float64)).sum().backward()
    ue = u.detach().numpy()[element_dofs(problem.nelx, problem.nely)]
    energies = np.einsum("ei,ij,ej->e", ue, KE, ue).reshape(problem.nelx, problem.nely).T
    np.testing.assert_array_equal(fea.element_energies(u.detach().numpy(), problem), energies)
    assert x.grad is not None and torch.isfinite(x.grad).all()
