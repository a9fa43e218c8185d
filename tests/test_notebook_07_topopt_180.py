"""The code written in 07_topopt_180's cells: it agrees with course.fea, and its graded checks
fail on plausible wrong answers (missing penalty exponent, sign flips, wrong bisection direction)."""
import numpy as np
import pytest
import torch

from course import blur, fea, fea_problems
from tests.nbimport import cell_source, definitions, run_check

torch.set_num_threads(1)
NB = "07_topopt_180"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)


def test_no_show_source_and_the_pipeline_is_in_the_cells(ns):
    import json
    from tests.nbimport import NOTEBOOKS
    text = (NOTEBOOKS / f"{NB}.ipynb").read_text()
    assert "show_source" not in text
    for name in ("element_stiffness", "element_dofs", "assemble", "displacements", "compliance",
                 "compliance_gradient", "density_filter", "filter_transpose", "oc_update", "optimize_mma"):
        assert callable(ns[name]), name
    assert json.loads(text)["metadata"]["kernelspec"]["name"] == "python3"


def test_the_notebook_pipeline_agrees_with_course_fea_on_the_mbb_beam(ns):
    mbb = fea_problems.from_grids("mbb_beam", *ns["mbb_beam_bcs"](80, 25), volfrac=0.4)
    library_mbb = fea_problems.mbb_beam(80, 25, 0.4)
    np.testing.assert_array_equal(mbb.fixed_dofs, library_mbb.fixed_dofs)
    np.testing.assert_array_equal(mbb.forces, library_mbb.forces)
    x = np.random.default_rng(0).uniform(0.3, 1.0, mbb.shape)
    c_ours, dc_ours = ns["objective_and_gradient"](x, mbb, 3.0, 1.0)
    x_t = torch.tensor(x, requires_grad=True)
    c_lib = fea.compliance(blur.gaussian_blur(x_t, 1.0), library_mbb, 3.0)
    c_lib.backward()
    assert abs(c_ours / c_lib.item() - 1) < 1e-10
    dc_lib = x_t.grad.numpy()
    assert np.abs(dc_ours - dc_lib).max() < 1e-10 * np.abs(dc_lib).max()
    # the element stiffness and the index map are the library's too
    np.testing.assert_allclose(ns["element_stiffness"](), fea.element_stiffness(), atol=1e-15)
    np.testing.assert_array_equal(ns["element_dofs"](7, 3), fea.element_dofs(7, 3))


def test_the_checks_pass_with_the_reference_solutions(ns):
    run_check(NB, "07_compliance_gradient_check", ns)
    run_check(NB, "07_oc_update_check", ns)


def test_gradient_check_fails_on_plausible_wrong_answers(ns):
    energies, E0, E_MIN = ns["element_energies"], ns["E0"], ns["E_MIN"]
    wrong = {
        "missing exponent -1": lambda x, u, pr, penal=3.0: -penal * x ** penal * (E0 - E_MIN) * energies(u, pr),
        "sign flip": lambda x, u, pr, penal=3.0: penal * x ** (penal - 1) * (E0 - E_MIN) * energies(u, pr),
        "missing factor p": lambda x, u, pr, penal=3.0: -x ** (penal - 1) * (E0 - E_MIN) * energies(u, pr),
        "E' of E(x) = x (no penalty)": lambda x, u, pr, penal=3.0: -(E0 - E_MIN) * energies(u, pr),
    }
    for name, fn in wrong.items():
        with pytest.raises(AssertionError):
            run_check(NB, "07_compliance_gradient_check", ns, overrides={"compliance_gradient": fn})


def _oc(ns, sign=1.0, eta=0.5, flip_bisection=False, move=0.2):
    density_filter = ns["density_filter"]

    def oc_update(x, dc, dv, volfrac, sigma=1.0, move_=move, eta_=eta):
        lower, upper = np.maximum(x - move_, 0), np.minimum(x + move_, 1)
        with np.errstate(invalid="ignore"):
            step = lambda lam: np.clip(x * (-sign * dc / (lam * dv)) ** eta_, lower, upper)
            lo, hi = np.log(1e-9), np.log(1e9)
            while hi - lo > 1e-10:
                mid = 0.5 * (lo + hi)
                too_much = density_filter(step(np.exp(mid)), sigma).mean() > volfrac
                if too_much != flip_bisection:
                    lo = mid
                else:
                    hi = mid
            return step(np.exp(hi))
    return oc_update


def test_oc_check_passes_a_correct_rewrite_and_fails_wrong_ones(ns):
    run_check(NB, "07_oc_update_check", ns, overrides={"oc_update": _oc(ns)})
    for wrong in (_oc(ns, sign=-1.0), _oc(ns, flip_bisection=True), _oc(ns, eta=1.0), _oc(ns, move=0.5)):
        with pytest.raises(AssertionError):
            run_check(NB, "07_oc_update_check", ns, overrides={"oc_update": wrong})


def test_exercise_cells_are_pure_definitions_with_solution_markers():
    from tests.nbimport import is_definition_cell
    for grade_id in ("07_compliance_gradient", "07_oc_update"):
        src = cell_source(NB, grade_id)
        assert is_definition_cell(src)
        assert "### BEGIN SOLUTION" in src and "### END SOLUTION" in src


def test_explore_runs_headless_and_the_oc_driver_decreases(ns):
    import matplotlib
    matplotlib.use("Agg")
    loss = ns["explore"]("mbb_beam", nelx=24, iterations=8, optimizer="OC", live=False)
    assert np.isfinite(loss) and loss > 0
    beam = fea_problems.from_grids("mbb_beam", *ns["mbb_beam_bcs"](24, 8), volfrac=0.5)
    losses, designs = ns["optimize_oc"](beam, 6)
    assert np.all(np.diff(losses) < 0) and len(designs) == 6
    with pytest.raises(ValueError, match="name"):
        ns["explore"]("no_such_problem", live=False)
