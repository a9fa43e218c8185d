"""A GRU policy's sequence run with a written-out backward (12_finite_state's speed path).

`run(obs, h0, features, cell)` computes what 12's `GRUPolicy.run` computes without bottlenecks:
for every step t, f_t = relu(features(x_t)) and h_{t+1} = cell(f_t, h_t), returning all memories
(n, T + 1, hidden) with h_0 first. Autograd records about 17 nodes per step of that loop
(torch.gru_cell is a composite of linears, chunks and pointwise ops), and on small batches the
backward is dominated by that bookkeeping. Here the whole sequence is one autograd node whose
backward applies the same derivative kernels (aten's sigmoid_backward, tanh_backward,
threshold_backward, the same mm calls as addmm's backward) in the order autograd's engine applies
them, summing every gradient in the same order: the gradients are bit-identical to autograd's on
the loop (tests/test_gru_bptt.py checks it with torch.equal, and so does a short training).
From two rows on, `run` takes a folded form of that node with the same bits: the input linear once over
all steps, the step loops forward and backward as TorchScript functions (the same aten kernels without
Python between them), every step's parameter-gradient parts at once (bmm, sums over a time-first
buffer) and then added in the engine's order. On a 128 x 30 Tomita batch a forward and backward took
about 15.7 -> 11 ms (one thread; the recurrence's ~25 small kernels a step are what is left).

The memory-QBN step loops (`_steps_forward`, `_steps_backward`, with `_qbn_forward` / `_qbn_backward`)
live here because the plain run is their special case without a bottleneck; `course.mmn_bptt` runs them
with the QBNs of eq. (4).
"""
from __future__ import annotations

import warnings
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


_sigmoid_backward = torch.ops.aten.sigmoid_backward
_tanh_backward = torch.ops.aten.tanh_backward
_threshold_backward = torch.ops.aten.threshold_backward


def _gates(gi: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor):
    # torch.gru_cell's CPU composite (aten/src/ATen/native/RNN.cpp, GRUCell) after its input linear gi, op for op
    # and in place where it works in place (the gates' sigmoid on strided chunks): h' and (r, z, n, hn, h - n)
    ir, iz, i_n = gi.unsafe_chunk(3, 1)
    hr, hz, hn = F.linear(h, w_hh, b_hh).unsafe_chunk(3, 1)
    r = hr.add_(ir).sigmoid_()
    z = hz.add_(iz).sigmoid_()
    hn0 = hn.clone()
    n = i_n.add(hn.mul_(r)).tanh_()
    d = h - n
    return (d * z).add_(n), (r, z, n, hn0, d)


def _cell(f, h, w_ih, w_hh, b_ih, b_hh):
    # the GRU cell with its intermediates
    return _gates(F.linear(f, w_ih, b_ih), h, w_hh, b_hh)


class _GRURun(torch.autograd.Function):
    @staticmethod
    def forward(ctx, obs, h0, w_f, b_f, w_ih, w_hh, b_ih, b_hh):
        hs, fs, saved = [h0], [], []
        h = h0
        for x in obs.unbind(1):
            f = torch.relu(F.linear(x, w_f, b_f))
            h, inner = _cell(f, h, w_ih, w_hh, b_ih, b_hh)
            fs.append(f)
            saved.append(inner)
            hs.append(h)
        out = torch.stack(hs, 1)
        ctx.save_for_backward(obs, w_ih, w_hh)
        ctx.steps = (hs, fs, saved)
        return out

    @staticmethod
    def backward(ctx, grad_hs):
        obs, w_ih, w_hh = ctx.saved_tensors
        hs, fs, saved = ctx.steps
        need = ctx.needs_input_grad
        if need[0] or need[1]:
            raise RuntimeError("gru_bptt.run: no gradient for the observations or h_0 (use the step-by-step loop)")
        acc = [None] * 6                                   # w_f, b_f, w_ih, w_hh, b_ih, b_hh
        xs = obs.unbind(1)
        g_sub = g_mm = None                                # what step t + 1 sends to h_{t+1}
        for t in range(len(fs) - 1, -1, -1):
            g = grad_hs[:, t + 1]                          # the stack's share arrives first,
            if g_sub is not None:
                g = g + g_sub                              # then (h - n)'s, then the hidden linear's
                g = g + g_mm
            r, z, n, hn, d = saved[t]
            g_d = g * z                                    # out = d * z + n
            g_z = g * d
            g_n = g + (-g_d)                               # d = h - n
            g_zpre = _sigmoid_backward(g_z, z)
            g_npre = _tanh_backward(g_n, n)                # n = tanh(i_n + hn * r)
            g_hn = g_npre * r
            g_r = g_npre * hn
            g_rpre = _sigmoid_backward(g_r, r)
            g_gi = torch.cat([g_rpre, g_zpre, g_npre], 1)
            g_gh = torch.cat([g_rpre, g_zpre, g_hn], 1)
            f = fs[t]
            g_f = g_gi.mm(w_ih)
            g_fpre = _threshold_backward(g_f, f, 0)
            parts = (g_fpre.t().mm(xs[t]), g_fpre.sum(0), g_gi.t().mm(f), g_gh.t().mm(hs[t]),
                     g_gi.sum(0), g_gh.sum(0))
            for k, p in enumerate(parts):
                acc[k] = p if acc[k] is None else acc[k] + p
            g_sub, g_mm = g_d, g_gh.mm(w_hh)
        return (None, None, *acc)


