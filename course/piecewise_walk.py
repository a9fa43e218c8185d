"""PCODE's read of a frame, and the baselines' whole walks, as single autograd nodes (06_piecewise_node's speed path).

`gru_walk` runs the GRU baseline's walk (PCODE.read at every frame: the latent moved along its segment, then
nn.GRUCell's update) as one autograd node whose backward applies autograd's own kernels, summing every gradient in
its engine's order, so the numbers are the same bit for bit; `train_step` takes it only when the student's
`jumpy_frame` ticks at every frame as the solution does (`course.piecewise_fast.ticks_every_frame`) and the model
reads as PCODE does. `pcode_read` is one frame of it, PCODE.read as one node (the student's jumpy_frame on models
that train_step does not walk in one node, the rollouts). tests/test_piecewise_walk.py checks both with torch.equal.
`odernn_walk` is the ODE-RNN baseline's walk (its RK4 move, then the same GRU update): the same states bit for bit,
its backward through time written out (gradients to float rounding). The PC-ODE's jumpy frames: course.piecewise_jumpy.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F

from .gru_bptt import scripted      # a step loop as TorchScript, compiled once (the same aten kernels)
from .piecewise_fast import _rk4_back, _rk4_stages


def gru_update(a: torch.Tensor, e: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> Tuple[
        torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """PCODE.read's GRU update (nn.GRUCell's equations) from the moved latent a (B, H) and the input gates e (B, 3H),
    op for op: (h', r, z, n, hn, d) with d = a - n and h' = n + z d, what its backward (`gru_update_back`) needs."""
    hidden = a.shape[1]
    gh = F.linear(a, w_hh, b_hh)
    r = torch.sigmoid(e[:, :hidden] + gh[:, :hidden])
    zg = torch.sigmoid(e[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
    hn = gh[:, 2 * hidden:]
    n = torch.tanh(e[:, 2 * hidden:] + r * hn)
    d = a - n
    return n + zg * d, r, zg, n, hn, d


def gru_update_back(g: torch.Tensor, r: torch.Tensor, zg: torch.Tensor, n: torch.Tensor, hn: torch.Tensor,
                    d: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`gru_update`'s backward from the gradient g of h' with autograd's own kernels: (d / d a's direct part g z,
    d / d e, d / d (W_hh a + b_hh)); d / d a is then g z + (d / d gh) W_hh."""
    g_d = g * zg                                                       # h = n + z d
    g_z = g * d
    g_n = g + (-g_d)                                                   # d = a - n
    g_zpre = torch.ops.aten.sigmoid_backward(g_z, zg)
    g_npre = torch.ops.aten.tanh_backward(g_n, n)                      # n = tanh(e_n + r hn)
    g_hn = g_npre * r
    g_rpre = torch.ops.aten.sigmoid_backward(g_npre * hn, r)
    return g_d, torch.cat([g_rpre, g_zpre, g_npre], -1), torch.cat([g_rpre, g_zpre, g_hn], -1)


def _walk_forward(gates: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, c: float):
    # PCODE.read at every frame, op for op (tau = t - start, a = [z + c tau zdot, zdot], nn.GRUCell's update), its
    # states and what the backward needs in time-first buffers
    steps, batch, hidden = gates.shape[0], gates.shape[1], w_hh.shape[1]
    half = hidden // 2
    hs = gates.new_empty((steps, batch, hidden))
    av = gates.new_empty((steps, batch, hidden))
    ds: List[torch.Tensor] = []
    rs: List[torch.Tensor] = []
    zs: List[torch.Tensor] = []
    ns: List[torch.Tensor] = []
    hns: List[torch.Tensor] = []
    cts: List[torch.Tensor] = []
    h = gates.new_zeros((batch, hidden))
    start = gates.new_zeros((batch,))
    for t in range(steps):
        tau = t - start
        ctau = c * tau.unsqueeze(-1)
        a = av[t]
        torch.add(h[:, :half], ctau * h[:, half:], out=a[:, :half])
        a[:, half:] = h[:, half:]
        h_new, r, zg, n, hn, d = gru_update(a, gates[t], w_hh, b_hh)
        hs[t] = h_new
        h = hs[t]
        start = gates.new_full((batch,), float(t))
        ds.append(d)
        rs.append(r)
        zs.append(zg)
        ns.append(n)
        hns.append(hn)
        cts.append(ctau)
    return hs, av, ds, rs, zs, ns, hns, cts


def _walk_backward(grad_hs: torch.Tensor, av: torch.Tensor, ds: List[torch.Tensor], rs: List[torch.Tensor],
                   zs: List[torch.Tensor], ns: List[torch.Tensor], hns: List[torch.Tensor], cts: List[torch.Tensor],
                   w_hh: torch.Tensor):
    # the engine's order: reverse time; into h_t its stack share plus what frame t + 1 sends back (two terms), each
    # parameter's gradient summed frame T-1 first
    steps, batch, hidden = av.shape[0], av.shape[1], av.shape[2]
    half = hidden // 2
    g_gates = grad_hs.new_empty((steps, batch, 3 * hidden))
    g_next = grad_hs.new_empty((batch, hidden))
    g_w = grad_hs.new_empty(0)
    g_b = grad_hs.new_empty(0)
    for k in range(steps):
        t = steps - 1 - k
        g = grad_hs[t]
        if k > 0:
            g = g + g_next
        g_d, g_e, g_gh = gru_update_back(g, rs[t], zs[t], ns[t], hns[t], ds[t])
        g_gates[t] = g_e
        p_w = g_gh.t().mm(av[t])
        p_b = g_gh.sum(0)
        if k == 0:
            g_w, g_b = p_w, p_b
        else:
            g_w = g_w + p_w
            g_b = g_b + p_b
        if t > 0:                                                      # the first frame starts from zeros
            g_a = g_d + g_gh.mm(w_hh)
            g_zz = g_a[:, :half]
            g_next[:, :half] = g_zz
            torch.add(g_a[:, half:], g_zz * cts[t], out=g_next[:, half:])
    return g_gates, g_w, g_b


class _GRUWalk(torch.autograd.Function):
    # every frame of the walk: tau = t - start (0 at the first frame, then 1), a = [z + c tau zdot, zdot], the GRU
    # update; the backward applies autograd's own kernels in its engine's order (reverse time, each parameter's
    # gradient summed step T-1 first), so the gradients are bit for bit the plain loop's
    @staticmethod
    def forward(ctx, gates, w_hh, b_hh, c):
        hs, av, *saved = scripted(_walk_forward)(gates, w_hh, b_hh, float(c))
        ctx.save_for_backward(w_hh, av)
        ctx.saved = saved
        return hs

    @staticmethod
    def backward(ctx, grad_hs):
        w_hh, av = ctx.saved_tensors
        g_gates, g_w, g_b = scripted(_walk_backward)(grad_hs.contiguous(), av, *ctx.saved, w_hh)
        return g_gates, g_w, g_b, None


def gru_walk(gates: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor, c: float) -> torch.Tensor:
    """Notebook 06's GRU baseline walk (PCODE with jumpy=False, a tick at every frame) as one autograd node.

    From h = 0 and start = 0, for every frame t: h = PCODE.read(h, t - start, gates[t]) (eq. 1's move along the
    segment, then nn.GRUCell's update from the precomputed input gates), start = t. Returns all states (T, B, H)
    as torch.stack of the loop's. The forward runs the notebook's operations (the same values); the backward applies
    the kernels autograd would (sigmoid_backward, tanh_backward, addmm's products) and sums every gradient in its
    engine's order: the gradients are bit for bit the plain loop's (tests/test_piecewise_fast.py).
    Args: gates (T, B, 3H), weight_hh (3H, H), bias_hh (3H,), c the time constant; H even.
    """
    if gates.dim() != 3 or weight_hh.dim() != 2 or weight_hh.shape[1] % 2 or gates.shape[2] != weight_hh.shape[0] \
            or weight_hh.shape[0] != 3 * weight_hh.shape[1] or bias_hh.shape != (weight_hh.shape[0],):
        raise ValueError(f"need gates (T, B, 3H), weight_hh (3H, H) with H even, bias_hh (3H,); got "
                         f"{tuple(gates.shape)}, {tuple(weight_hh.shape)}, {tuple(bias_hh.shape)}")
    return _GRUWalk.apply(gates, weight_hh, bias_hh, c)


class _Read(torch.autograd.Function):
    # one frame of PCODE.read: a = [z + c tau zdot, zdot], then the GRU update; the backward is one frame of _GRUWalk's
    @staticmethod
    def forward(ctx, h, tau, e, w_hh, b_hh, c):
        z, v = h.chunk(2, -1)
        ctau = c * tau[..., None]
        a = torch.cat([z + ctau * v, v.expand_as(z)], -1)
        out, r, zg, n, hn, d = gru_update(a, e, w_hh, b_hh)
        ctx.save_for_backward(ctau, r, zg, n, hn, d, a, w_hh)
        return out

    @staticmethod
    def backward(ctx, g):
        ctau, r, zg, n, hn, d, a, w_hh = ctx.saved_tensors
        need = ctx.needs_input_grad
        g_d, g_e, g_gh = gru_update_back(g, r, zg, n, hn, d)
        g_h = None
        if need[0]:
            g_zz, g_vx = (g_d + g_gh.mm(w_hh)).chunk(2, -1)
            g_h = torch.cat([g_zz, g_vx + g_zz * ctau], -1)
        return (g_h, None, g_e if need[2] else None, g_gh.t().mm(a) if need[3] else None, g_gh.sum(0) if need[4] else None,
                None)


def pcode_read(h: torch.Tensor, tau: torch.Tensor, e: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor,
               c: float):
    """Notebook 06's PCODE.read (eq. 1's move by tau along the segment, then nn.GRUCell's update from the input
    gates e) as one autograd node: the notebook's operations forward, autograd's own kernels backward, the same
    numbers bit for bit (tests/test_piecewise_fast.py). None where it does not apply (tau with a gradient, other
    shapes): the caller then runs its plain code. Args: h (B, H), tau (B,), e (B, 3H), weight_hh (3H, H), bias_hh."""
    if (not isinstance(tau, torch.Tensor) or tau.requires_grad or h.dim() != 2 or tau.shape != h.shape[:1]
            or e.shape != (h.shape[0], 3 * h.shape[1]) or weight_hh.shape != (3 * h.shape[1], h.shape[1])
            or h.shape[1] % 2 or tau.dtype != h.dtype):
        return None
    return _Read.apply(h, tau, e, weight_hh, bias_hh, c)


def _ode_walk_forward(gates: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, w1: torch.Tensor,
                      b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor, c: float):
    # ODERNN.read at every frame, op for op: tau = t - start, RK4 over tau (piecewise_fast._RK4Along's forward),
    # a = [z', v'], nn.GRUCell's update; the states and what the backward needs in time-first buffers
    steps, batch, hidden = gates.shape[0], gates.shape[1], w_hh.shape[1]
    half = hidden // 2
    hs = gates.new_empty((steps, batch, hidden))
    av = gates.new_empty((steps, batch, hidden))
    ss = gates.new_empty((steps, batch, 1))
    saved: List[List[torch.Tensor]] = []
    h = gates.new_zeros((batch, hidden))
    start = gates.new_zeros((batch,))
    for t in range(steps):
        s = (t - start).reshape(-1, 1)
        ss[t] = s
        v = h[:, half:]
        k1, k2, k3, k4, x2, x3, x4, t1, t2, t3, t4 = _rk4_stages(v, s, w1, b1, w2, b2)
        a = av[t]
        torch.add(h[:, :half], c * s * (v + s / 6 * (k1 + k2 + k3)), out=a[:, :half])
        torch.add(v, s / 6 * (k1 + 2 * k2 + 2 * k3 + k4), out=a[:, half:])
        h_new, r, zg, n, hn, d = gru_update(a, gates[t], w_hh, b_hh)
        hs[t] = h_new
        h = hs[t]
        start = gates.new_full((batch,), float(t))
        saved.append([r, zg, n, hn, d, x2, x3, x4, t1, t2, t3, t4])       # v: hs[t - 1]'s (a view of an output: not kept here)
    return hs, av, ss, saved


def _ode_walk_backward(grad_hs: torch.Tensor, hs: torch.Tensor, av: torch.Tensor, ss: torch.Tensor,
                       saved: List[List[torch.Tensor]], w_hh: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, c: float):
    # reverse time: the GRU update's backward, then RK4's (piecewise_fast._RK4Along's) into the previous state; every
    # parameter's per-frame parts kept and reduced once at the end (frame 0: RK4 over 0 from zeros, no parts)
    steps, batch, hidden = av.shape[0], av.shape[1], av.shape[2]
    half = hidden // 2
    g_gates = grad_hs.new_empty((steps, batch, 3 * hidden))
    g_ghs = grad_hs.new_empty((steps, batch, 3 * hidden))
    g_ks: List[torch.Tensor] = []                                      # d / d k of each stage
    a_ks: List[torch.Tensor] = []                                      # d / d (W1 x + b1) of each stage
    x_ks: List[torch.Tensor] = []
    t_ks: List[torch.Tensor] = []
    g_next = grad_hs.new_zeros((batch, hidden))
    for k in range(steps):
        t = steps - 1 - k
        r, zg, n, hn, d, x2, x3, x4, t1, t2, t3, t4 = saved[t]
        g_d, g_e, g_gh = gru_update_back(grad_hs[t] + g_next, r, zg, n, hn, d)
        g_gates[t] = g_e
        g_ghs[t] = g_gh
        if t > 0:
            g_a = g_d + g_gh.mm(w_hh)
            gz = g_a[:, :half]
            g_v, g1, g2, g3, g4, a1, a2, a3, a4 = _rk4_back(gz, g_a[:, half:], ss[t], c, t1, t2, t3, t4, w1, w2)
            g_ks.extend([g1, g2, g3, g4])
            a_ks.extend([a1, a2, a3, a4])
            x_ks.extend([hs[t - 1][:, half:], x2, x3, x4])
            t_ks.extend([t1, t2, t3, t4])
            g_next = torch.cat([gz, g_v], -1)
    flat_gh = g_ghs.reshape(-1, 3 * hidden)
    if len(a_ks) == 0:                                                 # one frame: RK4 over 0 only
        g_w1, g_b1 = torch.zeros_like(w1), w1.new_zeros(w1.shape[0])
        g_w2, g_b2 = torch.zeros_like(w2), w2.new_zeros(w2.shape[0])
    else:
        a_all, g_all, t_all = torch.cat(a_ks), torch.cat(g_ks), torch.cat(t_ks)
        g_w1, g_b1 = a_all.t().mm(torch.cat(x_ks)), a_all.sum(0)
        g_w2, g_b2 = g_all.t().mm(t_all), g_all.sum(0)
    return g_gates, flat_gh.t().mm(av.reshape(-1, hidden)), flat_gh.sum(0), g_w1, g_b1, g_w2, g_b2


class _ODEWalk(torch.autograd.Function):
    # every frame of the ODE-RNN's walk: tau = t - start (0 at the first frame, then 1), RK4 over tau, the GRU update;
    # a written-out backward through time (the same gradients to float rounding: tests/test_piecewise_walk.py)
    @staticmethod
    def forward(ctx, gates, w_hh, b_hh, w1, b1, w2, b2, c):
        hs, av, ss, saved = scripted(_ode_walk_forward)(gates, w_hh, b_hh, w1, b1, w2, b2, float(c))
        ctx.save_for_backward(w_hh, w1, w2, hs, av, ss)
        ctx.saved, ctx.c = saved, float(c)
        return hs

    @staticmethod
    def backward(ctx, grad_hs):
        w_hh, w1, w2, hs, av, ss = ctx.saved_tensors
        grads = scripted(_ode_walk_backward)(grad_hs.contiguous(), hs, av, ss, ctx.saved, w_hh, w1, w2, ctx.c)
        return (*grads, None)


def odernn_walk(gates: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor, f, c: float) -> torch.Tensor:
    """Notebook 06's ODE-RNN baseline walk (ODERNN.read at every frame) as one autograd node.

    From h = 0 and start = 0, for every frame t: the latent h = [z, zdot] moved by one RK4 step over tau = t - start
    of dz/ds = c zdot, dzdot/ds = f(zdot) (piecewise_fast.rk4_along's operations), then nn.GRUCell's update from the
    precomputed input gates gates[t]; start = t. Returns all states (T, B, H), the values of the plain loop bit for
    bit; the backward through time is written out (gradients to float rounding, tests/test_piecewise_walk.py).
    Args: gates (T, B, 3H), weight_hh (3H, H), bias_hh (3H,), f nn.Sequential(Linear(H/2, m), Tanh, Linear(m, H/2)),
    c the time constant; H even.
    """
    if gates.dim() != 3 or weight_hh.dim() != 2 or weight_hh.shape[1] % 2 or gates.shape[2] != weight_hh.shape[0] \
            or weight_hh.shape[0] != 3 * weight_hh.shape[1] or bias_hh.shape != (weight_hh.shape[0],):
        raise ValueError(f"need gates (T, B, 3H), weight_hh (3H, H) with H even, bias_hh (3H,); got "
                         f"{tuple(gates.shape)}, {tuple(weight_hh.shape)}, {tuple(bias_hh.shape)}")
    half = weight_hh.shape[1] // 2
    if not (isinstance(f, torch.nn.Sequential) and len(f) == 3 and isinstance(f[0], torch.nn.Linear)
            and isinstance(f[1], torch.nn.Tanh) and isinstance(f[2], torch.nn.Linear)
            and f[0].bias is not None and f[2].bias is not None
            and f[0].in_features == half and f[2].out_features == half):
        raise ValueError(f"f must be notebook 06's ODE function nn.Sequential(Linear({half}, m), Tanh, Linear(m, {half}))")
    return _ODEWalk.apply(gates, weight_hh, bias_hh, f[0].weight, f[0].bias, f[2].weight, f[2].bias, c)
