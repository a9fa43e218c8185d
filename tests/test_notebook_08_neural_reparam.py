"""The code written in 08_neural_reparam's cells: the volume-exact sigmoid (bisection and implicit
gradient), the CNN design network (parameter counts, shapes), and graded checks that fail on
plausible wrong answers (wrong bisection direction, sign flip, missing normalisation)."""
import math

import numpy as np
import pytest
import torch

from course import fea_problems
from tests.nbimport import cell_source, definitions, is_definition_cell, run_check

torch.set_num_threads(1)
NB = "08_neural_reparam"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)


def _expected_parameters(nely, nelx, resizes, latent=128, dense_channels=32, filters=(128, 64, 32, 16, 1), k=5):
    up = math.prod(resizes)
    h, w = nely // up, nelx // up
    count = latent + latent * dense_channels * h * w + dense_channels * h * w      # latent, dense weight and bias
    channels = dense_channels
    for r, out in zip(resizes, filters):
        h, w = h * r, w * r
        count += channels * out * k * k + out + out * h * w                        # conv weight, bias, offsets
        channels = out
    return count


@pytest.mark.parametrize("shape, paper", [((20, 60), 0.73e6), ((32, 96), 0.67e6), ((64, 192), 1.55e6)])
def test_cnn_parameter_counts_match_the_architecture_and_the_paper(ns, shape, paper):
    nely, nelx = shape
    resizes = ns["resizes_for"](nely, nelx)
    net = ns["CNNDesign"](nely, nelx, resizes=resizes, seed=0)
    count = sum(p.numel() for p in net.parameters())
    assert count == _expected_parameters(nely, nelx, resizes)
    assert abs(count / paper - 1) < 0.05, f"{count} parameters vs the paper's ≈{paper:.3g}"
    with torch.no_grad():
        out = net()
    assert out.shape == (nely, nelx) and torch.isfinite(out).all()


def test_cnn_is_seeded_and_rejects_grids_it_cannot_upsample_to(ns):
    a = ns["CNNDesign"](16, 48, resizes=(1, 1, 2, 2, 1), seed=3)
    b = ns["CNNDesign"](16, 48, resizes=(1, 1, 2, 2, 1), seed=3)
    with torch.no_grad():
        assert torch.equal(a(), b())
    with pytest.raises(ValueError, match="divisible"):
        ns["CNNDesign"](20, 60, resizes=(1, 2, 2, 2, 1))


def test_the_volume_constraint_holds_exactly_for_cnn_designs(ns):
    problem = fea_problems.mbb_beam(48, 16, 0.4)
    net = ns["CNNDesign"](16, 48, resizes=ns["resizes_for"](16, 48), seed=1)
    x, x_phys = ns["physical_density"](net(), problem)
    assert abs(x.mean().item() - 0.4) < 1e-12
    assert abs(x_phys.mean().item() - 0.4) < 0.02          # the cone filter nearly keeps the mean
    # the volume cannot change to first order: its gradient w.r.t. every weight is ~0
    x.mean().backward()
    assert max(p.grad.abs().max().item() for p in net.parameters()) < 1e-7


def test_sigmoid_with_volume_gradient_and_bad_inputs(ns):
    swv = ns["sigmoid_with_volume"]
    logits = torch.tensor(np.random.default_rng(7).normal(scale=3, size=(6, 9)), requires_grad=True)
    for volfrac in (0.05, 0.4, 0.9):
        assert abs(swv(logits, volfrac).mean().item() - volfrac) < 1e-10
    weights = torch.tensor(np.random.default_rng(8).normal(size=(6, 9)))
    assert torch.autograd.gradcheck(lambda z: (swv(z, 0.3) * weights).sum(), (logits,), eps=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="volfrac"):
        swv(torch.zeros(3, 3), 0.0)
    with pytest.raises(ValueError, match="logits"):
        swv(torch.full((3, 3), float("nan")), 0.5)
    with pytest.raises(ValueError, match="logits"):
        swv(torch.zeros(3), 0.5)