def _gates_backward(g: torch.Tensor, r: torch.Tensor, z: torch.Tensor, n: torch.Tensor, hn: torch.Tensor,
                    d: torch.Tensor, g_gi: torch.Tensor, g_gh: torch.Tensor) -> torch.Tensor:
    # _GRURun.backward's step through _gates, op for op: the gates' gradients written into g_gi and g_gh (n, 3 hidden);
    # returns what h_t gets through h - n
    g_d = g * z
    g_z = g * d
    g_n = g + (-g_d)
    g_zpre = torch.ops.aten.sigmoid_backward(g_z, z)
    g_npre = torch.ops.aten.tanh_backward(g_n, n)
    g_hn = g_npre * r
    g_r = g_npre * hn
    g_rpre = torch.ops.aten.sigmoid_backward(g_r, r)
    torch.cat([g_rpre, g_zpre, g_npre], 1, out=g_gi)
    torch.cat([g_rpre, g_zpre, g_hn], 1, out=g_gh)
    return g_d


_SCRIPTED = {}


def scripted(fn):
    """The TorchScript twin of a step loop (the same aten kernels, without Python between them),
    compiled once; the Python function itself where TorchScript is unavailable. Shared with
    course.fast_gru (01) and course.piecewise_walk (06)."""
    if fn not in _SCRIPTED:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _SCRIPTED[fn] = torch.jit.script(fn)
        except Exception:       # noqa: BLE001 - no TorchScript here: the same loop in Python
            _SCRIPTED[fn] = fn
    return _SCRIPTED[fn]


def _gru_param_grads(obs, g_fpre, g_gi, g_gh, cell_in, hs):
    # the six GRU parameter gradients (features' weight and bias, then the cell's w_ih, w_hh, b_ih, b_hh) from every
    # step's gradients (time first): each step's parts at once (bmm, sums; the observation's K = obs_dim product per
    # step), then summed in the step-by-step engine's order (step T-1 first), all six in one flat vector per step
    steps = g_gi.shape[0]
    xs = obs.unbind(1)
    parts = (torch.stack([g_fpre[t].t().mm(xs[t]) for t in range(steps)]), g_fpre.sum(1),
             torch.bmm(g_gi.transpose(1, 2), cell_in), torch.bmm(g_gh.transpose(1, 2), torch.stack(hs[:-1])),
             g_gi.sum(1), g_gh.sum(1))
    flat = torch.cat([p.reshape(steps, -1) for p in parts], 1)
    acc = flat[steps - 1]
    for t in range(steps - 2, -1, -1):
        acc = acc + flat[t]
    out, at = [], 0
    for p in parts:
        size = p[0].numel()
        out.append(acc[at:at + size].view(p.shape[1:]))
        at += size
    return out


