"""Tests of course.fea: the element, the assembly, the solve, the adjoint, filters, volume."""
import numpy as np
import pytest
import scipy.ndimage
import torch

from course import fea

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
    problem = fea.mbb_beam(6, 4, 0.5)
    rng = np.random.default_rng(1)
    young = rng.uniform(0.1, 1.0, problem.nelx * problem.nely)
    dense = np.zeros((problem.n_dofs,) * 2)
    for e, dofs in enumerate(fea._element_dofs(problem.nelx, problem.nely)):
        dense[np.ix_(dofs, dofs)] += young[e] * fea.element_stiffness()
    free = problem.free_dofs
    K = fea._assembly(problem).matrix(young).toarray()
    np.testing.assert_allclose(K, dense[np.ix_(free, free)], atol=1e-14)


def test_problem_builders_produce_valid_problems():
    for name, build in fea.PROBLEMS.items():
        problem = build()
        assert problem.name == name
        assert problem.forces.shape == (problem.n_dofs,)
        assert np.abs(problem.forces).sum() > 0
        c = fea.compliance(torch.full(problem.shape, problem.volfrac, dtype=torch.float64), problem)
        assert np.isfinite(c.item()) and c.item() > 0
    assert fea.mbb_beam().mirror == "left"
    assert fea.get_problem("mbb_beam", nelx=60, nely=20, volfrac=0.5).shape == (20, 60)
    assert fea.l_shape().mask.mean() < 1


# ---------------------------------------------------------------- physics
def test_cantilever_tip_deflection_converges_to_beam_theory():
    """Slender cantilever (length 20 x height 1, E = 1, unit load): Euler-Bernoulli gives
    a tip deflection P L^3 / (3 E I) = 4 (L/h)^3 = 32000 in element units."""
    theory = 4 * 20 ** 3
    errors = []
    for nely in (2, 4, 8):
        problem = fea.cantilever(20 * nely, nely, 0.5, force_position=0.5)
        u = fea.displacements(torch.ones(problem.shape, dtype=torch.float64), problem)
        tip = -u.numpy().reshape(problem.nelx + 1, problem.nely + 1, 2)[-1, :, 1].mean()
        errors.append(abs(tip / theory - 1))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.02


def test_compliance_of_uniform_designs_scales_as_density_to_minus_p():
    problem = fea.mbb_beam(20, 8, 0.5)
    full = fea.compliance(torch.ones(problem.shape, dtype=torch.float64), problem).item()
    for rho in (0.3, 0.5, 0.8):
        for penal in (1.0, 3.0):
            c = fea.compliance(torch.full(problem.shape, rho, dtype=torch.float64), problem, penal=penal)
            np.testing.assert_allclose(c.item(), full * rho ** -penal, rtol=1e-6)


def test_compliance_equals_force_times_displacement():
    problem = fea.cantilever(12, 6, 0.4, force_position=0.5)
    x = _design(problem).detach()
    u = fea.displacements(x, problem)
    c = fea.compliance(x, problem)
    np.testing.assert_allclose(c.item(), float(np.dot(problem.forces, u.numpy())), rtol=1e-10)


