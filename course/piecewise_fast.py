"""A fast path for notebook 06's training step: the decoder at two elapsed times, with a hand-written backward.

`train_step` in 06_piecewise_node decodes every state of the walk twice after it: at the elapsed time of the
segment that holds (the predictions of the loss) and at zero elapsed time (the "no time, no change" term):

    model.change(H, tau)   and   model.change(H, 0),   change(h, tau) = dec([z + c tau zdot, c zdot])

with the paper's residual ReLU decoder, dec(u) = out(h3), h1 = relu(inp(u)), h2 = h1 + relu(res1(h1)),
h3 = h2 + relu(res2(h2)). `decode_pair` returns the same two tensors, computed in one pass:

- the first layer is affine in tau: inp([z + c tau zdot, c zdot]) = inp([z, c zdot]) + tau * c * W_z zdot, where W_z
  is the block of inp's weight that multiplies z, so both elapsed times share one product (and a half-width one);
- the two halves run the remaining layers as one stacked batch;
- its backward is written out (torch.autograd.Function): the ReLUs' backward by aten's threshold_backward on their
  kept outputs (as autograd does), each residual gradient
  accumulated in place into the matrix product (addmm_), no graph of small nodes to walk.

It gives the same values and gradients as the plain autograd code to float rounding (tests/test_piecewise_fast.py
checks both in float64 and float32); it does not change what is computed. Notebook 06 teaches the plain version.

The same for the other pieces of 06's models: `resmlp_body` (the ResMLP's three residual ReLU layers as one node; the
notebook's training gives the same weights bit for bit), `rk4_along` (the ODE-RNN baseline's RK4 step, the same
values, gradients to float rounding), and `ticks_every_frame`: whether the student's `jumpy_frame` with jumpy=False
ticks at every frame as the solution does (a probe, course.validate.matches_reference), so that `train_step` may run
the GRU's and the ODE-RNN's frames without its decisions (the same numbers, bit for bit). The GRU baseline's whole walk
and PCODE.read as single autograd nodes live in `course.piecewise_walk`.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

from . import validate

_threshold_backward = torch.ops.aten.threshold_backward      # relu's own backward kernel (g where x > 0, else 0)


def _check(decoder, h, tau):
    for name in ("inp", "res1", "res2", "out"):
        if not isinstance(getattr(decoder, name, None), torch.nn.Linear):
            raise ValueError(f"decoder must be notebook 06's ResMLP (Linear layers inp, res1, res2, out), it has no {name}")
    if h.shape[-1] % 2 or h.shape[-1] != decoder.inp.in_features:
        raise ValueError(f"h must have an even last dim equal to the decoder's input {decoder.inp.in_features}, "
                         f"got shape {tuple(h.shape)}")
    if tau.shape != h.shape[:-1]:
        raise ValueError(f"tau must have shape h.shape[:-1] = {tuple(h.shape[:-1])}, got {tuple(tau.shape)}")


class _DecodePair(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, tau, c, w1, b1, w2, b2, w3, b3, w4, b4):
        n, half = h.shape[0], h.shape[1] // 2
        z, v = h[:, :half], h[:, half:]
        u = torch.cat([z, c * v], -1)                                  # the decoder's input at tau = 0
        base = torch.addmm(b1, u, w1.t())                              # inp at tau = 0
        slope = torch.mm(v, w1[:, :half].t()).mul_(c)                  # d inp / d tau = c W_z zdot
        a1 = torch.cat([torch.addcmul(base, tau[:, None], slope), base])   # rows: tau, then 0
        h1 = a1.relu_()
        r2 = torch.addmm(b2, h1, w2.t()).relu_()                      # the ReLUs' outputs are kept: their
        h2 = r2 + h1                                                   # backward is aten's threshold_backward
        r3 = torch.addmm(b3, h2, w3.t()).relu_()
        h3 = r3 + h2
        out = torch.addmm(b4, h3, w4.t())
        ctx.save_for_backward(u, v, tau, w1, w2, w3, w4, h1, h2, h3, r2, r3)
        ctx.c = c
        return out[:n], out[n:]

    @staticmethod
    def backward(ctx, g_tau, g_zero):
        u, v, tau, w1, w2, w3, w4, h1, h2, h3, r2, r3 = ctx.saved_tensors
        c, n, half = ctx.c, u.shape[0], v.shape[1]
        g_out = torch.cat([g_tau, g_zero])
        gw4, gb4 = g_out.t().mm(h3), g_out.sum(0)
        g = g_out.mm(w4)                                               # d loss / d h3
        ga = _threshold_backward(g, r3, 0)                             # g where the ReLU passed, else 0
        gw3, gb3 = ga.t().mm(h2), ga.sum(0)
        g.addmm_(ga, w3)                                               # d / d h2: residual + through res2
        ga = _threshold_backward(g, r2, 0)
        gw2, gb2 = ga.t().mm(h1), ga.sum(0)
        g.addmm_(ga, w2)                                               # d / d h1
        g = _threshold_backward(g, h1, 0)                              # d / d a1
        g_at, g_base = g[:n], g[n:]
        g_slope = g_at * tau[:, None]
        g_base = g_base + g_at                                         # base feeds both halves
        gw1 = g_base.t().mm(u)
        gw1[:, :half].addmm_(g_slope.t(), v, alpha=c)                  # slope = c v W_z^T
        gb1 = g_base.sum(0)
        g_u = g_base.mm(w1)
        g_v = g_slope.mm(w1[:, :half]).mul_(c).add_(g_u[:, half:], alpha=c)
        g_h = torch.cat([g_u[:, :half], g_v], -1)
        return g_h, None, None, gw1, gb1, gw2, gb2, gw3, gb3, gw4, gb4


def decode_pair(decoder, h: torch.Tensor, tau: torch.Tensor, c: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Notebook 06's `change(h, tau)` and `change(h, 0)` for a ResMLP decoder, in one pass with a written-out backward.

    Args:
        decoder: the ResMLP (Linear layers inp, res1, res2, out) of a PC-ODE (06_piecewise_node, eq. 2).
        h: latent states [z, zdot], shape (..., rnn).
        tau: elapsed time of each state's segment, shape h.shape[:-1].
        c: the time constant (PCODE.c).
    Returns:
        (decoded change at tau, decoded change at tau = 0), each of shape (..., D).
    """
    _check(decoder, h, tau)
    lead = h.shape[:-1]
    flat_h, flat_tau = h.reshape(-1, h.shape[-1]), tau.reshape(-1).to(h.dtype)
    p = decoder
    at_tau, at_zero = _DecodePair.apply(flat_h, flat_tau, float(c), p.inp.weight, p.inp.bias, p.res1.weight,
                                        p.res1.bias, p.res2.weight, p.res2.bias, p.out.weight, p.out.bias)
    return at_tau.reshape(*lead, -1), at_zero.reshape(*lead, -1)


