"""A one-layer nn.GRU (either direction or both) as one autograd node with its backward through time written out.

ATen's CPU GRU runs op by op, one time step after another, and autograd records every op: on small layers
(01_mnist1d's bidirectional GRU, hidden 6, over 40 values) a training step costs per-op overhead, not arithmetic.
Here both directions run as one batched recurrence (the direction is a batch dimension of bmm), the input
projection of all steps is one product, and the backward is a hand-written loop over the steps with every
parameter gradient computed at once afterwards. The equations are nn.GRU's:

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h

with its parameters (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 and the *_reverse twins), so a model
keeps its state_dict. Rounding differs from ATen's (float32 agrees to ~1e-6 relative, float64 to ~1e-12;
tests/test_fast_gru.py checks outputs, final states and every gradient against nn.GRU).

`gru(rnn, x, h0=None)` returns what `rnn(x, h0)` returns; `accelerate(model)` makes every fitting nn.GRU inside
`model` run through `gru` (the module stays an nn.GRU with the same parameters; `restore(model)` undoes it).
"""
from __future__ import annotations

import types

import torch
import torch.nn as nn

from .gru_bptt import scripted     # TorchScript twin of a step loop, compiled once (shared with 12's GRU)

__all__ = ["gru", "fits", "accelerate", "restore"]


def _forward_steps(gi_rz: torch.Tensor, gi_n: torch.Tensor, h0: torch.Tensor, w_t: torch.Tensor, b_hh: torch.Tensor):
    # the recurrence of a GRU with hidden size K = D H (both directions side by side, block-diagonal W_hh) over
    # (T, N, .) gates of the input, each step written into preallocated buffers: memories h_0..h_T (T + 1, N, K),
    # the gates r|z (T, N, 2K), the candidates n (T, N, K) and the hidden linear W_hh h + b_hh (T, N, 3K)
    steps, k = gi_n.shape[0], gi_n.shape[2]
    hs = h0.new_empty((steps + 1, h0.shape[0], k))
    rzs = torch.empty_like(gi_rz)
    ns = torch.empty_like(gi_n)
    ghs = h0.new_empty((steps, h0.shape[0], 3 * k))
    hs[0] = h0
    h_l, rz_l, n_l, gh_l = hs.unbind(0), rzs.unbind(0), ns.unbind(0), ghs.unbind(0)
    g_rz_l, g_n_l = gi_rz.unbind(0), gi_n.unbind(0)
    for s in range(steps):
        h, gh, rz, n = h_l[s], gh_l[s], rz_l[s], n_l[s]
        torch.addmm(b_hh, h, w_t, out=gh)                                        # (N, 3K)
        torch.add(g_rz_l[s], gh.narrow(1, 0, 2 * k), out=rz).sigmoid_()
        torch.addcmul(g_n_l[s], rz.narrow(1, 0, k), gh.narrow(1, 2 * k, k), out=n).tanh_()   # tanh(i_n + r (W_hn h + b_hn))
        torch.addcmul(n, rz.narrow(1, k, k), h - n, out=h_l[s + 1])              # h' = n + z (h - n)
    return hs, rzs, ns, ghs


def _backward_steps(g_out: torch.Tensor, g: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
                    r: torch.Tensor, z: torch.Tensor, w: torch.Tensor):
    # back through time over (T, N, K) tensors: g is dL/dh_T; a, b, c the per-step derivative factors; returns
    # dL/dh_0, the hidden linear's output gradients (T, N, 3K) and the candidate's pre-tanh gradients (T, N, K)
    steps, k = a.shape[0], a.shape[2]
    g_gh = a.new_empty((steps, a.shape[1], 3 * k))
    g_n = torch.empty_like(a)
    g_outs, a_s, b_s, c_s, r_s, z_s = g_out.unbind(0), a.unbind(0), b.unbind(0), c.unbind(0), r.unbind(0), z.unbind(0)
    gh_l, gn_l = g_gh.unbind(0), g_n.unbind(0)
    for s in range(steps - 1, -1, -1):
        g = g + g_outs[s]
        gh, gn = gh_l[s], gn_l[s]
        torch.mul(g, a_s[s], out=gn)                                             # (1 - z)(1 - n^2)
        torch.mul(gn, c_s[s], out=gh.narrow(1, 0, k))                            # r's pre-sigmoid
        torch.mul(g, b_s[s], out=gh.narrow(1, k, k))                             # z's pre-sigmoid
        torch.mul(gn, r_s[s], out=gh.narrow(1, 2 * k, k))                        # W_hn h + b_hn
        g = torch.addmm(g * z_s[s], gh, w)                                       # to h: z h + W_hh path
    return g, g_gh, g_n