def test_compliance_adjoint_gradient_matches_finite_differences():
    problem = fea.mbb_beam(8, 5, 0.5)
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
    problem = fea.michell(6, 6, 0.4)
    x = _design(problem, seed=3)
    assert torch.autograd.gradcheck(lambda t: fea.compliance(t, problem), (x,), eps=1e-6, atol=1e-6, rtol=1e-5)
    weights = torch.tensor(np.random.default_rng(4).normal(size=problem.n_dofs))
    assert torch.autograd.gradcheck(lambda t: fea.displacements(t, problem) @ weights, (x,),
                                    eps=1e-6, atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------- filters and volume
def test_gaussian_filter_matches_scipy_and_is_self_adjoint():
    x = np.random.default_rng(5).uniform(size=(9, 14))
    ours = fea.gaussian_filter(torch.tensor(x), 1.5).numpy()
    np.testing.assert_allclose(ours, scipy.ndimage.gaussian_filter(x, 1.5, mode="reflect"), atol=1e-14)
    g = fea._gaussian_matrix(14, 1.5)
    np.testing.assert_allclose(g, g.T, atol=1e-15)  # so its backward pass is the same blur


@pytest.mark.parametrize("filt, size", [(fea.gaussian_filter, 1.0), (fea.gaussian_filter, 2.5),
                                        (fea.cone_filter, 2.0), (fea.cone_filter, 3.5)])
def test_filters_preserve_constants_and_pass_gradcheck(filt, size):
    const = torch.full((7, 11), 0.37, dtype=torch.float64)
    np.testing.assert_allclose(filt(const, size).numpy(), 0.37, atol=1e-14)
    x = _design(fea.mbb_beam(6, 5, 0.5), seed=6)
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


def test_sigmoid_with_volume_hits_the_budget_with_correct_gradient():
    logits = torch.tensor(np.random.default_rng(7).normal(scale=3, size=(6, 9)), requires_grad=True)
    for volfrac in (0.05, 0.4, 0.9):
        x = fea.sigmoid_with_volume(logits, volfrac)
        assert abs(x.mean().item() - volfrac) < 1e-10
    weights = torch.tensor(np.random.default_rng(8).normal(size=(6, 9)))
    assert torch.autograd.gradcheck(lambda z: (fea.sigmoid_with_volume(z, 0.3) * weights).sum(),
                                    (logits,), eps=1e-6, atol=1e-7)
    # the volume cannot change: its gradient is zero
    fea.sigmoid_with_volume(logits, 0.3).sum().backward()
    assert logits.grad.abs().max().item() < 1e-10


def test_oc_update_meets_the_volume_and_lowers_compliance():
    problem = fea.mbb_beam(30, 10, 0.5)
    x = torch.full(problem.shape, 0.5, dtype=torch.float64, requires_grad=True)
    c0 = fea.compliance(fea.gaussian_filter(x, 1.0), problem)
    c0.backward()
    dv = fea.gaussian_filter(torch.ones(problem.shape, dtype=torch.float64), 1.0).numpy() / x.numel()
    volume = lambda d: fea.gaussian_filter(torch.tensor(d), 1.0).mean().item()
    x_new = fea.oc_update(x.detach().numpy(), x.grad.numpy(), dv, volume, 0.5)
    assert volume(x_new) <= 0.5 and volume(x_new) > 0.5 - 1e-6
    assert np.abs(x_new - 0.5).max() <= 0.2 + 1e-12
    c1 = fea.compliance(fea.gaussian_filter(torch.tensor(x_new), 1.0), problem)
    assert c1.item() < c0.item()


# ---------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_clear_errors():
    problem = fea.mbb_beam(10, 4, 0.5)
    with pytest.raises(ValueError, match="shape"):
        fea.compliance(torch.ones((4, 9), dtype=torch.float64), problem)
    with pytest.raises(ValueError, match="torch tensor"):
        fea.compliance(np.ones((4, 10)), problem)
    with pytest.raises(ValueError, match="volfrac"):
        fea.mbb_beam(10, 4, 1.5)
    with pytest.raises(ValueError, match="volfrac"):
        fea.sigmoid_with_volume(torch.zeros(3, 3), 0.0)
    with pytest.raises(ValueError, match="nelx"):
        fea.mbb_beam(0, 4, 0.5)
    with pytest.raises(ValueError, match="nely"):
        fea.cantilever(10, -2, 0.5)
    with pytest.raises(ValueError, match="penal"):
        fea.simp(torch.ones(2, 2), penal=0.5)
    with pytest.raises(ValueError, match="name"):
        fea.get_problem("no_such_problem")
    with pytest.raises(ValueError, match="radius"):
        fea.cone_filter(torch.ones(3, 3), 0)
    with pytest.raises(ValueError, match="width"):
        fea.gaussian_filter(torch.ones(3, 3), -1)
    with pytest.raises(ValueError, match="E must"):
        fea.element_stiffness(E=0)
    with pytest.raises(ValueError, match="forces"):
        fea.Problem("bad", 2, 2, 0.5, np.array([0, 1, 2]), np.zeros(5))
    with pytest.raises(ValueError, match="mask"):
        fea.Problem("bad", 2, 2, 0.5, np.array([0, 1, 2]), np.zeros(18), mask=np.ones((3, 3)))


def test_unsupported_structures_raise_instead_of_returning_garbage():
    loads = fea.mbb_beam(6, 3, 0.5).forces
    floating = fea.Problem("floating", 6, 3, 0.5, np.array([], dtype=int), loads)
    with pytest.raises(ValueError, match="rigid"):
        fea.compliance(torch.ones(3, 6, dtype=torch.float64), floating)
    only_x = fea.Problem("rollers", 6, 3, 0.5, np.arange(0, 8, 2), loads)  # x fixed on the left only
    with pytest.raises(ValueError, match="rigid"):
        fea.compliance(torch.ones(3, 6, dtype=torch.float64), only_x)
    # x and y pinned at one node and y at the node below it: a rotation about the pin remains
    corner_load = np.zeros_like(loads)
    corner_load[-1] = -1.0
    pivot = fea.Problem("pivot", 6, 3, 0.5, np.array([0, 1, 3]), corner_load)
    with pytest.raises(ValueError, match="singular|ill-conditioned"):
        fea.compliance(torch.ones(3, 6, dtype=torch.float64), pivot)


def test_nearly_void_designs_give_huge_compliance_not_an_error():
    """L-BFGS line searches try nearly void designs; they are ill-conditioned (round-off
    residuals up to ~1e-4 at E_min = 1e-9), not singular, and must not raise."""
    problem = fea.mbb_beam(60, 20, 0.5)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.uniform(0, 1, problem.shape)
        x[x < rng.uniform(0.3, 0.9)] = 1e-28
        c = fea.compliance(torch.tensor(x), problem)
        assert torch.isfinite(c) and c.item() > 0


# ---------------------------------------------------------------- optimizers (MMA, OC)
def _gaussian_task(problem, width=1.0):
    objective = lambda x: fea.compliance(fea.gaussian_filter(x, width), problem)
    volume = lambda x: fea.gaussian_filter(x, width).mean()
    return objective, volume, np.full(problem.shape, problem.volfrac)


@pytest.mark.parametrize("driver", ["mma", "oc"])
def test_optimizers_lower_compliance_and_meet_the_volume(driver):
    problem = fea.mbb_beam(30, 10, 0.5)
    objective, volume, x0 = _gaussian_task(problem)
    seen = []
    if driver == "mma":
        run = fea.optimize_mma(objective, volume, problem.volfrac, x0, 30,
                               callback=lambda losses, designs: seen.append(len(losses)))
    else:
        run = fea.optimize_oc(objective, volume, problem.volfrac, x0, 30,
                              callback=lambda losses, designs: seen.append(len(losses)))
    assert isinstance(run, fea.DesignHistory)
    assert run.losses.shape == (30,) and run.volumes.shape == (30,) and len(run.designs) == 30
    assert seen == list(range(1, 31))              # one callback per evaluation
    assert all(d.shape == problem.shape for d in run.designs)
    np.testing.assert_allclose(run.designs[0], x0)  # the first evaluation is the start
    assert run.losses[-1] < 0.5 * run.losses[0]
    # the records agree with each other: loss and volume are those of the recorded design
    last = torch.tensor(run.designs[-1])
    assert run.losses[-1] == pytest.approx(objective(last).item(), rel=1e-12)
    assert run.volumes[-1] == pytest.approx(volume(last).item(), rel=1e-12)
    assert run.volumes[-1] <= problem.volfrac + 1e-6
    assert all(((d >= 0) & (d <= 1)).all() for d in run.designs)
    if driver == "oc":                             # OC spends the budget and descends steadily
        assert run.volumes[-1] > problem.volfrac - 1e-6
        assert np.all(np.diff(run.losses) < 0)


def test_optimizers_leave_x0_alone_and_take_torch_starts():
    problem = fea.mbb_beam(12, 4, 0.4)
    objective, volume, x0 = _gaussian_task(problem)
    before = x0.copy()
    a = fea.optimize_oc(objective, volume, 0.4, x0, 3)
    b = fea.optimize_oc(objective, volume, 0.4, torch.tensor(x0), 3)
    np.testing.assert_array_equal(x0, before)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert len(fea.optimize_mma(objective, volume, 0.4, x0, 1).losses) == 1


def test_optimizers_reject_bad_inputs():
    problem = fea.mbb_beam(8, 4, 0.5)
    objective, volume, x0 = _gaussian_task(problem)
    for driver, steps_name in ((fea.optimize_mma, "evals"), (fea.optimize_oc, "iterations")):
        with pytest.raises(ValueError, match=steps_name):
            driver(objective, volume, 0.5, x0, 0)
        with pytest.raises(ValueError, match=steps_name):
            driver(objective, volume, 0.5, x0, 2.5)
        with pytest.raises(ValueError, match="objective"):
            driver("compliance", volume, 0.5, x0, 3)
        with pytest.raises(ValueError, match="volume"):
            driver(objective, None, 0.5, x0, 3)
        with pytest.raises(ValueError, match="volfrac"):
            driver(objective, volume, 1.2, x0, 3)
        with pytest.raises(ValueError, match="x0"):
            driver(objective, volume, 0.5, np.full(problem.shape, 1.5), 3)
        with pytest.raises(ValueError, match="x0"):
            driver(objective, volume, 0.5, np.full(problem.shape, np.nan), 3)
        with pytest.raises(ValueError, match="x0"):
            driver(objective, volume, 0.5, np.array([]), 3)
        with pytest.raises(ValueError, match="callback"):
            driver(objective, volume, 0.5, x0, 3, callback=42)
        with pytest.raises(ValueError, match="scalar"):
            driver(lambda x: fea.gaussian_filter(x, 1.0), volume, 0.5, x0, 3)
    with pytest.raises(ValueError, match="move"):
        fea.optimize_oc(objective, volume, 0.5, x0, 3, move=0)
    with pytest.raises(ValueError, match="eta"):
        fea.optimize_oc(objective, volume, 0.5, x0, 3, eta=1.5)
