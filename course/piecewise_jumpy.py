"""The PC-ODE's frames of notebook 06's training step (jumpy teacher forcing, eq. 3) as one autograd node.

`train_step` calls the student's `jumpy_frame` at every frame: a decision without a gradient (does the old segment,
one frame further, predict the next frame within eps?), PCODE.read, three torch.where. `jumpy_walk` runs all frames
of a PCODE in one TorchScript loop with the same operations (the same ticks and states, bit for bit) and a written-out
backward through time (the reads' backward as course.piecewise_walk's where the example ticked, the state passed on
where it kept its segment; gradients to float rounding). `train_step` takes it only when the student's jumpy_frame
gives the solution's answers and gradients on a probe (`follows_jumpy_frame`, course.validate.matches_reference);
a wrong one runs as written. tests/test_piecewise_jumpy.py checks both.
"""
from __future__ import annotations

from typing import List

import torch

from . import validate
from .gru_bptt import scripted      # a step loop as TorchScript, compiled once (the same aten kernels)
from .piecewise_fast import _every_case_passes, _probe_cases, _same_gradients
from .piecewise_walk import gru_update, gru_update_back


def _jumpy_forward(x: torch.Tensor, gates: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor, w1: torch.Tensor,
                   b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor, w3: torch.Tensor, b3: torch.Tensor,
                   w4: torch.Tensor, b4: torch.Tensor, c: float, eps: float, burn_in: int, max_segment: int):
    # notebook 06's jumpy_frame (its solution) at every frame of train_step, op for op: the decision from PCODE.predict
    # without a gradient (the ResMLP decoder's plain path), PCODE.read (pcode_read's operations), the three where
    steps, batch, hidden = gates.shape[0], gates.shape[1], w_hh.shape[1]
    half = hidden // 2
    hs = gates.new_empty((steps, batch, hidden))
    av = gates.new_empty((steps, batch, hidden))
    cts = gates.new_empty((steps, batch, 1))
    starts = gates.new_empty((steps, batch))
    x_ticks = x.new_empty((steps, batch, x.shape[2]))
    ticks = torch.ones((steps, batch), dtype=torch.bool, device=x.device)
    saved: List[List[torch.Tensor]] = []
    h = gates.new_zeros((batch, hidden))
    start = gates.new_zeros((batch,))
    x_tick = x[0]
    for t in range(steps):
        z, v = h[:, :half], h[:, half:]
        if t >= burn_in:
            tau = t + 1 - start
            u = torch.cat([z + c * tau.unsqueeze(-1) * v, c * v], -1)
            a1 = torch.addmm(b1, u, w1.t()).relu_()
            a1 = a1 + torch.addmm(b2, a1, w2.t()).relu_()
            a1 = a1 + torch.addmm(b3, a1, w3.t()).relu_()
            err = ((x_tick + torch.addmm(b4, a1, w4.t()) - x[t + 1]) ** 2).mean(-1)
            keep = err < eps
            if max_segment > 0:
                keep = keep & (tau <= max_segment)
            ticks[t] = ~keep
        tick = ticks[t]
        ctau = c * (t - start).unsqueeze(-1)
        cts[t] = ctau
        a = av[t]
        torch.cat([z + ctau * v, v], -1, out=a)
        h_new, r, zg, n, hn, d = gru_update(a, gates[t], w_hh, b_hh)
        h = torch.where(tick.unsqueeze(-1), h_new, h, out=hs[t])
        start = torch.where(tick, float(t), start)
        x_tick = torch.where(tick.unsqueeze(-1), x[t], x_tick)
        starts[t] = start
        x_ticks[t] = x_tick
        saved.append([r, zg, n, hn, d])
    return hs, starts, x_ticks, ticks, av, cts, saved


def _jumpy_backward(grad_hs: torch.Tensor, ticks: torch.Tensor, av: torch.Tensor, cts: torch.Tensor,
                    saved: List[List[torch.Tensor]], w_hh: torch.Tensor):
    # reverse time: h_t = where(tick, read(h_{t-1}), h_{t-1}); the read's backward as _walk_backward's, where it ticked
    steps, batch, hidden = av.shape[0], av.shape[1], av.shape[2]
    half = hidden // 2
    g_gates = grad_hs.new_empty((steps, batch, 3 * hidden))
    g_ghs = grad_hs.new_empty((steps, batch, 3 * hidden))
    g_next = grad_hs.new_zeros((batch, hidden))
    zero = grad_hs.new_zeros(())
    for k in range(steps):
        t = steps - 1 - k
        g_all = grad_hs[t] + g_next
        tick = ticks[t].unsqueeze(-1)
        g = torch.where(tick, g_all, zero)                             # into the read
        r, zg, n, hn, d = saved[t]
        g_d, g_e, g_gh = gru_update_back(g, r, zg, n, hn, d)
        g_gates[t] = g_e
        g_ghs[t] = g_gh
        if t > 0:                                                      # the first frame starts from zeros
            g_a = g_d + g_gh.mm(w_hh)
            g_zz = g_a[:, :half]
            g_prev = torch.where(tick, zero, g_all)                    # kept: the state passes through
            g_next = g_prev + torch.cat([g_zz, g_a[:, half:] + g_zz * cts[t]], -1)
    flat_gh = g_ghs.reshape(-1, 3 * hidden)
    return g_gates, flat_gh.t().mm(av.reshape(-1, hidden)), flat_gh.sum(0)


