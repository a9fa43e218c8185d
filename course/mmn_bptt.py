"""The Moore machine network of 12_finite_state (eq. 4) run with a written-out backward: a GRU policy with
quantised bottlenecks (QBNs) on its memory and/or features inside the loop (12's speed path, with `course.gru_bptt`).

`run_mmn(obs, h0, features, cell, hqbn, fqbn)` does what `course.gru_bptt.run` does for the Moore machine network of
eq. (4), with quantised bottlenecks (QBNs: encoder, ternary code with its straight-through gradient, decoder) on the memory
and/or the features inside the loop; the notebook calls it only when the student's `ternary_tanh` gives
`reference_ternary`'s exact values and gradients on a probe (`pick_ternary`), so a wrong answer still runs.
From two rows on it takes the folded form too (same bits): features and the observation QBN before the recurrence
(the QBN step by step in TorchScript: its small products batched over steps change bits), the cell's input linear
once, the recurrence with the memory QBN forward and backward as TorchScript loops, the GRU's parameter-gradient
parts at once. A fine-tuning step of 12 (Adam, 64 x 31, B_h = 8) took about 30 -> 23 ms CPU (one thread).
Neither covers an h_0 that needs a gradient (12 keeps the step-by-step loop there).
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import validate
from .gru_bptt import (_cell, _check, _gru_param_grads, _qbn_backward, _qbn_forward, _sigmoid_backward, _steps_backward,
                       _steps_forward, _tanh_backward, _threshold_backward, scripted)


def reference_ternary(x):
    """12's eq. (2): round(1.5 tanh x + 0.5 tanh(-3x)) with the smooth function's straight-through gradient."""
    y = 1.5 * torch.tanh(x) + 0.5 * torch.tanh(-3 * x)
    return y + (torch.round(y) - y).detach()


def _probe_ternary(fn):
    g = torch.Generator().manual_seed(4321)
    for dtype in (torch.float32, torch.float64):
        x = torch.cat([torch.linspace(-3, 3, 601, dtype=dtype), 2 * torch.randn(97, 5, generator=g, dtype=dtype).flatten(),
                       torch.tensor([0.0, -0.0, 0.5493, -0.5493, 1e-8, 20.0, -20.0], dtype=dtype)])
        ws = torch.randn(x.shape, generator=g, dtype=dtype)
        out = []
        for f in (fn, reference_ternary):
            xi = x.clone().requires_grad_(True)
            try:
                y = f(xi)
                if not (torch.is_tensor(y) and y.shape == xi.shape and y.dtype == dtype and y.requires_grad):
                    return False
                (gx,) = torch.autograd.grad((y * ws).sum(), xi)
            except Exception:       # noqa: BLE001 - any failure: not the reference
                return False
            out.append((y.detach(), gx))
        if not (torch.equal(out[0][0], out[1][0]) and torch.equal(out[0][1], out[1][1])):
            return False
    return True


def pick_ternary(fn):
    """True if `fn` gives `reference_ternary`'s exact values and gradients on a probe (cached per function)."""
    return validate.matches_reference("pick_ternary's ternary function", fn, _probe_ternary)


def _qbn_params(q):
    e, d = q.enc, q.dec
    return [e[0].weight, e[0].bias, e[2].weight, e[2].bias, d[0].weight, d[0].bias, d[2].weight, d[2].bias]


def _qbn_fits(q):
    try:
        e, d = q.enc, q.dec
    except AttributeError:
        return False
    if not (isinstance(e, nn.Sequential) and isinstance(d, nn.Sequential) and len(e) == 3 and len(d) in (3, 4)):
        return False
    if not (isinstance(e[0], nn.Linear) and isinstance(e[1], nn.Tanh) and isinstance(e[2], nn.Linear)
            and isinstance(d[0], nn.Linear) and isinstance(d[1], nn.Tanh) and isinstance(d[2], nn.Linear)):
        return False
    if len(d) == 4 and not isinstance(d[3], (nn.Tanh, nn.Identity)):
        return False
    return all(m.bias is not None for m in (e[0], e[2], d[0], d[2]))


