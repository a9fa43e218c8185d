"""The wind tunnel that 09_wings builds in its cells, tested where it lives (tests/nbimport.py).

The two graded exercises (advect, the Jacobi projection) must pass with the reference
solution and their check cells must fail on plausible wrong answers; the projection must
remove divergence only partly (the paper's approximately incompressible flow); the memory
saving checkpointed simulation must give the very same gradient.
"""
import numpy as np
import pytest
import torch

from tests.nbimport import definitions, run_check

NB = "09_wings"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)   # with the parameters and setup cells


def smooth_flow(rows=30, cols=40, seed=3):
    from course.blur import gaussian_blur
    gen = torch.Generator().manual_seed(seed)
    return tuple(gaussian_blur(torch.randn(rows, cols, generator=gen, dtype=torch.float64), 2.0) for _ in range(2))


def rms_div(ns, vx, vy):
    return (ns["ddx"](vx) + ns["ddy"](vy)).pow(2).mean().sqrt().item()


# ---------------------------------------------------------------- exercise 1: advect
def test_advect_check_passes_with_the_reference_solution(ns):
    run_check(NB, "09_advect_check", ns)


def _advect_variant(sign=1, swap_axes=False, swap_weights=False, wrap=True, detach=False):
    def advect(f, vx, vy):
        if swap_axes:
            vx, vy = vy, vx
        rows, cols = f.shape
        y = torch.arange(rows, dtype=f.dtype)[:, None] - sign * vy
        x = torch.arange(cols, dtype=f.dtype)[None, :] - sign * vx
        y0, x0 = torch.floor(y), torch.floor(x)
        wy, wx = y - y0, x - x0
        if detach:
            wy, wx = wy.detach(), wx.detach()
        if swap_weights:
            wy, wx = 1 - wy, 1 - wx
        if wrap:
            r0, c0 = y0.long() % rows, x0.long() % cols
            r1, c1 = (r0 + 1) % rows, (c0 + 1) % cols
        else:
            r0, c0 = y0.long().clamp(0, rows - 1), x0.long().clamp(0, cols - 1)
            r1, c1 = (r0 + 1).clamp(max=rows - 1), (c0 + 1).clamp(max=cols - 1)
        return ((1 - wy) * ((1 - wx) * f[r0, c0] + wx * f[r0, c1])
                + wy * ((1 - wx) * f[r1, c0] + wx * f[r1, c1]))
    return advect


def test_advect_variant_without_mistakes_passes(ns):
    run_check(NB, "09_advect_check", ns, overrides={"advect": _advect_variant()})


@pytest.mark.parametrize("mistake", [dict(sign=-1), dict(swap_axes=True), dict(swap_weights=True),
                                     dict(wrap=False), dict(detach=True)],
                         ids=["forward-not-backward", "vx-vy-swapped", "weights-swapped", "no-wrap", "no-gradient"])
def test_advect_check_fails_on_plausible_wrong_answers(ns, mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "09_advect_check", ns, overrides={"advect": _advect_variant(**mistake)})


# ---------------------------------------------------------------- exercise 2: the projection
def test_projection_check_passes_with_the_reference_solution(ns):
    run_check(NB, "09_project_check", ns)


def _project_variant(ns, flip=False, quarter=4.0, fill_sweeps=True, occlude=True):
    ddx, ddy, nsum, fill = ns["ddx"], ns["ddy"], ns["neighbour_sum"], ns["fill_obstacle"]

    def project(vx, vy, mask, open_blur, sweeps=50):
        d = fill(-(ddx(vx) + ddy(vy)), mask, open_blur)
        p = torch.zeros_like(vx)
        for _ in range(sweeps):
            p = (d + nsum(p)) / quarter
            if fill_sweeps:
                p = fill(p, mask, open_blur)
        s = -1 if flip else 1
        vx, vy = vx - s * ddx(p), vy - s * ddy(p)
        return (vx * (1 - mask), vy * (1 - mask)) if occlude else (vx, vy)
    return project


def test_projection_variant_without_mistakes_passes(ns):
    run_check(NB, "09_project_check", ns, overrides={"project_jacobi": _project_variant(ns)})


