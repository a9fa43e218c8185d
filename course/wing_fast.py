"""The Jacobi pressure projection of notebook 09's wind tunnel, its backward written out: a fast path.

Notebook 09 (wings) projects the velocity with the student's `project_jacobi`: 50 Jacobi sweeps,
each refilling the obstacle with a blur of the open air (eqs. (6), (10)); gradient ascent then
differentiates through 20 simulation steps of it, so autograd records and replays about 17 small
operations per sweep, 1,000 sweeps per simulation. The sweeps are linear in the pressure p:

    a_k = (d + N p_{k-1}) / 4,   s_k = (1 - m) a_k,   p_k = s_k + w B s_k,   w = m / G(1 - m),

with N the periodic four-neighbour sum (symmetric) and B the blur X -> B_rows X B_cols^T, so their
adjoint is as short: with G_k = dL/dp_k and B^T the adjoint X -> B_rows^T X B_cols,

    g_s = G_k + B^T (w G_k),   dL/dw += G_k B s_k,   dL/d(1 - m) += g_s a_k,
    g_a = (1 - m) g_s,       dL/dd += g_a / 4,      G_{k-1} = N g_a / 4.

`project_jacobi` computes the notebook's projection with the sweeps as one autograd node (`_Sweeps`),
the rest (divergence, the first fill, the gradient step and the occlusion) as ordinary operations.
It equals the reference to float64 rounding, values and gradients with respect to the velocity and
the mask (tests/test_wing_fast.py); the notebook uses it only when the student's `project_jacobi`
gives its answers on a probe (`usable`). Plumbing, not the lesson.
"""
from __future__ import annotations

import torch

from . import validate
from .blur import blur_matrix

__all__ = ["project_jacobi", "usable"]


def _central(f, dim):
    # periodic central difference along dim (columns: 1, rows: 0), in grid units
    return 0.5 * (torch.roll(f, -1, dims=dim) - torch.roll(f, 1, dims=dim))


class _Halo:
    """A (rows, cols) field kept inside a (rows + 2, cols + 2) buffer with its periodic halo: write the field
    into `inner`, call `wrap()`, and `neighbours()` gives N of the field, (up + down) + (left + right),
    read from shifted views of the buffer: no rolled or concatenated copies of the whole field."""

    def __init__(self, like):
        self.buf = like.new_zeros(like.shape[0] + 2, like.shape[1] + 2)
        b = self.buf
        self.inner = b[1:-1, 1:-1]
        self._shifted = (b[:-2, 1:-1], b[2:, 1:-1], b[1:-1, :-2], b[1:-1, 2:])
        self._copies = ((b[0, 1:-1], b[-2, 1:-1]), (b[-1, 1:-1], b[1, 1:-1]),
                        (b[1:-1, 0], b[1:-1, -2]), (b[1:-1, -1], b[1:-1, 1]))

    def wrap(self):
        for halo, edge in self._copies:
            halo.copy_(edge)

    def neighbours(self):
        up, down, left, right = self._shifted
        return torch.add(up, down).add_(torch.add(left, right))


class _Sweeps(torch.autograd.Function):
    """p_K of `sweeps` Jacobi sweeps from p_0 = 0 (see the module docstring); backward by the adjoint.

    The quarter of a_k is folded into the products (open_air / 4 and the neighbour sum of g_a / 4: exact
    scalings by a power of two), so x_k = 4 a_k is what the sweep keeps."""

    @staticmethod
    def forward(ctx, d, open_air, w, rows, cols, sweeps):
        cols_t = cols.T.contiguous()
        quarter_open = open_air * 0.25
        p = _Halo(d)                        # p_0 = 0
        x_all, b_all = [], []
        keep = ctx.needs_input_grad[1] or ctx.needs_input_grad[2]
        for _ in range(sweeps):
            x = p.neighbours().add_(d)                      # 4 a_k = d + N p_{k-1}
            s = quarter_open * x
            b = torch.mm(torch.mm(rows, s), cols_t)
            torch.addcmul(s, w, b, out=p.inner)             # p_k = s_k + w B s_k
            p.wrap()
            if keep:
                x_all.append(x), b_all.append(b)
        ctx.save_for_backward(open_air, w, rows, cols)
        ctx.x_all, ctx.b_all, ctx.sweeps, ctx.quarter_open = x_all, b_all, sweeps, quarter_open
        return p.inner.clone()

    @staticmethod
    def backward(ctx, grad_p):
        open_air, w, rows, cols = ctx.saved_tensors
        rows_t = rows.T.contiguous()
        quarter_open = ctx.quarter_open
        need_d, need_oa, need_w = ctx.needs_input_grad[:3]
        g = grad_p
        g_d = torch.zeros_like(g)           # sums g_a / 4
        g_oa = torch.zeros_like(g) if need_oa else None
        g_w = torch.zeros_like(g) if need_w else None
        g_a = _Halo(g)                      # g_a / 4, with its halo
        for k in range(ctx.sweeps - 1, -1, -1):
            if need_w:
                g_w.addcmul_(g, ctx.b_all[k])
            g_s = torch.addmm(g, torch.mm(rows_t, w * g), cols)    # the adjoint of X -> B_rows X B_cols^T
            if need_oa:
                g_oa.addcmul_(g_s, ctx.x_all[k], value=0.25)        # dL/d(1 - m) += g_s a_k
            torch.mul(quarter_open, g_s, out=g_a.inner)
            g_d.add_(g_a.inner)
            if k:
                g_a.wrap()
                g = g_a.neighbours()                               # N is symmetric
        ctx.x_all = ctx.b_all = ctx.quarter_open = None
        return (g_d if need_d else None), g_oa, g_w, None, None, None


