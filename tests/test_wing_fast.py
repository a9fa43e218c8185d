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


# ------------------------------------------------ the sweeps against their first written form, bit for bit
def _neighbours_by_copies(p):
    v = torch.cat([p[-1:], p, p[:1]], 0)
    h = torch.cat([p[:, -1:], p, p[:, :1]], 1)
    return (v[:-2] + v[2:]) + (h[:, :-2] + h[:, 2:])


class _FirstSweeps(torch.autograd.Function):
    # _Sweeps as first written (b3614fe): a_k stored, the quarter applied to a_k, N from concatenated copies
    @staticmethod
    def forward(ctx, d, open_air, w, rows, cols, sweeps):
        p, a_all, b_all = torch.zeros_like(d), [], []
        for _ in range(sweeps):
            a = torch.add(d, _neighbours_by_copies(p)).mul_(0.25)
            s = open_air * a
            b = torch.mm(torch.mm(rows, s), cols.T.contiguous())
            p = torch.addcmul(s, w, b)
            a_all.append(a), b_all.append(b)
        ctx.save_for_backward(open_air, w, rows, cols)
        ctx.a_all, ctx.b_all, ctx.sweeps = a_all, b_all, sweeps
        return p

    @staticmethod
    def backward(ctx, grad_p):
        open_air, w, rows, cols = ctx.saved_tensors
        g, g_d, g_oa, g_w = grad_p, *(torch.zeros_like(grad_p) for _ in range(3))
        for k in range(ctx.sweeps - 1, -1, -1):
            g_w.addcmul_(g, ctx.b_all[k])
            g_s = torch.addmm(g, torch.mm(rows.T.contiguous(), w * g), cols)
            g_oa.addcmul_(g_s, ctx.a_all[k])
            g_a = open_air * g_s
            g_d.add_(g_a)
            if k:
                g = _neighbours_by_copies(g_a).mul_(0.25)
        return g_d * 0.25, g_oa, g_w, None, None, None


@pytest.mark.parametrize("rows, cols, sweeps", [(50, 75, 50), (100, 150, 50), (1, 7, 5), (2, 3, 4), (7, 1, 3),
                                                (13, 17, 1), (33, 29, 9)])
def test_sweeps_give_the_bits_of_their_first_written_form(rows, cols, sweeps):
    from course.blur import blur_matrix
    g = torch.Generator().manual_seed(rows * cols + sweeps)
    d, w, grad_p = (torch.randn(rows, cols, generator=g, dtype=torch.float64) for _ in range(3))
    open_air = (torch.rand(rows, cols, generator=g, dtype=torch.float64) > 0.3) * torch.rand(rows, cols, generator=g,
                                                                                             dtype=torch.float64)
    b_rows, b_cols = blur_matrix(rows, 1.0), blur_matrix(cols, 1.0)
    results = []
    for sweep in (_FirstSweeps.apply, wing_fast._Sweeps.apply):
        inputs = [t.clone().requires_grad_(True) for t in (d, open_air, w)]
        p = sweep(*inputs, b_rows, b_cols, sweeps)
        results.append((p, *torch.autograd.grad(p, inputs, grad_p)))
    for name, first, now in zip(("p", "dL/dd", "dL/d(1 - m)", "dL/dw"), *results):
        assert torch.equal(first, now), name
    with torch.no_grad():       # no graph: the same forward
        assert torch.equal(wing_fast._Sweeps.apply(d, open_air, w, b_rows, b_cols, sweeps), results[0][0])


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 1), (2, 2), (6, 9)])
def test_halo_neighbour_sum_is_the_periodic_four_neighbour_sum(shape):
    p = torch.randn(*shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    halo = wing_fast._Halo(p)
    halo.inner.copy_(p)
    halo.wrap()
    rolled = (torch.roll(p, 1, 0) + torch.roll(p, -1, 0)) + (torch.roll(p, 1, 1) + torch.roll(p, -1, 1))
    assert torch.equal(halo.neighbours(), rolled)
    assert torch.equal(halo.neighbours(), _neighbours_by_copies(p))