class _GRURunFolded(torch.autograd.Function):
    # _GRURun with fewer kernel calls and the same bits: the input linear runs once over all steps, the backward
    # steps through the recurrence only (its gradients written into one buffer per gate block), then computes
    # every step's parameter-gradient parts at once (one bmm per weight, one sum per bias) and adds them in
    # _GRURun's order (step T-1 first), all six in one flat vector per step. Row for row these batched kernels
    # give the per-step kernels' bits for batches of two or more (on one row mm becomes a gemv: `run` keeps the
    # step-by-step class there); the observation's own linear (a K = obs_dim product) stays per step.
    @staticmethod
    def forward(ctx, obs, h0, w_f, b_f, w_ih, w_hh, b_ih, b_hh):
        fs = torch.stack([torch.relu(F.linear(x, w_f, b_f)) for x in obs.unbind(1)])     # (T, n, F)
        hs, inner, _, _ = scripted(_steps_forward)(F.linear(fs, w_ih, b_ih), h0, w_hh, b_hh, [], False, False)
        ctx.save_for_backward(obs, fs, w_ih, w_hh)
        ctx.hs, ctx.inner = hs, inner
        return torch.stack(hs, 1)

    @staticmethod
    def backward(ctx, grad_hs):
        obs, fs, w_ih, w_hh = ctx.saved_tensors
        need = ctx.needs_input_grad
        if need[0] or need[1]:
            raise RuntimeError("gru_bptt.run: no gradient for the observations or h_0 (use the step-by-step loop)")
        steps, three_h = fs.shape[0], w_hh.shape[0]
        g_gi, g_gh, _ = scripted(_steps_backward)(grad_hs, ctx.inner, [], [], w_hh, [], False, False)
        g_fpre = _threshold_backward(g_gi.reshape(-1, three_h).mm(w_ih).reshape(fs.shape), fs, 0)
        return (None, None, *_gru_param_grads(obs, g_fpre, g_gi, g_gh, fs, ctx.hs))


def run(obs: torch.Tensor, h0: torch.Tensor, features: nn.Linear, cell: nn.GRUCell) -> torch.Tensor:
    """Memories (n, T + 1, hidden), h0 first, of h_{t+1} = cell(relu(features(x_t)), h_t).

    Args:
        obs: (n, T, obs_dim) float observations (no gradient).
        h0: (n, hidden) first memory (no gradient).
        features: the Linear(obs_dim, F) before the ReLU; cell: a GRUCell(F, hidden) with biases.
    Returns:
        the stacked memories; their backward is bit-identical to autograd's through the loop.
    """
    _check(obs, h0, features, cell, "run")
    fn = _GRURunFolded if obs.shape[0] >= 2 and obs.shape[1] >= 1 else _GRURun
    return fn.apply(obs, h0, features.weight, features.bias, cell.weight_ih, cell.weight_hh,
                         cell.bias_ih, cell.bias_hh)


def _check(obs, h0, features, cell, who):
    # the inputs run and run_mmn accept
    if not isinstance(features, nn.Linear) or not isinstance(cell, nn.GRUCell):
        raise ValueError(f"features must be an nn.Linear and cell an nn.GRUCell, got "
                         f"{type(features).__name__} and {type(cell).__name__}")
    if features.bias is None or cell.bias_ih is None:
        raise ValueError("features and cell must have biases")
    if not (torch.is_tensor(obs) and obs.dim() == 3 and obs.shape[-1] == features.in_features):
        raise ValueError(f"obs must be a tensor (n, T, {features.in_features}), got "
                         f"{tuple(obs.shape) if torch.is_tensor(obs) else type(obs).__name__}")
    if not (torch.is_tensor(h0) and tuple(h0.shape) == (obs.shape[0], cell.hidden_size)):
        raise ValueError(f"h0 must be a tensor ({obs.shape[0]}, {cell.hidden_size}), got "
                         f"{tuple(h0.shape) if torch.is_tensor(h0) else type(h0).__name__}")
    if obs.requires_grad or h0.requires_grad:
        raise ValueError(f"gru_bptt.{who} computes no gradient for obs or h0: detach them or use the loop")


# ---------------------------------------------------------------------------------------------------------
# The Moore machine network of 12's eq. (4): the same run with quantised bottlenecks (QBNs) inside the loop.
# A QBN here is a module with `enc` = Sequential(Linear, Tanh, Linear) and `dec` = Sequential(Linear, Tanh,
# Linear[, Tanh | Identity]) whose code is `reference_ternary` of the encoder's output (12's graded
# `ternary_tanh`, the notebook's solution op for op); `pick_ternary` says whether a student's function is it.

def _qbn_forward(x: torch.Tensor, p: List[torch.Tensor], out_tanh: bool) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    # QBN.forward op for op: dec(ternary(enc(x))), keeping what the backward needs
    w1, b1, w2, b2, w3, b3, w4, b4 = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
    t1 = torch.tanh(F.linear(x, w1, b1))
    x2 = F.linear(t1, w2, b2)
    th = torch.tanh(x2)
    tm = torch.tanh(-3 * x2)
    y = 1.5 * th + 0.5 * tm
    b = y + (torch.round(y) - y)
    t3 = torch.tanh(F.linear(b, w3, b3))
    o = F.linear(t3, w4, b4)
    if out_tanh:
        o = torch.tanh(o)
    return o, [x, t1, th, tm, b, t3, o]