class _MMNRun(torch.autograd.Function):
    @staticmethod
    def forward(ctx, obs, h0, flags, *params):
        has_h, has_f, h_tanh, f_tanh = flags
        w_f, b_f, w_ih, w_hh, b_ih, b_hh = params[:6]
        hp = params[6:14] if has_h else None
        fp = params[14:22] if has_h and has_f else params[6:14] if has_f else None
        h, h_saved = (_qbn_forward(h0, hp, h_tanh) if has_h else (h0, None))
        hs, steps = [h], []
        for x in obs.unbind(1):
            f = torch.relu(F.linear(x, w_f, b_f))
            fq, f_saved = _qbn_forward(f, fp, f_tanh) if has_f else (f, None)
            c, inner = _cell(fq, h, w_ih, w_hh, b_ih, b_hh)
            h, q_saved = _qbn_forward(c, hp, h_tanh) if has_h else (c, None)
            steps.append((x, f, fq, inner, f_saved, q_saved))
            hs.append(h)
        ctx.save_for_backward(w_f, w_ih, w_hh)
        ctx.steps, ctx.hs, ctx.h_saved, ctx.flags, ctx.qp = steps, hs, h_saved, flags, (hp, fp)
        return torch.stack(hs, 1)

    @staticmethod
    def backward(ctx, grad_hs):
        w_f, w_ih, w_hh = ctx.saved_tensors
        has_h, has_f, h_tanh, f_tanh = ctx.flags
        hp, fp = ctx.qp
        hs, steps = ctx.hs, ctx.steps
        acc = [None] * 6
        acc_h = [None] * 8
        acc_f = [None] * 8

        def add(a, parts, at=0):
            for k, q in enumerate(parts, at):
                a[k] = q if a[k] is None else a[k] + q

        g_sub = g_mm = None
        for t in range(len(steps) - 1, -1, -1):
            x, f, fq, (r, z, n, hn, d), f_saved, q_saved = steps[t]
            g = grad_hs[:, t + 1]
            if g_sub is not None:
                g = g + g_sub
                g = g + g_mm
            if has_h:
                parts, g = _qbn_backward(g, q_saved, hp, h_tanh, True)
                add(acc_h, parts)
            g_d = g * z
            g_z = g * d
            g_n = g + (-g_d)
            g_zpre = _sigmoid_backward(g_z, z)
            g_npre = _tanh_backward(g_n, n)
            g_hn = g_npre * r
            g_r = g_npre * hn
            g_rpre = _sigmoid_backward(g_r, r)
            g_gi = torch.cat([g_rpre, g_zpre, g_npre], 1)
            g_gh = torch.cat([g_rpre, g_zpre, g_hn], 1)
            g_f = g_gi.mm(w_ih)
            h_in = hs[t]
            add(acc, (g_gi.t().mm(fq), g_gh.t().mm(h_in), g_gi.sum(0), g_gh.sum(0)), 2)
            if has_f:
                parts, g_f = _qbn_backward(g_f, f_saved, fp, f_tanh, True)
                add(acc_f, parts)
            g_fpre = _threshold_backward(g_f, f, 0)
            add(acc, (g_fpre.t().mm(x), g_fpre.sum(0)))
            g_sub, g_mm = g_d, g_gh.mm(w_hh)
        if has_h:
            g = grad_hs[:, 0]
            if g_sub is not None:
                g = g + g_sub
                g = g + g_mm
            parts, _ = _qbn_backward(g, ctx.h_saved, hp, h_tanh, False)
            add(acc_h, parts)
        return (None, None, None, *acc, *(acc_h if has_h else ()), *(acc_f if has_f else ()))


def _qbn_steps_forward(xs: torch.Tensor, p: List[torch.Tensor], out_tanh: bool):
    # _qbn_forward on every step of xs (T, n, dim), one step at a time (batching its small products changes bits)
    outs: List[torch.Tensor] = []
    saved: List[List[torch.Tensor]] = []
    for x in xs.unbind(0):
        o, sv = _qbn_forward(x, p, out_tanh)
        outs.append(o)
        saved.append(sv)
    return torch.stack(outs), saved


def _qbn_steps_backward(g_all: torch.Tensor, saved: List[List[torch.Tensor]], p: List[torch.Tensor], out_tanh: bool):
    # _qbn_backward on every step, last step first, its parameter gradients summed in that order (_MMNRun's)
    acc: List[torch.Tensor] = []
    g_in: List[torch.Tensor] = []
    steps = len(saved)
    for k in range(steps):
        t = steps - 1 - k
        parts, g = _qbn_backward(g_all[t], saved[t], p, out_tanh, True)
        if k == 0:
            acc = parts
        else:
            acc = [a + q for a, q in zip(acc, parts)]
        assert g is not None
        g_in.append(g)
    g_in.reverse()
    return acc, torch.stack(g_in)


