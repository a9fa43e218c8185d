"""course.wing_fast: the Jacobi projection with its sweeps' backward written out equals notebook 09's
`project_jacobi` (the lesson) in values and in gradients; the notebook takes it only for a right answer."""
import pytest
import torch

from course import wing_fast
from course.blur import gaussian_blur
from tests.nbimport import definitions


@pytest.fixture(scope="module")
def ns():
    return definitions("09_wings")


def _case(ns, rows, cols, seed, obstacle):
    g = torch.Generator().manual_seed(seed)
    vx = torch.randn(rows, cols, generator=g, dtype=torch.float64).requires_grad_(True)
    vy = torch.randn(rows, cols, generator=g, dtype=torch.float64).requires_grad_(True)
    params = torch.randn(rows, cols, generator=g, dtype=torch.float64).requires_grad_(True)
    region = ns["design_region"](rows, cols) if obstacle else torch.zeros(rows, cols, dtype=torch.float64)
    return vx, vy, params, region


def _values_and_gradients(ns, project, vx, vy, params, region):
    mask = ns["squash"](params) * region
    ux, uy = project(vx, vy, mask, gaussian_blur(1 - mask, 1.0))
    loss = (ux * torch.sin(vx.detach())).sum() + (uy ** 2).sum() + (ux * uy).mean()
    return (ux, uy, *torch.autograd.grad(loss, (vx, vy, params)))


@pytest.mark.parametrize("rows, cols, seed, obstacle, sweeps",
                         [(50, 75, 0, True, 50), (20, 30, 1, True, 50), (16, 16, 2, False, 50), (24, 33, 3, True, 7),
                          (12, 19, 4, True, 1)])
def test_values_and_gradients_equal_the_notebooks_projection(ns, rows, cols, seed, obstacle, sweeps):
    case = _case(ns, rows, cols, seed, obstacle)
    ref = _values_and_gradients(ns, lambda *a: ns["project_jacobi"](*a, sweeps=sweeps), *case)
    new = _values_and_gradients(ns, lambda *a: wing_fast.project_jacobi(*a, sweeps, 1.0), *case)
    for name, r, n in zip(("vx", "vy", "dL/dvx", "dL/dvy", "dL/dparams"), ref, new):
        scale = r.abs().max()
        assert (r - n).abs().max() <= 1e-12 * scale, f"{name} differs by {((r - n).abs().max() / scale).item():.2e}"
    assert new[4][case[3] == 0].abs().max() == 0        # no gradient outside the obstacle's region


def test_forward_without_a_graph_gives_the_same_bits(ns):
    vx, vy, params, region = _case(ns, 30, 40, 5, True)
    mask = ns["squash"](params) * region
    with_graph = wing_fast.project_jacobi(vx, vy, mask, gaussian_blur(1 - mask, 1.0))
    with torch.no_grad():
        without = wing_fast.project_jacobi(vx, vy, mask, gaussian_blur(1 - mask, 1.0))
    assert all(torch.equal(a.detach(), b) for a, b in zip(with_graph, without))


def test_bad_inputs_are_refused():
    f = torch.zeros(5, 6, dtype=torch.float64)
    with pytest.raises(ValueError):
        wing_fast.project_jacobi(f, torch.zeros(5, 7, dtype=torch.float64), f, f + 1)
    with pytest.raises(ValueError):
        wing_fast.project_jacobi(f, f, f, None)
    with pytest.raises(ValueError):
        wing_fast.project_jacobi(f, f, f, f + 1, sweeps=0)
    with pytest.raises(ValueError):
        wing_fast.project_jacobi(torch.zeros(5, dtype=torch.float64), f, f, f + 1)
    with pytest.raises(TypeError):
        wing_fast.usable("not a function")


def test_usable_accepts_the_reference_and_refuses_wrong_projections(ns):
    right = ns["project_jacobi"]
    assert wing_fast.usable(right, 50, 1.0)
    assert not wing_fast.usable(right, 49, 1.0)           # a different number of sweeps is another projection
    fill, ddx, ddy, neighbours = ns["fill_obstacle"], ns["ddx"], ns["ddy"], ns["neighbour_sum"]

    def no_quarter(vx, vy, mask, open_blur, sweeps=50):
        d = fill(-(ddx(vx) + ddy(vy)), mask, open_blur)
        p = torch.zeros_like(vx)
        for _ in range(sweeps):
            p = fill(d + neighbours(p), mask, open_blur)
        return (vx - ddx(p)) * (1 - mask), (vy - ddy(p)) * (1 - mask)

    def flipped(vx, vy, mask, open_blur, sweeps=50):
        ux, uy = right(vx, vy, mask, open_blur, sweeps)
        return 2 * vx * (1 - mask) - ux, 2 * vy * (1 - mask) - uy

    def broken(vx, vy, mask, open_blur):
        raise RuntimeError("not written yet")

    for wrong in (no_quarter, flipped, broken, lambda vx, vy, mask, open_blur: (vx, vy)):
        assert not wing_fast.usable(wrong, 50, 1.0)


def test_the_notebook_simulates_with_the_twin_only_for_a_right_projection(ns, monkeypatch):
    calls = []
    twin = ns["fast_jacobi"]
    monkeypatch.setitem(ns, "fast_jacobi", lambda *a: calls.append(1) or twin(*a))
    mask = ns["squash"](torch.full((20, 30), -1.0, dtype=torch.float64)) * ns["design_region"](20, 30)
    with torch.no_grad():
        fast = ns["simulate"](mask, steps=3)
    assert len(calls) == 3 + 1                             # the first projection and one per step

    right = ns["project_jacobi"]

    def wrong(vx, vy, mask, open_blur, sweeps=50):        # the right projection, then a wrong sign
        ux, uy = right(vx, vy, mask, open_blur, sweeps)
        return ux, -uy
    monkeypatch.setitem(ns, "project_jacobi", wrong)
    with torch.no_grad():
        slow = ns["simulate"](mask, steps=3, project=wrong)
    assert len(calls) == 4                                 # the student's function ran, not the twin
    assert not torch.allclose(slow[1], fast[1])