def _by_direction(a: torch.Tensor, dirs: int) -> torch.Tensor:
    # (T, N, D H) in time order <-> processing order: direction 1's half reversed in time (an involution)
    if dirs == 1:
        return a
    hidden = a.shape[2] // 2
    return torch.cat([a[..., :hidden], a[..., hidden:].flip(0)], 2)


class _GRU(torch.autograd.Function):
    # both directions as one GRU of hidden K = D H: state (N, K) = [h_forward | h_backward], gates ordered
    # [r_0 r_1 | z_0 z_1 | n_0 n_1], W_hh block-diagonal (3K, K), direction 1 reading the sequence backwards
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        # x (T, N, I) time-major; h0 (D, N, H); w_ih (D, 3H, I); w_hh (D, 3H, H); b_* (D, 3H)
        dirs, n_batch, hidden = h0.shape
        k = dirs * hidden
        xs = [x, x.flip(0)][:dirs]                                                # each direction's inputs, in its order
        gi = torch.stack([torch.addmm(b_ih[d], xs[d].reshape(-1, x.shape[2]), w_ih[d].t()).view(-1, n_batch, 3, hidden)
                          for d in range(dirs)], 3).view(-1, n_batch, 3 * k)      # (T, N, 3K) gate-major
        w_bd = w_hh.new_zeros((3, dirs, hidden, dirs, hidden))
        for d in range(dirs):
            w_bd[:, d, :, d, :] = w_hh[d].view(3, hidden, hidden)
        w_bd = w_bd.view(3 * k, k)
        b_cat = b_hh.view(dirs, 3, hidden).transpose(0, 1).reshape(3 * k)
        h0_cat = h0.transpose(0, 1).reshape(n_batch, k)
        hs, rz, n, gh = scripted(_forward_steps)(gi[..., :2 * k].contiguous(), gi[..., 2 * k:].contiguous(),
                                                  h0_cat, w_bd.t(), b_cat)
        ctx.save_for_backward(x, w_ih, w_bd, hs, rz, n, gh)
        ctx.dirs = dirs
        return _by_direction(hs[1:], dirs), hs[-1].view(n_batch, dirs, hidden).transpose(0, 1).contiguous()

    @staticmethod
    def backward(ctx, g_out, g_hn):
        x, w_ih, w_bd, hs, rz, n, gh = ctx.saved_tensors
        dirs = ctx.dirs
        steps, n_batch, k = n.shape
        hidden = k // dirs
        g_out = _by_direction(g_out, dirs).contiguous() if g_out is not None else torch.zeros_like(n)
        g = g_hn.transpose(0, 1).reshape(n_batch, k) if g_hn is not None else hs.new_zeros((n_batch, k))
        r, z, hn = rz[..., :k], rz[..., k:], gh[..., 2 * k:]
        a = (1 - z) * (1 - n * n)                                                 # dh'/dn * tanh'
        b = (hs[:-1] - n) * (z - z * z)                                           # dh'/dz * sigmoid'
        c = hn * (r - r * r)                                                      # dn-pre/dr * sigmoid'
        g_h0, g_gh, g_n = scripted(_backward_steps)(g_out, g.contiguous(), a, b, c, r.contiguous(), z.contiguous(), w_bd)
        g_gi = torch.cat([g_gh[..., :2 * k], g_n], 2).view(steps * n_batch, 3, dirs, hidden)
        flat_gh = g_gh.view(steps * n_batch, 3 * k)
        need = ctx.needs_input_grad
        xs = [x, x.flip(0)][:dirs]
        g_gi_d = [g_gi[:, :, d].reshape(steps * n_batch, 3 * hidden) for d in range(dirs)]
        g_x = None
        if need[0]:
            parts = [g_gi_d[d].mm(w_ih[d]).view(steps, n_batch, -1) for d in range(dirs)]
            g_x = parts[0] if dirs == 1 else parts[0] + parts[1].flip(0)
        g_w_ih = torch.stack([g_gi_d[d].t().mm(xs[d].reshape(steps * n_batch, -1)) for d in range(dirs)]) if need[2] else None
        g_w_hh = None
        if need[3]:
            full = flat_gh.t().mm(hs[:-1].reshape(steps * n_batch, k)).view(3, dirs, hidden, dirs, hidden)
            g_w_hh = torch.stack([full[:, d, :, d, :].reshape(3 * hidden, hidden) for d in range(dirs)])
        g_b_ih = torch.stack([g.sum(0) for g in g_gi_d]) if need[4] else None
        g_b_hh = flat_gh.sum(0).view(3, dirs, hidden).transpose(0, 1).reshape(dirs, 3 * hidden) if need[5] else None
        g_h0 = g_h0.view(n_batch, dirs, hidden).transpose(0, 1) if need[1] else None
        return g_x, g_h0, g_w_ih, g_w_hh, g_b_ih, g_b_hh


