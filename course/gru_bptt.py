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

Only the plain policy is covered: 12 keeps the step-by-step loop when a QBN sits inside the
recurrence (eq. 4), and when h_0 needs a gradient.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

_sigmoid_backward = torch.ops.aten.sigmoid_backward
_tanh_backward = torch.ops.aten.tanh_backward
_threshold_backward = torch.ops.aten.threshold_backward


def _cell(f, h, w_ih, w_hh, b_ih, b_hh):
    # torch.gru_cell's CPU composite (aten/src/ATen/native/RNN.cpp, GRUCell), op for op and in place
    # where it works in place (the gates' sigmoid on strided chunks), keeping its intermediates
    ir, iz, i_n = F.linear(f, w_ih, b_ih).unsafe_chunk(3, 1)
    hr, hz, hn = F.linear(h, w_hh, b_hh).unsafe_chunk(3, 1)
    r = hr.add_(ir).sigmoid_()
    z = hz.add_(iz).sigmoid_()
    hn0 = hn.clone()
    n = i_n.add(hn.mul_(r)).tanh_()
    d = h - n
    return (d * z).add_(n), (r, z, n, hn0, d)


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


def run(obs: torch.Tensor, h0: torch.Tensor, features: nn.Linear, cell: nn.GRUCell) -> torch.Tensor:
    """Memories (n, T + 1, hidden), h0 first, of h_{t+1} = cell(relu(features(x_t)), h_t).

    Args:
        obs: (n, T, obs_dim) float observations (no gradient).
        h0: (n, hidden) first memory (no gradient).
        features: the Linear(obs_dim, F) before the ReLU; cell: a GRUCell(F, hidden) with biases.
    Returns:
        the stacked memories; their backward is bit-identical to autograd's through the loop.
    """
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
        raise ValueError("gru_bptt.run computes no gradient for obs or h0: detach them or use the loop")
    return _GRURun.apply(obs, h0, features.weight, features.bias, cell.weight_ih, cell.weight_hh,
                         cell.bias_ih, cell.bias_hh)
