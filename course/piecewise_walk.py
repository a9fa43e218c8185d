"""PCODE's read of a frame, and the GRU baseline's whole walk, as single autograd nodes (06_piecewise_node's speed path).

`gru_walk` runs the GRU baseline's walk (PCODE.read at every frame: the latent moved along its segment, then
nn.GRUCell's update) as one autograd node whose backward applies autograd's own kernels, summing every gradient in
its engine's order, so the numbers are the same bit for bit; `train_step` takes it only when the student's
`jumpy_frame` ticks at every frame as the solution does (`course.piecewise_fast.ticks_every_frame`) and the model
reads as PCODE does. `pcode_read` is one frame of it, PCODE.read as one node (the PC-ODE's frames in the student's
jumpy_frame, the rollouts). tests/test_piecewise_walk.py checks both with torch.equal.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F

from .gru_bptt import scripted      # a step loop as TorchScript, compiled once (the same aten kernels)

_sigmoid_backward = torch.ops.aten.sigmoid_backward
_tanh_backward = torch.ops.aten.tanh_backward


def _walk_forward(gates: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, c: float):
    # PCODE.read at every frame, op for op (tau = t - start, a = [z + c tau zdot, zdot], nn.GRUCell's update), its
    # states and what the backward needs in time-first buffers
    steps, batch, hidden = gates.shape[0], gates.shape[1], w_hh.shape[1]
    half = hidden // 2
    hs = gates.new_empty((steps, batch, hidden))
    av = gates.new_empty((steps, batch, hidden))
    ds = gates.new_empty((steps, batch, hidden))
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
        e = gates[t]
        gh = F.linear(a, w_hh, b_hh)
        r = torch.sigmoid(e[:, :half * 2] + gh[:, :half * 2])
        zg = torch.sigmoid(e[:, half * 2:half * 4] + gh[:, half * 2:half * 4])
        hn = gh[:, half * 4:]
        n = torch.tanh(e[:, half * 4:] + r * hn)
        d = ds[t]
        torch.sub(a, n, out=d)
        h = hs[t]
        torch.add(n, zg * d, out=h)
        start = gates.new_full((batch,), float(t))
        rs.append(r)
        zs.append(zg)
        ns.append(n)
        hns.append(hn)
        cts.append(ctau)
    return hs, av, ds, rs, zs, ns, hns, cts


def _walk_backward(grad_hs: torch.Tensor, av: torch.Tensor, ds: torch.Tensor, rs: List[torch.Tensor],
                   zs: List[torch.Tensor], ns: List[torch.Tensor], hns: List[torch.Tensor], cts: List[torch.Tensor],
                   w_hh: torch.Tensor):
    # the engine's order: reverse time; into h_t its stack share plus what frame t + 1 sends back (two terms), each
    # parameter's gradient summed frame T-1 first
    steps, batch, hidden = av.shape[0], av.shape[1], av.shape[2]
    half = hidden // 2
    g_gates = grad_hs.new_empty((steps, batch, 3 * hidden))
    g_gh = grad_hs.new_empty((batch, 3 * hidden))
    g_next = grad_hs.new_empty((batch, hidden))
    g_w = grad_hs.new_empty(0)
    g_b = grad_hs.new_empty(0)
    for k in range(steps):
        t = steps - 1 - k
        g = grad_hs[t]
        if k > 0:
            g = g + g_next
        r, zg, n, hn, d = rs[t], zs[t], ns[t], hns[t], ds[t]
        g_d = g * zg                                                   # h = n + z d
        g_z = g * d
        g_n = g + (-g_d)                                               # d = a - n
        g_zpre = torch.ops.aten.sigmoid_backward(g_z, zg)
        g_npre = torch.ops.aten.tanh_backward(g_n, n)                  # n = tanh(e_n + r hn)
        g_hn = g_npre * r
        g_r = g_npre * hn
        g_rpre = torch.ops.aten.sigmoid_backward(g_r, r)
        torch.cat([g_rpre, g_zpre, g_npre], -1, out=g_gates[t])
        torch.cat([g_rpre, g_zpre, g_hn], -1, out=g_gh)
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
        hs, av, ds, *saved = scripted(_walk_forward)(gates, w_hh, b_hh, float(c))
        ctx.save_for_backward(w_hh, av, ds)
        ctx.saved = saved
        return hs

    @staticmethod
    def backward(ctx, grad_hs):
        w_hh, av, ds = ctx.saved_tensors
        g_gates, g_w, g_b = scripted(_walk_backward)(grad_hs.contiguous(), av, ds, *ctx.saved, w_hh)
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


def _gru_forward(a, e, w_hh, b_hh):
    # PCODE.read's GRU update from the moved latent a, op for op: h' and what the backward needs
    er, ez, en = e.chunk(3, -1)
    hr, hz, hn = F.linear(a, w_hh, b_hh).chunk(3, -1)
    r, zg = torch.sigmoid(er + hr), torch.sigmoid(ez + hz)
    n = torch.tanh(en + r * hn)
    d = a - n
    return n + zg * d, (r, zg, n, hn, d)


def _gru_backward(g, a, r, zg, n, hn, d, w_hh, need_a, need_e, need_w, need_b):
    # one frame of _GRUWalk's backward: gradients of a, e, W_hh, b_hh (None where not needed)
    g_d = g * zg                                                       # h = n + z d
    g_z = g * d
    g_n = g + (-g_d)                                                   # d = a - n
    g_zpre = _sigmoid_backward(g_z, zg)
    g_npre = _tanh_backward(g_n, n)                                    # n = tanh(e_n + r hn)
    g_hn = g_npre * r
    g_r = g_npre * hn
    g_rpre = _sigmoid_backward(g_r, r)
    g_gh = torch.cat([g_rpre, g_zpre, g_hn], -1)
    return (g_d + g_gh.mm(w_hh) if need_a else None, torch.cat([g_rpre, g_zpre, g_npre], -1) if need_e else None,
            g_gh.t().mm(a) if need_w else None, g_gh.sum(0) if need_b else None)


class _Read(torch.autograd.Function):
    # one frame of PCODE.read: a = [z + c tau zdot, zdot], then the GRU update; the backward is one frame of _GRUWalk's
    @staticmethod
    def forward(ctx, h, tau, e, w_hh, b_hh, c):
        z, v = h.chunk(2, -1)
        ctau = c * tau[..., None]
        a = torch.cat([z + ctau * v, v.expand_as(z)], -1)
        out, saved = _gru_forward(a, e, w_hh, b_hh)
        ctx.save_for_backward(a, ctau, *saved, w_hh)
        return out

    @staticmethod
    def backward(ctx, g):
        a, ctau, r, zg, n, hn, d, w_hh = ctx.saved_tensors
        need = ctx.needs_input_grad
        g_a, g_e, g_w, g_b = _gru_backward(g, a, r, zg, n, hn, d, w_hh, need[0], need[2], need[3], need[4])
        g_h = None
        if need[0]:
            g_zz, g_vx = g_a.chunk(2, -1)
            g_h = torch.cat([g_zz, g_vx + g_zz * ctau], -1)
        return g_h, None, g_e, g_w, g_b, None


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