class _MMNRunFolded(torch.autograd.Function):
    # _MMNRun with fewer kernel calls and the same bits (as _GRURunFolded for the plain GRU), for batches of two or
    # more and at least one step: the features (and the observation QBN, step by step) before the recurrence, the
    # cell's input linear once over all steps, the recurrence with the memory QBN forward and backward as
    # TorchScript loops, the GRU's parameter-gradient parts at once (bmm, sums) added in _MMNRun's order
    @staticmethod
    def forward(ctx, obs, h0, flags, *params):
        has_h, has_f, h_tanh, f_tanh = flags
        w_f, b_f, w_ih, w_hh, b_ih, b_hh = params[:6]
        hp = list(params[6:14]) if has_h else []
        fp = list(params[14:22] if has_h and has_f else params[6:14]) if has_f else []
        fs = torch.stack([torch.relu(F.linear(x, w_f, b_f)) for x in obs.unbind(1)])     # (T, n, F)
        fqs, f_saved = scripted(_qbn_steps_forward)(fs, fp, f_tanh) if has_f else (fs, [])
        hs, inner, q_saved, h_saved = scripted(_steps_forward)(F.linear(fqs, w_ih, b_ih), h0, w_hh, b_hh,
                                                                     hp, has_h, h_tanh)
        ctx.save_for_backward(obs, fs, fqs, w_ih, w_hh)
        ctx.hs, ctx.saved, ctx.flags, ctx.qp = hs, (inner, q_saved, h_saved, f_saved), flags, (hp, fp)
        return torch.stack(hs, 1)

    @staticmethod
    def backward(ctx, grad_hs):
        obs, fs, fqs, w_ih, w_hh = ctx.saved_tensors
        has_h, has_f, h_tanh, f_tanh = ctx.flags
        hp, fp = ctx.qp
        inner, q_saved, h_saved, f_saved = ctx.saved
        steps, three_h = fs.shape[0], w_hh.shape[0]
        g_gi, g_gh, acc_h = scripted(_steps_backward)(grad_hs, inner, q_saved, h_saved, w_hh, hp, has_h, h_tanh)
        g_f = g_gi.reshape(-1, three_h).mm(w_ih).reshape(fs.shape)
        acc_f = []
        if has_f:
            acc_f, g_f = scripted(_qbn_steps_backward)(g_f, f_saved, fp, f_tanh)
        g_fpre = _threshold_backward(g_f, fs, 0)
        return (None, None, None, *_gru_param_grads(obs, g_fpre, g_gi, g_gh, fqs, ctx.hs), *acc_h, *acc_f)


def fits_mmn(hqbn, fqbn) -> bool:
    """True if the given QBNs (None: no bottleneck there) have the structure `run_mmn` writes out."""
    return all(q is None or _qbn_fits(q) for q in (hqbn, fqbn))


def run_mmn(obs, h0, features, cell, hqbn=None, fqbn=None):
    """12's GRUPolicy.run with QBNs inside the loop (eq. 4), with its backward written out.

    h = hqbn(h0); for every t: f_t = relu(features(x_t)), f_t = fqbn(f_t), h = hqbn(cell(f_t, h)); returns the
    memories (n, T + 1, hidden), the first one first. The QBNs' code is `reference_ternary` (check a student's
    function with `pick_ternary` before calling this in its place). Values and gradients bit-identical to autograd.
    """
    _check(obs, h0, features, cell, "run_mmn")
    if not fits_mmn(hqbn, fqbn):
        raise ValueError("hqbn and fqbn must be None or QBNs with enc = (Linear, Tanh, Linear) and "
                         "dec = (Linear, Tanh, Linear[, Tanh | Identity]), all with biases")
    tanh_out = lambda q: len(q.dec) == 4 and isinstance(q.dec[3], nn.Tanh)
    flags = (hqbn is not None, fqbn is not None, hqbn is not None and tanh_out(hqbn), fqbn is not None and tanh_out(fqbn))
    params = [features.weight, features.bias, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    for q in (hqbn, fqbn):
        if q is not None:
            params += _qbn_params(q)
    fn = _MMNRunFolded if obs.shape[0] >= 2 and obs.shape[1] >= 1 else _MMNRun
    return fn.apply(obs, h0, flags, *params)