class _JumpyWalk(torch.autograd.Function):
    # train_step's frames with jumpy=True as one node: the decisions without a gradient (as jumpy_frame's no_grad), the
    # reads and the where; a written-out backward through time (gradients to float rounding, tests/test_piecewise_jumpy.py)
    @staticmethod
    def forward(ctx, x, gates, w_hh, b_hh, dec, c, eps, burn_in, max_segment):
        hs, starts, x_ticks, ticks, av, cts, saved = scripted(_jumpy_forward)(
            x, gates, w_hh, b_hh, *dec, float(c), float(eps), int(burn_in), int(max_segment))
        ctx.save_for_backward(w_hh, ticks.clone(), av, cts)           # train_step edits its ticks in place
        ctx.saved = saved
        ctx.mark_non_differentiable(starts, x_ticks, ticks)
        return hs, starts, x_ticks, ticks

    @staticmethod
    def backward(ctx, grad_hs, *_):
        w_hh, ticks, av, cts = ctx.saved_tensors
        g_gates, g_w, g_b = scripted(_jumpy_backward)(grad_hs.contiguous(), ticks, av, cts, ctx.saved, w_hh)
        return None, g_gates, g_w, g_b, None, None, None, None, None


def jumpy_walk(x: torch.Tensor, gates: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor, decoder, c: float,
               eps: float, burn_in: int, max_segment):
    """Notebook 06's train_step frames with jumpy=True (the lesson's jumpy_frame, eq. 3, at every frame of a PCODE)
    as one autograd node. Returns the stacked (states (T-1, B, H), starts (T-1, B), x_ticks (T-1, B, D), ticks
    (T-1, B) bool) of the loop, the same values bit for bit (the same operations: the decision from PCODE.predict
    without a gradient, PCODE.read, the three torch.where); the backward through time is written out (gradients to
    float rounding, tests/test_piecewise_jumpy.py). train_step takes it only when the student's jumpy_frame gives the
    solution's answers on a probe (`follows_jumpy_frame`).
    Args: x (T, B, D), gates (T-1, B, 3H) the input gates of every frame, weight_hh (3H, H), bias_hh (3H,), decoder
    the ResMLP (inp, res1, res2, out) with inp taking H, c the time constant, eps, burn_in, max_segment (None or 0: no cap).
    """
    if x.dim() != 3 or gates.dim() != 3 or gates.shape[:2] != (x.shape[0] - 1, x.shape[1]) \
            or weight_hh.shape[1] % 2 or gates.shape[2] != weight_hh.shape[0] or weight_hh.shape[0] != 3 * weight_hh.shape[1] \
            or bias_hh.shape != (weight_hh.shape[0],):
        raise ValueError(f"need x (T, B, D), gates (T-1, B, 3H), weight_hh (3H, H) with H even, bias_hh (3H,); got "
                         f"{tuple(x.shape)}, {tuple(gates.shape)}, {tuple(weight_hh.shape)}, {tuple(bias_hh.shape)}")
    layers = [getattr(decoder, name, None) for name in ("inp", "res1", "res2", "out")]
    if not all(isinstance(m, torch.nn.Linear) and m.bias is not None for m in layers) \
            or layers[0].in_features != weight_hh.shape[1] or layers[3].out_features != x.shape[2]:
        raise ValueError("decoder must be notebook 06's ResMLP (Linear layers inp, res1, res2, out) from H to D")
    dec = [p for m in layers for p in (m.weight, m.bias)]
    return _JumpyWalk.apply(x, gates, weight_hh, bias_hh, dec, c, eps, burn_in, max_segment or 0)


def _reference_jumpy_frame(model, h, start, x_tick, x, e, t, eps, jumpy=True, burn_in=4, max_segment=None):
    # notebook 06's jumpy_frame as its solution writes it (the reference of the probe below)
    if jumpy and t >= burn_in:
        tau = t + 1 - start
        with torch.no_grad():
            err = ((model.predict(h, x_tick, tau) - x[t + 1]) ** 2).mean(-1)
        keep = err < eps
        if max_segment:
            keep = keep & (tau <= max_segment)
    else:
        keep = torch.zeros(x.shape[1], dtype=torch.bool, device=x.device)
    tick = ~keep
    h_new = model.read(h, t - start, e[t])
    return (tick, torch.where(tick[:, None], h_new, h), torch.where(tick, float(t), start),
            torch.where(tick[:, None], x[t], x_tick))


def _probe_jumpy(fn) -> bool:
    def check(gen, model, x, t, h, gates, start, x_tick, burn_in, max_segment, eps):
        args = (model, h, start, x_tick, x, gates.unbind(0), t, eps, True, burn_in, max_segment)
        want, got = _reference_jumpy_frame(*args), fn(*args)
        return (len(got) == 4 and got[0].dtype == torch.bool
                and all(g.shape == w.shape and torch.equal(g, w) for g, w in zip(got, want))
                and _same_gradients(gen, h, gates, got[1], want[1]))
    return _every_case_passes(_probe_cases(1, 6, [(4, None, 3e-3), (0, 2, 1.0), (2, 16, 2.0), (0, None, 0.5),
                                                  (1, 3, 1e9)]), check)


def follows_jumpy_frame(jumpy_frame) -> bool:
    """Does notebook 06's `jumpy_frame` (the student's, eq. 3), called with jumpy=True, give the lesson's solution's
    ticks, states, starts and x_ticks, and the same gradients, on a probe (a toy model, several burn-ins, caps and
    tolerances)? Asked once per function (course.validate.matches_reference). `train_step` then runs the PC-ODE's
    frames as `jumpy_walk`; a function that answers otherwise runs as written.
    """
    return validate.matches_reference("jumpy_frame", jumpy_frame, _probe_jumpy)