def project_jacobi(vx, vy, mask, open_blur, sweeps=50, sigma=1.0):
    """The notebook's Jacobi projection (eqs. (3), (4), (9), (10), the fill of eq. (6) with blur `sigma`):
    (vx, vy) with most of the divergence removed, zero where mask = 1. All (rows, cols) tensors;
    open_blur = gaussian_blur(1 - mask, sigma)."""
    validate.tensor_2d("vx", vx, "(rows, cols)")
    for name, x in (("vy", vy), ("mask", mask), ("open_blur", open_blur)):
        if not isinstance(x, torch.Tensor) or x.shape != vx.shape:
            raise ValueError(f"{name} must be a tensor of vx's shape {tuple(vx.shape)}, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    validate.positive_int("sweeps", sweeps)
    rows = blur_matrix(vx.shape[0], sigma, device=vx.device, dtype=vx.dtype)
    cols = blur_matrix(vx.shape[1], sigma, device=vx.device, dtype=vx.dtype)
    open_air = 1.0 - mask
    w = mask / open_blur
    f = -(_central(vx, 1) + _central(vy, 0))
    s = open_air * f
    d = s + w * (rows @ s @ cols.T)                     # the fill of eq. (6) on -div
    p = _Sweeps.apply(d, open_air, w, rows, cols, int(sweeps))
    return (vx - _central(p, 1)) * open_air, (vy - _central(p, 0)) * open_air


def _probe_case(rows, cols, seed, obstacle):
    g = torch.Generator().manual_seed(seed)
    vx, vy = (torch.randn(rows, cols, generator=g, dtype=torch.float64) for _ in range(2))
    mask = torch.zeros(rows, cols, dtype=torch.float64)
    if obstacle:
        mask[rows // 3: rows // 3 + 4, 3: cols - 5] = torch.rand(4, cols - 8, generator=g, dtype=torch.float64)
        mask[rows // 3 + 1, 5: cols - 7] = 1.0
    return vx, vy, mask


def _probe(fn, sweeps, sigma):
    from .blur import gaussian_blur
    for rows, cols, seed, obstacle in [(12, 17, 1, True), (10, 9, 2, False)]:
        vx, vy, mask = _probe_case(rows, cols, seed, obstacle)
        open_blur = gaussian_blur(1.0 - mask, sigma)
        try:
            with torch.no_grad():
                got = fn(vx, vy, mask, open_blur)
        except Exception:       # noqa: BLE001 - any failure: not the reference
            return False
        with torch.no_grad():
            want = project_jacobi(vx, vy, mask, open_blur, sweeps, sigma)
        if not (isinstance(got, tuple) and len(got) == 2 and all(isinstance(x, torch.Tensor) for x in got)):
            return False
        if not all(have.shape == ref.shape and torch.allclose(have, ref, rtol=1e-10, atol=1e-12)
                   for have, ref in zip(got, want)):
            return False
    return True


def usable(fn, sweeps=50, sigma=1.0):
    """True when the student's `fn(vx, vy, mask, open_blur)` gives this module's `project_jacobi` (with
    `sweeps` and `sigma`) on a probe, to 1e-10 in float64: then the notebook may take the fast twin."""
    validate.positive_int("sweeps", sweeps)
    return validate.matches_reference(f"wing_fast's project_jacobi ({sweeps} sweeps, sigma {sigma})", fn,
                                      _ProbeKey(sweeps, float(sigma)))


class _ProbeKey:
    # a hashable probe per (sweeps, sigma): matches_reference caches by (function, probe)
    _made: dict = {}

    def __new__(cls, sweeps, sigma):
        key = (sweeps, sigma)
        if key not in cls._made:
            obj = super().__new__(cls)
            obj.sweeps, obj.sigma = sweeps, sigma
            cls._made[key] = obj
        return cls._made[key]

    def __call__(self, fn):
        return _probe(fn, self.sweeps, self.sigma)