def _qbn_backward(g: torch.Tensor, saved: List[torch.Tensor], p: List[torch.Tensor], out_tanh: bool,
                  need_input: bool) -> Tuple[List[torch.Tensor], Optional[torch.Tensor]]:
    # the QBN's backward as autograd's engine runs it: parameter gradients (in _qbn_params' order) and the input's
    x, t1, th, tm, b, t3, o = saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6]
    w1, w2, w3, w4 = p[0], p[2], p[4], p[6]
    g4 = _tanh_backward(g, o) if out_tanh else g
    gw4, gb4, g = g4.t().mm(t3), g4.sum(0), g4.mm(w4)
    g3 = _tanh_backward(g, t3)
    gw3, gb3, g = g3.t().mm(b), g3.sum(0), g3.mm(w3)
    g2 = _tanh_backward(g * 1.5, th) + _tanh_backward(g * 0.5, tm) * -3    # straight through the rounding
    gw2, gb2, g = g2.t().mm(t1), g2.sum(0), g2.mm(w2)
    g1 = _tanh_backward(g, t1)
    gw1, gb1 = g1.t().mm(x), g1.sum(0)
    return [gw1, gb1, gw2, gb2, gw3, gb3, gw4, gb4], (g1.mm(w1) if need_input else None)


def _steps_forward(gi_all: torch.Tensor, h0: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor,
                   hp: List[torch.Tensor], has_h: bool, h_tanh: bool):
    # _MMNRun.forward's recurrence (_GRURun's without the memory QBN, has_h False), the cell's input linear given
    # (gi_all: (T, n, 3 hidden)): hqbn(h0), then for every step _gates and hqbn; the memories and what backward needs
    h = h0
    h_saved: List[torch.Tensor] = []
    if has_h:
        h, h_saved = _qbn_forward(h0, hp, h_tanh)
    hs: List[torch.Tensor] = [h]
    inner: List[List[torch.Tensor]] = []
    q_saved: List[List[torch.Tensor]] = []
    for gi in gi_all.unbind(0):
        c, (r, z, n, hn0, d) = _gates(gi, h, w_hh, b_hh)
        inner.append([r, z, n, hn0, d])
        if has_h:
            h, sv = _qbn_forward(c, hp, h_tanh)
            q_saved.append(sv)
        else:
            h = c
        hs.append(h)
    return hs, inner, q_saved, h_saved


def _steps_backward(grad_hs: torch.Tensor, inner: List[List[torch.Tensor]], q_saved: List[List[torch.Tensor]],
                    h_saved: List[torch.Tensor], w_hh: torch.Tensor, hp: List[torch.Tensor], has_h: bool,
                    h_tanh: bool):
    # _MMNRun.backward's recurrence (_GRURun's without the memory QBN), op for op: the memory QBN's parameter
    # gradients (summed last step first, h_0's last) and the gates' gradients of every step, (T, n, 3 hidden) twice
    steps = len(inner)
    g_gi = grad_hs.new_empty((steps, grad_hs.shape[0], w_hh.shape[0]))
    g_gh = grad_hs.new_empty((steps, grad_hs.shape[0], w_hh.shape[0]))
    acc_h: List[torch.Tensor] = []
    g_sub = grad_hs.new_empty(0)
    g_mm = grad_hs.new_empty(0)
    for k in range(steps):
        t = steps - 1 - k
        g = grad_hs[:, t + 1]
        if k > 0:
            g = g + g_sub
            g = g + g_mm
        if has_h:
            parts, g_q = _qbn_backward(g, q_saved[t], hp, h_tanh, True)
            assert g_q is not None
            g = g_q
            if k == 0:
                acc_h = parts
            else:
                acc_h = [a + q for a, q in zip(acc_h, parts)]
        r, z, n, hn, d = inner[t][0], inner[t][1], inner[t][2], inner[t][3], inner[t][4]
        g_sub = _gates_backward(g, r, z, n, hn, d, g_gi[t], g_gh[t])
        g_mm = g_gh[t].mm(w_hh)
    if has_h:
        g = grad_hs[:, 0]
        if steps > 0:
            g = g + g_sub
            g = g + g_mm
        parts, _ = _qbn_backward(g, h_saved, hp, h_tanh, False)
        acc_h = parts if steps == 0 else [a + q for a, q in zip(acc_h, parts)]
    return g_gi, g_gh, acc_h