def test_the_checks_pass_with_the_reference_solutions(ns):
    run_check(NB, "08_volume_offset_check", ns)
    run_check(NB, "08_offset_vjp_check", ns)


def _bisection(keep_upper_when_too_much=True, iterations=64):
    def volume_offset(z, volfrac):
        target = math.log(volfrac / (1 - volfrac))
        lo, hi = target - z.max().item(), target - z.min().item()
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            too_much = torch.sigmoid(z + mid).mean().item() > volfrac
            if too_much == keep_upper_when_too_much:
                hi = mid
            else:
                lo = mid
            if hi - lo < 1e-12:
                break
        return 0.5 * (lo + hi)
    return volume_offset


def test_bisection_check_fails_on_wrong_answers(ns):
    run_check(NB, "08_volume_offset_check", ns, overrides={"volume_offset": _bisection()})
    for wrong in (_bisection(keep_upper_when_too_much=False), _bisection(iterations=10),
                  lambda z, v: math.log(v / (1 - v)) - z.mean().item()):       # the logit of V, no bisection
        with pytest.raises(AssertionError):
            run_check(NB, "08_volume_offset_check", ns, overrides={"volume_offset": wrong})


def test_vjp_check_fails_on_wrong_answers(ns):
    def slope(z, b):
        s = torch.sigmoid(z + b)
        return s * (1 - s)
    wrong = {
        "sign flip": lambda z, b, g: g * slope(z, b) / slope(z, b).sum(),
        "not normalised": lambda z, b, g: -g * slope(z, b),
        "sigmoid instead of its slope": lambda z, b, g: -g * torch.sigmoid(z + b) / torch.sigmoid(z + b).sum(),
        "uniform": lambda z, b, g: -g * torch.full_like(z, 1.0 / z.numel()),
    }
    for name, fn in wrong.items():
        with pytest.raises(AssertionError):
            run_check(NB, "08_offset_vjp_check", ns, overrides={"offset_vjp": fn})


def test_exercise_cells_are_pure_definitions_with_solution_markers():
    for grade_id in ("08_volume_offset", "08_offset_vjp"):
        src = cell_source(NB, grade_id)
        assert is_definition_cell(src)
        assert "### BEGIN SOLUTION" in src and "### END SOLUTION" in src


def test_preconditioned_step_descends(ns):
    problem = fea_problems.mbb_beam(24, 8, 0.5)
    net = ns["CNNDesign"](8, 24, resizes=(1, 1, 2, 2, 1), seed=0).double()
    pixel, cnn = ns["preconditioned_step"](net, problem)
    assert pixel.shape == cnn.shape == (8, 24)
    assert (pixel * cnn).sum().item() > 0          # -JJ^T g is a descent direction: g . JJ^T g >= 0
    assert not torch.allclose(pixel / pixel.norm(), cnn / cnn.norm())


# ---------------------------------------------------------------- the paper's method: L-BFGS over the CNN's weights (issue 19)
def _params(ns, seed=0):
    return list(ns["CNNDesign"](16, 48, resizes=ns["resizes_for"](16, 48), seed=seed).parameters())


def _roundtrip_error(to_vector, to_params, params):
    """Pack, scramble the parameters, unpack: how far the parameters are from where they started."""
    before = [p.detach().clone() for p in params]
    vector = to_vector(params)
    with torch.no_grad():
        for k, p in enumerate(params):
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(k)))
    to_params(vector, params)
    return max((p.detach() - b).abs().max().item() for p, b in zip(params, before))


def _reversed_unpacking(vector, params):
    """A shuffled packing: fills the parameters from the vector in the reverse order."""
    start = 0
    with torch.no_grad():
        for p in reversed(params):
            p.copy_(torch.from_numpy(vector[start:start + p.numel()]).view_as(p))
            start += p.numel()


def _transposed_packing(params):
    """A shuffled packing: each matrix ravelled column by column (Fortran order)."""
    return np.concatenate([p.detach().cpu().double().numpy().ravel(order="F") for p in params])


