"""A fast path for notebook 06's training step: the decoder at two elapsed times, with a hand-written backward.

`train_step` in 06_piecewise_node decodes every state of the walk twice after it: at the elapsed time of the
segment that holds (the predictions of the loss) and at zero elapsed time (the "no time, no change" term):

    model.change(H, tau)   and   model.change(H, 0),   change(h, tau) = dec([z + c tau zdot, c zdot])

with the paper's residual ReLU decoder, dec(u) = out(h3), h1 = relu(inp(u)), h2 = h1 + relu(res1(h1)),
h3 = h2 + relu(res2(h2)). `decode_pair` returns the same two tensors, computed in one pass:

- the first layer is affine in tau: inp([z + c tau zdot, c zdot]) = inp([z, c zdot]) + tau * c * W_z zdot, where W_z
  is the block of inp's weight that multiplies z, so both elapsed times share one product (and a half-width one);
- the two halves run the remaining layers as one stacked batch;
- its backward is written out (torch.autograd.Function): ReLU masks kept as booleans, each residual gradient
  accumulated in place into the matrix product (addmm_), no graph of small nodes to walk.

It gives the same values and gradients as the plain autograd code to float rounding (tests/test_piecewise_fast.py
checks both in float64 and float32); it does not change what is computed. Notebook 06 teaches the plain version.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


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
        mask1 = a1 > 0
        h1 = a1.relu_()
        a2 = torch.addmm(b2, h1, w2.t())
        mask2 = a2 > 0
        h2 = a2.relu_().add_(h1)
        a3 = torch.addmm(b3, h2, w3.t())
        mask3 = a3 > 0
        h3 = a3.relu_().add_(h2)
        out = torch.addmm(b4, h3, w4.t())
        ctx.save_for_backward(u, v, tau, w1, w2, w3, w4, h1, h2, h3, mask1, mask2, mask3)
        ctx.c = c
        return out[:n], out[n:]

    @staticmethod
    def backward(ctx, g_tau, g_zero):
        u, v, tau, w1, w2, w3, w4, h1, h2, h3, mask1, mask2, mask3 = ctx.saved_tensors
        c, n, half = ctx.c, u.shape[0], v.shape[1]
        g_out = torch.cat([g_tau, g_zero])
        gw4, gb4 = g_out.t().mm(h3), g_out.sum(0)
        g = g_out.mm(w4)                                               # d loss / d h3
        ga = g * mask3
        gw3, gb3 = ga.t().mm(h2), ga.sum(0)
        g.addmm_(ga, w3)                                               # d / d h2: residual + through res2
        ga = g * mask2
        gw2, gb2 = ga.t().mm(h1), ga.sum(0)
        g.addmm_(ga, w2)                                               # d / d h1
        g.mul_(mask1)                                                  # d / d a1
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


class _GRUUpdate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, e, w_hh, b_hh):
        hr, hz, hn = torch.addmm(b_hh, h, w_hh.t()).chunk(3, -1)
        er, ez, en = e.chunk(3, -1)
        r = torch.sigmoid(er + hr)
        z = torch.sigmoid(ez + hz)
        n = torch.tanh(en + r * hn)
        out = n + z * (h - n)                                          # (1 - z) n + z h
        ctx.save_for_backward(h, w_hh, r, z, n, hn)
        return out

    @staticmethod
    def backward(ctx, g):
        h, w_hh, r, z, n, hn = ctx.saved_tensors
        g_h = g * z                                                    # direct path of z h
        g_n = (g - g_h) * (1 - n * n)                                  # through (1 - z) n and tanh
        g_z = g * (h - n) * z * (1 - z)                                # through z and its sigmoid
        g_r = g_n * hn * r * (1 - r)
        g_e = torch.cat([g_r, g_z, g_n], -1)
        g_hh = torch.cat([g_r, g_z, g_n * r], -1)
        g_h.addmm_(g_hh, w_hh)
        return g_h, g_e, g_hh.t().mm(h), g_hh.sum(0)


def gru_update(h: torch.Tensor, e: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor) -> torch.Tensor:
    """nn.GRUCell's update of state h from precomputed input gates e = W_ih x + b_ih, with a written-out backward.

    Notebook 06's `PCODE.read` (after moving the latent along its segment, eq. 1): r = sigmoid(e_r + W_hr h + b_hr),
    z = sigmoid(e_z + W_hz h + b_hz), n = tanh(e_n + r (W_hn h + b_hn)), h' = (1 - z) n + z h. The forward runs the
    same operations as the notebook's plain code (the same values); the backward is one autograd node instead of
    about twenty. Args: h (B, H), e (B, 3H), weight_hh (3H, H), bias_hh (3H,). Returns h' (B, H).
    """
    if h.dim() != 2 or e.shape != (h.shape[0], 3 * h.shape[1]) or weight_hh.shape != (3 * h.shape[1], h.shape[1]):
        raise ValueError(f"need h (B, H), e (B, 3H), weight_hh (3H, H); got {tuple(h.shape)}, {tuple(e.shape)}, "
                         f"{tuple(weight_hh.shape)}")
    return _GRUUpdate.apply(h, e, weight_hh, bias_hh)
