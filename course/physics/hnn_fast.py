"""The HNN field of a two-layer tanh MLP with its backward written out: a fast path for notebook 02.

Notebook 02 (Hamiltonian Neural Networks) computes the field J grad H_theta (eq. (1)) with the
student's `hnn_field`, `torch.autograd.grad(..., create_graph=True)`, and training differentiates
it once more (a double backward). That is the lesson. For the paper's network,
H(x) = w3 . tanh(W2 tanh(W1 x + b1) + b2), the field and the gradient of a loss through it
have a closed form of a few matrix products:

    a1 = x W1^T + b1, h1 = tanh(a1), a2 = h1 W2^T + b2, h2 = tanh(a2), s_l = 1 - h_l^2,
    g2 = s2 * w3, u1 = g2 W2, g1 = u1 * s1, dH/dx = g1 W1,   field = (dH/dp, -dH/dq).

`field(net, x)` runs that as one autograd node whose backward (the loss's gradient with respect to
x, W1, b1, W2, b2, w3) is written out below; `numpy_field(net, hamiltonian)` is the same forward
(or the plain MLP's) in NumPy float64, for scipy's solvers, which call it thousands of times with a
few rows. Both equal autograd to float rounding (values and parameter gradients; tests/test_physics_hnn_fast.py).
`usable(hnn_field)` says whether a student's `hnn_field` gives the reference's answers on a probe
(course.validate.matches_reference): only then does the notebook take this path.
Plumbing, not the lesson.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import validate

__all__ = ["mlp_weights", "field", "numpy_field", "usable"]


def mlp_weights(net):
    """(W1, b1, W2, b2, W3) of Sequential(Linear, Tanh, Linear, Tanh, Linear without bias), else None."""
    if not isinstance(net, nn.Sequential) or len(net) != 5:
        return None
    l1, t1, l2, t2, l3 = net
    if not (type(l1) is nn.Linear and type(l2) is nn.Linear and type(l3) is nn.Linear
            and type(t1) is nn.Tanh and type(t2) is nn.Tanh and l1.bias is not None
            and l2.bias is not None and l3.bias is None):
        return None
    if l2.in_features != l1.out_features or l3.in_features != l2.out_features:
        return None
    return l1.weight, l1.bias, l2.weight, l2.bias, l3.weight


class _Field(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W1, b1, W2, b2, W3):
        n = x.shape[1] // 2
        W1J = torch.cat([W1[:, n:], -W1[:, :n]], dim=1)       # field = g1 (W1 J^T): the swap and sign on W1's columns
        h1 = torch.addmm(b1, x, W1.t()).tanh_()
        h2 = torch.addmm(b2, h1, W2.t()).tanh_()
        s1 = torch.addcmul(_ONE.to(h1), h1, h1, value=-1)    # tanh' = 1 - tanh^2
        s2 = torch.addcmul(_ONE.to(h2), h2, h2, value=-1)
        w3 = W3[0]
        g2 = s2 * w3                                          # dH/da2
        u1 = g2 @ W2
        g1 = u1 * s1                                          # dH/da1
        ctx.save_for_backward(x, W1, W2, w3, h1, h2, s1, s2, g1, g2, u1)
        ctx.n = n
        return g1 @ W1J

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        x, W1, W2, w3, h1, h2, s1, s2, g1, g2, u1 = ctx.saved_tensors
        n = ctx.n
        G = G.contiguous()
        Gx = torch.cat([-G[:, n:], G[:, :n]], dim=1)          # dL/d(dH/dx), (B, d)
        R1 = Gx @ W1.t()                                      # dL/dg1, (B, h)
        U = R1 * s1                                           # dL/du1
        dg2 = U @ W2.t()                                      # dL/dg2
        dW3 = (dg2 * s2).sum(0, keepdim=True)                 # g2 = s2 * w3
        da2 = dg2.mul_(w3).mul_(s2).mul_(h2).mul_(-2)         # through s2 = 1 - tanh(a2)^2
        dh1 = torch.addcmul(da2 @ W2, R1.mul_(u1), h1, value=-2)   # through a2, and through s1 = 1 - tanh(a1)^2
        da1 = dh1.mul_(s1)
        dW2 = torch.addmm(g2.t() @ U, da2.t(), h1)
        dW1 = torch.addmm(g1.t() @ Gx, da1.t(), x)
        dx = da1 @ W1 if ctx.needs_input_grad[0] else None
        return dx, dW1, da1.sum(0), dW2, da2.sum(0), dW3


_ONE = torch.ones(())


def _check(net, x):
    weights = mlp_weights(net)
    if weights is None:
        raise ValueError("net must be Sequential(Linear, Tanh, Linear, Tanh, Linear without bias), "
                         f"the paper's MLP; got {net!r}")
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[-1] != weights[0].shape[1] or x.shape[-1] % 2:
        raise ValueError(f"x must be a tensor (..., {weights[0].shape[1]}) of states (q, p) for this net "
                         f"(an even width), got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if weights[4].shape[0] != 1:
        raise ValueError(f"net must end in one output (the energy H), got {weights[4].shape[0]}")
    return weights


def field(net, x):
    """J grad H of H(x) = net(x) (eq. (1) of notebook 02) at states x (..., 2n) -> (..., 2n), one autograd node.

    Equals the notebook's `hnn_field(lambda x: net(x).squeeze(-1), x, create_graph=True)` to float rounding,
    values and gradients with respect to x and the weights (its backward written out); with gradients
    off it is the forward alone.
    """
    W1, b1, W2, b2, W3 = _check(net, x)
    shape = x.shape
    out = _Field.apply(x.reshape(-1, shape[-1]), W1, b1, W2, b2, W3)
    return out.reshape(shape)


def numpy_field(net, hamiltonian=True):
    """The field of the model as f(t, y) on float64 NumPy arrays y (..., d), for scipy (notebook 02's rollouts).

    hamiltonian=True: J grad H of H = net(y) (the HNN, eq. (1)); False: net(y) itself (the baseline MLP).
    The weights are copied once, as float64; the result equals the float64 torch model to rounding.
    """
    validate.boolean("hamiltonian", hamiltonian)
    weights = mlp_weights(net)
    if weights is None:
        raise ValueError(f"net must be Sequential(Linear, Tanh, Linear, Tanh, Linear without bias), got {net!r}")
    W1, b1, W2, b2, W3 = (w.detach().cpu().double().numpy().copy() for w in weights)
    d = W1.shape[1]
    if hamiltonian and (W3.shape[0] != 1 or d % 2):
        raise ValueError(f"an HNN's net maps an even number of inputs to one energy, got {d} -> {W3.shape[0]}")
    if not hamiltonian and W3.shape[0] != d:
        raise ValueError(f"a baseline's net maps its {d} inputs to {d} outputs, got {W3.shape[0]}")
    W1t, W2t, W3t, w3, n = W1.T.copy(), W2.T.copy(), W3.T.copy(), W3[0], d // 2

    def f(t, y):
        y = np.asarray(y, dtype=np.float64)
        x = y.reshape(-1, d)
        h1 = np.tanh(x @ W1t + b1)
        h2 = np.tanh(h1 @ W2t + b2)
        if not hamiltonian:
            return (h2 @ W3t).reshape(y.shape)
        g1 = ((1 - h2 * h2) * w3) @ W2
        g1 *= 1 - h1 * h1
        gx = g1 @ W1
        return np.concatenate([gx[:, n:], -gx[:, :n]], axis=1).reshape(y.shape)

    return f


def _probe(hnn_field):
    """Does hnn_field give J grad H (values, and a field differentiable in the weights) on a small tanh MLP?"""
    gen = torch.Generator().manual_seed(20190604)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1, bias=False)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    try:
        with torch.enable_grad():
            got = hnn_field(lambda s: net(s).squeeze(-1), x.clone().requires_grad_(True), create_graph=True)
            if not isinstance(got, torch.Tensor) or got.shape != x.shape or not got.requires_grad:
                return False
            want = field(net, x)
            if not torch.allclose(got, want, rtol=1e-12, atol=1e-12):
                return False
            w = torch.randn(x.shape, generator=gen, dtype=torch.float64)
            g_got = torch.autograd.grad((got * w).sum(), net[0].weight)[0]
            g_want = torch.autograd.grad((want * w).sum(), net[0].weight)[0]
        return bool(torch.allclose(g_got, g_want, rtol=1e-10, atol=1e-12))
    except Exception:                                         # a broken student function: the slow path shows it
        return False


def usable(hnn_field):
    """True when a student's `hnn_field` gives the reference's field and gradients (probed once per function)."""
    return validate.matches_reference("hnn_field", hnn_field, _probe)