@pytest.mark.parametrize("mistake", [dict(flip=True), dict(quarter=5.0), dict(fill_sweeps=False), dict(occlude=False)],
                         ids=["gradient-added", "missing-quarter", "no-fill-in-sweeps", "air-not-stopped"])
def test_projection_check_fails_on_plausible_wrong_answers(ns, mistake):
    with pytest.raises(AssertionError):
        run_check(NB, "09_project_check", ns, overrides={"project_jacobi": _project_variant(ns, **mistake)})


# ---------------------------------------------------------------- the tunnel's divergence after projection
def test_projection_removes_divergence_only_partly_and_more_sweeps_help_up_to_a_floor(ns):
    vx, vy = smooth_flow()
    mask = torch.zeros_like(vx)
    open_blur = ns["gaussian_blur"](1 - mask, 1.0)
    before = rms_div(ns, vx, vy)
    left = {n: rms_div(ns, *ns["project_jacobi"](vx, vy, mask, open_blur, sweeps=n)) / before for n in (5, 50, 500)}
    assert left[5] > left[50] > left[500]
    assert 0.15 < left[50] < 0.35          # the paper's projection: approximately incompressible
    assert left[500] > 0.15                # the stencil mismatch leaves a floor no sweep removes


def test_projection_keeps_a_uniform_wind_and_stops_air_in_solid_cells(ns):
    vx, vy = torch.ones(20, 30, dtype=torch.float64), torch.zeros(20, 30, dtype=torch.float64)
    mask = torch.zeros_like(vx)
    px, py = ns["project_jacobi"](vx, vy, mask, ns["gaussian_blur"](1 - mask, 1.0))
    torch.testing.assert_close(px, vx, rtol=0, atol=1e-14)
    torch.testing.assert_close(py, vy, rtol=0, atol=1e-14)
    mask[8:12, 5:20] = 1.0
    px, py = ns["project_jacobi"](vx, vy, mask, ns["gaussian_blur"](1 - mask, 1.0))
    assert px[8:12, 5:20].abs().max() == 0 and py[8:12, 5:20].abs().max() == 0
    assert rms_div(ns, px, py) > 0         # a wall in the flow makes divergence the sweeps only reduce


def test_fill_obstacle_keeps_open_air_and_fills_solid_cells_with_neighbours(ns):
    f = torch.arange(200.0, dtype=torch.float64).reshape(10, 20)
    mask = torch.zeros_like(f)
    mask[4:6, 8:12] = 1.0
    filled = ns["fill_obstacle"](f, mask, ns["gaussian_blur"](1 - mask, 1.0))
    torch.testing.assert_close(filled[mask == 0], f[mask == 0])
    inside = filled[4:6, 8:12]
    assert inside.min() >= f[3:7, 7:13].min() and inside.max() <= f[3:7, 7:13].max()


# ---------------------------------------------------------------- the simulation and its gradient
def _small_problem(ns, rows=20, cols=30):
    region = ns["design_region"](rows, cols)
    params = torch.tensor(0.1 * np.random.RandomState(0).rand(rows, cols) - 1.0, dtype=torch.float64)
    return region, params


def test_recomputed_simulation_gives_the_same_values_and_gradient(ns):
    """save_memory recomputes each step in the backward pass: same forward bit for bit,
    same gradient up to round-off (only the order of the sums over steps differs)."""
    region, params = _small_problem(ns)
    values, grads = [], []
    for save_memory in (False, True):
        p = params.clone().requires_grad_(True)
        vx, vy, _ = ns["simulate"](ns["squash"](p) * region, steps=6, save_memory=save_memory)
        ratio = vy.mean() / (1 - vx).mean()
        (g,) = torch.autograd.grad(ratio, p)
        values.append(ratio.item()), grads.append(g)
    assert values[0] == values[1]
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-10, atol=1e-18)