def decode_pair_reference(decoder, h: torch.Tensor, tau: torch.Tensor, c: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The same two tensors with plain autograd, written as notebook 06 writes them (for tests)."""
    def dec(x):
        a = F.relu(decoder.inp(x))
        a = a + F.relu(decoder.res1(a))
        a = a + F.relu(decoder.res2(a))
        return decoder.out(a)
    z, v = h.chunk(2, -1)
    return dec(torch.cat([z + c * tau[..., None] * v, c * v], -1)), dec(torch.cat([z, c * v], -1))


def _rk4_stages(v: torch.Tensor, s: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor,
                b2: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                           torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                           torch.Tensor]:
    # RK4's four evaluations of f(x) = W2 tanh(W1 x + b1) + b2 from v over s, as notebook 06's ODERNN.along writes them:
    # (k1, k2, k3, k4, x2, x3, x4, t1, t2, t3, t4), x the stages' inputs and t their tanh (TorchScript-able, shared
    # with course.piecewise_walk's ODE-RNN walk)
    t1 = torch.tanh(F.linear(v, w1, b1))
    k1 = F.linear(t1, w2, b2)
    x2 = v + s / 2 * k1
    t2 = torch.tanh(F.linear(x2, w1, b1))
    k2 = F.linear(t2, w2, b2)
    x3 = v + s / 2 * k2
    t3 = torch.tanh(F.linear(x3, w1, b1))
    k3 = F.linear(t3, w2, b2)
    x4 = v + s * k3
    t4 = torch.tanh(F.linear(x4, w1, b1))
    k4 = F.linear(t4, w2, b2)
    return k1, k2, k3, k4, x2, x3, x4, t1, t2, t3, t4


def _rk4_back(gz: torch.Tensor, gv: torch.Tensor, s: torch.Tensor, c: float, t1: torch.Tensor, t2: torch.Tensor,
              t3: torch.Tensor, t4: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor) -> Tuple[
        torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
        torch.Tensor, torch.Tensor]:
    # the backward of z' = z + c s (v + s/6 (k1 + k2 + k3)), v' = v + s/6 (k1 + 2 k2 + 2 k3 + k4) from (gz, gv):
    # (d / d v, d / d k1..k4, d / d (W1 x + b1) of the four stages); d / d z is gz
    s6, s2 = s / 6, s / 2
    gb = gz * (c * s)                                                  # d / d (v + s/6 (k1 + k2 + k3)) in z_out
    g_v = gb + gv
    d3 = gb * s6                                                       # d / d (k1 + k2 + k3)
    dk = gv * s6                                                       # d / d (k1 + 2 k2 + 2 k3 + k4)
    g4 = dk
    g3 = d3 + 2 * dk
    g2 = g3.clone()
    g1 = d3 + dk
    a4 = g4.mm(w2).mul_(1 - t4 * t4)                                   # through k = W2 tanh(W1 x + b1) + b2
    dx = a4.mm(w1)                                                     # d / d x4 = v + s k3
    g_v += dx
    g3 += s * dx
    a3 = g3.mm(w2).mul_(1 - t3 * t3)
    dx = a3.mm(w1)                                                     # x3 = v + s/2 k2
    g_v += dx
    g2 += s2 * dx
    a2 = g2.mm(w2).mul_(1 - t2 * t2)
    dx = a2.mm(w1)                                                     # x2 = v + s/2 k1
    g_v += dx
    g1 += s2 * dx
    a1 = g1.mm(w2).mul_(1 - t1 * t1)
    g_v += a1.mm(w1)                                                   # k1 = f(v)
    return g_v, g1, g2, g3, g4, a1, a2, a3, a4


class _RK4Along(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, v, s, c, w1, b1, w2, b2):
        # the same operations, in the same order, as notebook 06's ODERNN.along (the same values)
        k1, k2, k3, k4, x2, x3, x4, t1, t2, t3, t4 = _rk4_stages(v, s, w1, b1, w2, b2)
        z_out = z + c * s * (v + s / 6 * (k1 + k2 + k3))
        v_out = v + s / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ctx.save_for_backward(s, w1, w2, v, x2, x3, x4, t1, t2, t3, t4)
        ctx.c = c
        return z_out, v_out

    @staticmethod
    def backward(ctx, gz, gv):
        s, w1, w2, v, x2, x3, x4, t1, t2, t3, t4 = ctx.saved_tensors
        g_v, g1, g2, g3, g4, a1, a2, a3, a4 = _rk4_back(gz, gv, s, ctx.c, t1, t2, t3, t4, w1, w2)
        g_out, t_all = torch.cat([g1, g2, g3, g4]), torch.cat([t1, t2, t3, t4])
        a_all, x_all = torch.cat([a1, a2, a3, a4]), torch.cat([v, x2, x3, x4])
        return (gz, g_v, None, None, a_all.t().mm(x_all), a_all.sum(0), g_out.t().mm(t_all), g_out.sum(0))


def rk4_along(f, h: torch.Tensor, tau: torch.Tensor, c: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Notebook 06's ODE-RNN latent moved by one RK4 step over tau, with a written-out backward (one autograd node).

    The baseline's latent h = [z, zdot] follows dz/ds = c zdot, dzdot/ds = f(zdot) with f = Linear, Tanh, Linear:
    k1 = f(v), k2 = f(v + tau/2 k1), k3 = f(v + tau/2 k2), k4 = f(v + tau k3), z' = z + c tau (v + tau/6 (k1 + k2 +
    k3)), v' = v + tau/6 (k1 + 2 k2 + 2 k3 + k4). The forward runs the notebook's operations (the same values); the
    gradients agree with autograd's to float rounding (tests/test_piecewise_fast.py).
    Args: f (nn.Sequential(Linear(m, m'), Tanh, Linear(m', m))), h (..., 2m), tau (h.shape[:-1]), c the time constant.
    Returns: (z', v'), each of shape (..., m).
    """
    if not (isinstance(f, torch.nn.Sequential) and len(f) == 3 and isinstance(f[0], torch.nn.Linear)
            and isinstance(f[1], torch.nn.Tanh) and isinstance(f[2], torch.nn.Linear)):
        raise ValueError("f must be notebook 06's ODE function nn.Sequential(Linear, Tanh, Linear)")
    if h.shape[-1] % 2 or h.shape[-1] // 2 != f[0].in_features or f[2].out_features != f[0].in_features:
        raise ValueError(f"h must have an even last dim, twice f's width {f[0].in_features}, got shape {tuple(h.shape)}")
    if tau.shape != h.shape[:-1]:
        raise ValueError(f"tau must have shape h.shape[:-1] = {tuple(h.shape[:-1])}, got {tuple(tau.shape)}")
    lead, half = h.shape[:-1], h.shape[-1] // 2
    flat = h.reshape(-1, h.shape[-1])
    z, v = flat[:, :half], flat[:, half:]
    s = tau.reshape(-1, 1).to(h.dtype)
    z_out, v_out = _RK4Along.apply(z, v, s, float(c), f[0].weight, f[0].bias, f[2].weight, f[2].bias)
    return z_out.reshape(*lead, half), v_out.reshape(*lead, half)


def rk4_along_reference(f, h: torch.Tensor, tau: torch.Tensor, c: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The same with plain autograd, as notebook 06's ODERNN.along wrote it before the fast path (for tests)."""
    z, v = h.chunk(2, -1)
    s = tau[..., None]
    k1 = f(v)
    k2 = f(v + s / 2 * k1)
    k3 = f(v + s / 2 * k2)
    k4 = f(v + s * k3)
    z = z + c * s * (v + s / 6 * (k1 + k2 + k3))
    v = v + s / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z, v


class _ProbeModel:
    # a small differentiable stand-in for a PC-ODE: read mixes h, tau and the input gates e; predict continues x_tick
    rnn = 6

    def read(self, h, tau, e):
        return torch.tanh(0.7 * h + e[:, :6] * e[:, 6:12] - e[:, 12:] + 0.1 * tau[:, None])

    def predict(self, h, x_tick, tau):
        return x_tick + tau[..., None] * h[..., :x_tick.shape[-1]]


def _probe_cases(seed: int, batch: int, settings):
    # the probes' inputs: a toy model and, at every frame t of a random sequence and each (burn_in, max_segment, eps)
    # of settings, a state h and input gates that take gradients, segment starts and their x_tick
    model, gen = _ProbeModel(), torch.Generator().manual_seed(seed)
    T, D = 8, 3
    x = torch.randn(T, batch, D, generator=gen)
    for t in range(T - 1):
        for burn_in, max_segment, eps in settings:
            h = torch.randn(batch, model.rnn, generator=gen).requires_grad_(True)
            gates = torch.randn(T - 1, batch, 18, generator=gen).requires_grad_(True)
            start = torch.randint(0, t + 1, (batch,), generator=gen).float()
            yield gen, model, x, t, h, gates, start, x[start.long(), torch.arange(batch)], burn_in, max_segment, eps


def _same_gradients(gen, h, gates, got_h, want_h) -> bool:
    # the gradients of a random projection of the returned state into h and the gates: the same bits?
    w = torch.randn(want_h.shape, generator=gen)
    got = torch.autograd.grad((got_h * w).sum(), (h, gates), allow_unused=True)
    want = torch.autograd.grad((want_h * w).sum(), (h, gates))
    return all(g is not None and torch.equal(g, r) for g, r in zip(got, want))


def _every_case_passes(cases, check) -> bool:
    # a probe's verdict: check(*case) is true for every case; a function that raises on one is not the reference
    for case in cases:
        try:
            if not check(*case):
                return False
        except Exception:
            return False
    return True


def _probe_every_frame(fn) -> bool:
    B = 5

    def check(gen, model, x, t, h, gates, start, x_tick, burn_in, max_segment, eps):
        want_h = model.read(h, t - start, gates.unbind(0)[t])
        tick, h_out, start_out, x_tick_out = fn(model, h, start, x_tick, x, gates.unbind(0), t, eps, False,
                                                burn_in, max_segment)
        return (tick.dtype == torch.bool and tick.shape == (B,) and bool(tick.all())
                and torch.equal(h_out, want_h) and torch.equal(start_out, torch.full((B,), float(t)))
                and torch.equal(x_tick_out, x[t]) and _same_gradients(gen, h, gates, h_out, want_h))
    return _every_case_passes(_probe_cases(0, B, [(4, None, 3e-3), (0, 2, 1e9), (2, 16, 1e9), (0, None, 1e9)]), check)


def ticks_every_frame(jumpy_frame) -> bool:
    """Does notebook 06's `jumpy_frame` (the student's, eq. 3), called with jumpy=False, tick every example at every
    frame as the lesson's solution does: tick all, h = model.read(h, t - start, e[t]), start = t, x_tick = x[t], the
    same values and the same gradients on a probe? Asked once per function (course.validate.matches_reference).
    `train_step` then runs the GRU's and the ODE-RNN's frames (jumpy=False) without the decisions' torch.where: the
    same numbers, bit for bit; a function that answers otherwise runs as written.
    """
    return validate.matches_reference("jumpy_frame", jumpy_frame, _probe_every_frame)


class _Body(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2, w3, b3):
        h1 = torch.addmm(b1, x, w1.t()).relu_()
        r2 = torch.addmm(b2, h1, w2.t()).relu_()
        h2 = h1 + r2
        r3 = torch.addmm(b3, h2, w3.t()).relu_()
        h3 = h2 + r3
        ctx.save_for_backward(x, w1, w2, w3, h1, h2, r2, r3)
        return h3

    @staticmethod
    def backward(ctx, g):
        x, w1, w2, w3, h1, h2, r2, r3 = ctx.saved_tensors
        ga = _threshold_backward(g, r3, 0)
        gw3, gb3 = ga.t().mm(h2), ga.sum(0)
        g = torch.addmm(g, ga, w3)                                     # d / d h2: residual + through res2
        ga = _threshold_backward(g, r2, 0)
        gw2, gb2 = ga.t().mm(h1), ga.sum(0)
        g = g.addmm_(ga, w2)                                           # d / d h1
        ga = _threshold_backward(g, h1, 0)
        g_x = ga.mm(w1) if ctx.needs_input_grad[0] else None
        return g_x, ga.t().mm(x), ga.sum(0), gw2, gb2, gw3, gb3


def resmlp_body(mlp, x: torch.Tensor) -> torch.Tensor:
    """Notebook 06's ResMLP.body, h1 = relu(inp(x)), h2 = h1 + relu(res1(h1)), h3 = h2 + relu(res2(h2)), in one
    autograd node with a written-out backward (the same values; gradients to float rounding, tests/test_piecewise_fast.py).
    Args: mlp (a ResMLP: Linear layers inp, res1, res2), x (..., n_in). Returns h3 (..., width)."""
    for name in ("inp", "res1", "res2"):
        if not isinstance(getattr(mlp, name, None), torch.nn.Linear):
            raise ValueError(f"mlp must be notebook 06's ResMLP (Linear layers inp, res1, res2, out), it has no {name}")
    if x.shape[-1] != mlp.inp.in_features:
        raise ValueError(f"x must have last dim {mlp.inp.in_features} (the ResMLP's input), got shape {tuple(x.shape)}")
    lead = x.shape[:-1]
    if not (torch.is_grad_enabled() and (x.requires_grad or mlp.inp.weight.requires_grad)):   # no graph: plain ops
        h = torch.addmm(mlp.inp.bias, x.reshape(-1, x.shape[-1]), mlp.inp.weight.t()).relu_()
        h = h + torch.addmm(mlp.res1.bias, h, mlp.res1.weight.t()).relu_()
        return (h + torch.addmm(mlp.res2.bias, h, mlp.res2.weight.t()).relu_()).reshape(*lead, -1)
    out = _Body.apply(x.reshape(-1, x.shape[-1]), mlp.inp.weight, mlp.inp.bias, mlp.res1.weight, mlp.res1.bias,
                      mlp.res2.weight, mlp.res2.bias)
    return out.reshape(*lead, -1)