def test_packing_then_unpacking_gives_the_parameters_back(ns):
    params = _params(ns)
    vector = ns["params_to_vector"](params)
    assert vector.dtype == np.float64 and vector.shape == (sum(p.numel() for p in params),)
    assert _roundtrip_error(ns["params_to_vector"], ns["vector_to_params"], params) == 0.0
    ns["vector_to_params"](vector, params)                  # unpacking then packing: the same vector
    np.testing.assert_array_equal(ns["params_to_vector"](params), vector)


def test_packing_equals_the_reference_concatenation_exactly(ns):
    """params_to_vector (one preallocated vector, one cast-copy per tensor) == the plain
    concatenation it replaced, bit for bit: float32 weights, float64 logits, a non-contiguous tensor."""
    reference = lambda ts: np.concatenate([t.detach().cpu().double().numpy().ravel() for t in ts])
    tensors = _params(ns) + [torch.randn(7, 5, dtype=torch.float64), torch.randn(4, 6).t(), torch.randn(3)]
    got = ns["params_to_vector"](tensors)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, reference(tensors))
    assert ns["params_to_vector"]([]).shape == (0,)


@pytest.mark.parametrize("pack, unpack", [("params_to_vector", _reversed_unpacking), (_transposed_packing, "vector_to_params")],
                         ids=["reversed-order", "column-major"])
def test_a_shuffled_packing_is_caught(ns, pack, unpack):
    pack = ns[pack] if isinstance(pack, str) else pack
    unpack = ns[unpack] if isinstance(unpack, str) else unpack
    assert _roundtrip_error(pack, unpack, _params(ns)) > 1e-3


def test_lbfgs_design_lowers_the_compliance_of_a_small_beam(ns):
    problem = fea_problems.mbb_beam(48, 16, 0.4)
    for run in (ns["run_cnn"](problem, 15, seed=0), ns["run_pixels"](problem, 15)):
        losses = run["losses"]
        assert len(losses) == len(run["designs"]) == len(run["volumes"]) <= 15
        assert losses.min() < 0.6 * losses[0]                # the design's compliance falls
        np.testing.assert_allclose(run["volumes"], 0.4, atol=1e-9)   # the volume is exact all the way


def test_lbfgs_design_computes_nothing_past_its_budget_and_the_budget_only_truncates(ns):
    """The objective stops L-BFGS-B (BudgetSpent) instead of evaluating past max_evals; the run
    up to the budget is the one a longer budget records first, bit for bit."""
    problem = fea_problems.mbb_beam(48, 16, 0.4)
    calls = []

    def run(budget):
        net = ns["CNNDesign"](16, 48, resizes=ns["resizes_for"](16, 48), seed=3)
        calls.clear()
        return ns["lbfgs_design"](net.parameters(), lambda: calls.append(1) or net(), problem, budget)

    short = run(12)
    assert len(calls) == 12 and len(short["losses"]) == len(short["designs"]) == len(short["volumes"]) == 12
    long = run(15)
    assert len(calls) == 15
    np.testing.assert_array_equal(short["losses"], long["losses"][:12])
    np.testing.assert_array_equal(short["volumes"], long["volumes"][:12])
    for a, b in zip(short["designs"], long["designs"]):
        np.testing.assert_array_equal(a, b)
    assert issubclass(ns["BudgetSpent"], Exception)


def test_a_shuffled_packing_breaks_the_descent(ns, monkeypatch):
    """With the gradient packed in a different order than the weights, L-BFGS walks uphill or stalls."""
    problem = fea_problems.mbb_beam(48, 16, 0.4)
    good = ns["run_cnn"](problem, 15, seed=0)["losses"].min()
    monkeypatch.setitem(ns, "vector_to_params", _reversed_unpacking)
    bad = ns["run_cnn"](problem, 15, seed=0)["losses"].min()
    assert bad > 1.2 * good