def test_big_tunnels_recompute_by_default(ns, monkeypatch):
    calls = []
    original = ns["Recompute"].apply
    monkeypatch.setattr(ns["Recompute"], "apply", lambda *a: calls.append(1) or original(*a))
    region, params = _small_problem(ns, rows=40, cols=60)
    p = params.clone().requires_grad_(True)
    ns["simulate"](ns["squash"](p) * region, steps=2)            # 4,800 cell-steps: store
    assert not calls
    ns["simulate"](ns["squash"](p) * region, steps=42)           # 100,800 cell-steps: recompute
    assert len(calls) == 42
    with torch.no_grad():
        ns["simulate"](ns["squash"](p) * region, steps=42)       # nothing to differentiate: plain
    assert len(calls) == 42


def test_gradient_of_the_objective_matches_finite_differences(ns):
    region, params = _small_problem(ns)
    p = params.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(ns["lift_drag_ratio"](ns["squash"](p) * region, steps=6), p)
    direction = torch.randn(params.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    eps = 1e-5
    with torch.no_grad():
        plus = ns["lift_drag_ratio"](ns["squash"](params + eps * direction) * region, steps=6)
        minus = ns["lift_drag_ratio"](ns["squash"](params - eps * direction) * region, steps=6)
    fd = ((plus - minus) / (2 * eps)).item()
    assert abs((g * direction).sum().item() - fd) < 1e-6 * abs(fd)
    assert g[region == 0].abs().max() == 0   # no material outside the design box, ever


# ---------------------------------------------------------------- the optimiser (issue 19): the paper's update
def _optimize_wing_variant(ns, old, new):
    """The notebook's optimize_wing with one line of its source replaced (a broken update)."""
    import json
    from tests.nbimport import NOTEBOOKS
    cells = json.loads((NOTEBOOKS / f"{NB}.ipynb").read_text())["cells"]
    src = next("".join(c["source"]) for c in cells if "def optimize_wing(" in "".join(c["source"]))
    assert src.count(old) == 1, f"the notebook's optimize_wing no longer contains {old!r}"
    scope = dict(ns)
    exec(compile(src.replace(old, new), "<optimize_wing variant>", "exec"), scope)
    return scope["optimize_wing"]


def _update_error(ns, optimize_wing, rows=20, cols=30, sim_steps=3, lr=1e3):
    """Largest difference between optimize_wing's masks and eq. (8) computed by hand, over two steps."""
    run = optimize_wing(rows, cols, ascent_steps=2, sim_steps=sim_steps, lr=lr, progress=False)
    region = ns["design_region"](rows, cols)
    params = ns["initial_params"](rows, cols)
    error = 0.0
    for step in range(2):
        p = params.clone().requires_grad_(True)
        ratio = ns["lift_drag_ratio"](ns["squash"](p) * region, sim_steps, ns["project_jacobi"])
        (grad,) = torch.autograd.grad(ratio, p)
        error = max(error, abs(run["ratio"][step] - ratio.item()),
                    (run["masks"][step] - ns["squash"](params) * region).abs().max().item())
        params = params + lr * grad                                   # eq. (8): P <- P + lr dJ/dP
    error = max(error, (run["masks"][-1] - ns["squash"](params) * region).abs().max().item())
    return error, run


def test_optimize_wing_takes_the_papers_ascent_steps_and_raises_l_over_d(ns):
    error, run = _update_error(ns, ns["optimize_wing"])
    assert error < 1e-12
    assert len(run["ratio"]) == 3 and len(run["masks"]) == 3
    assert run["ratio"][0] < run["ratio"][1] < run["ratio"][2]       # ascent: L/D goes up


@pytest.mark.parametrize("old, new", [
    ("params += lr * grad", "params -= lr * grad"),                   # descent instead of ascent
    ("params += lr * grad", "params += grad"),                        # learning rate forgotten
    ("params += lr * grad", "params += lr * grad.sign() * 1e-3"),     # sign of the gradient only
    ("params += lr * grad", "pass"),                                  # no update at all
    ("masks.append(mask.detach())", "masks.append(squash(params).detach() * region)"),  # mask after the step
], ids=["descent", "no-learning-rate", "sign-only", "no-update", "mask-recorded-after-the-step"])
def test_a_broken_update_is_caught(ns, old, new):
    error, _ = _update_error(ns, _optimize_wing_variant(ns, old, new))
    assert error > 1e-6