def fits(rnn) -> bool:
    """True if `gru` computes this module's forward: a one-layer nn.GRU with biases and no projection."""
    return (isinstance(rnn, nn.GRU) and rnn.num_layers == 1 and rnn.bias and getattr(rnn, "proj_size", 0) == 0
            and rnn.mode == "GRU")


def _params(rnn):
    sfx = ["_l0", "_l0_reverse"][: 2 if rnn.bidirectional else 1]
    return [torch.stack([getattr(rnn, f"{name}{s}") for s in sfx]) if len(sfx) == 2 else getattr(rnn, f"{name}{sfx[0]}")[None]
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def gru(rnn: nn.GRU, x: torch.Tensor, h0: torch.Tensor | None = None):
    """What `rnn(x, h0)` returns (output, h_n), computed as one autograd node with a written-out backward.

    Args:
        rnn: a one-layer nn.GRU with biases (`fits(rnn)`), one or two directions, batch_first or not.
        x: (N, T, input_size) if rnn.batch_first else (T, N, input_size), or unbatched (T, input_size);
            floating point, same dtype and device as the parameters.
        h0: None (zeros) or (D, N, hidden_size) ((D, hidden_size) unbatched).
    Returns:
        output (N, T, D * hidden) (batch_first) or (T, N, D * hidden), and h_n (D, N, hidden).
    """
    if not fits(rnn):
        raise ValueError(f"fast_gru.gru needs a one-layer nn.GRU with biases, got {rnn!r}")
    if not torch.is_tensor(x) or x.dim() not in (2, 3) or not x.is_floating_point():
        raise ValueError(f"x must be a floating tensor of 2 or 3 dimensions, got "
                         f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}")
    if x.shape[-1] != rnn.input_size:
        raise ValueError(f"x's last dimension must be input_size {rnn.input_size}, got {x.shape[-1]}")
    w = rnn.weight_ih_l0
    if x.dtype != w.dtype or x.device != w.device:
        raise ValueError(f"x must have the parameters' dtype and device ({w.dtype}, {w.device}), got {x.dtype}, {x.device}")
    unbatched = x.dim() == 2
    dirs, hidden = 2 if rnn.bidirectional else 1, rnn.hidden_size
    xt = x.unsqueeze(1) if unbatched else (x.transpose(0, 1) if rnn.batch_first else x)    # (T, N, I)
    if xt.shape[0] == 0 or xt.shape[1] == 0:
        raise ValueError(f"x must have at least one step and one sequence, got {tuple(x.shape)}")
    want = (dirs, xt.shape[1], hidden)
    if h0 is None:
        h0 = x.new_zeros(want)
    else:
        if not torch.is_tensor(h0) or h0.dtype != x.dtype or tuple(h0.shape) != ((dirs, hidden) if unbatched else want):
            raise ValueError(f"h0 must be a {x.dtype} tensor {(dirs, hidden) if unbatched else want}, got "
                             f"{tuple(h0.shape) if torch.is_tensor(h0) else type(h0).__name__}")
        h0 = h0.unsqueeze(1) if unbatched else h0
    out, h_n = _GRU.apply(xt, h0, *_params(rnn))                                  # out (T, N, D H) time order
    if unbatched:
        return out[:, 0], h_n[:, 0]
    return (out.transpose(0, 1) if rnn.batch_first else out), h_n


def _forward(self, x, h0=None):
    return gru(self, x, h0)


def accelerate(model: nn.Module) -> nn.Module:
    """Make every nn.GRU in `model` that `fits` run its forward through `gru` (same parameters); returns model."""
    for m in model.modules():
        if fits(m) and "forward" not in m.__dict__:
            m.forward = types.MethodType(_forward, m)          # bound: a deepcopy of the model binds its copy
    return model


def restore(model: nn.Module) -> nn.Module:
    """Undo `accelerate`: every nn.GRU in `model` runs ATen's forward again; returns model."""
    for m in model.modules():
        if isinstance(m, nn.GRU) and "forward" in m.__dict__:
            del m.forward
    return model
