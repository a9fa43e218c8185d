"""The parts of notebook 04's HNN and D-HNN at one state, without autograd's engine: a fast path for rollouts.

Notebook 04 integrates its models' fields with DOP853 at rtol 1e-12 (trajectories, counterfactuals, the
five seeds' metrics): thousands of calls of `model.parts(x, t)` on one state in float64, each a forward
pass of H (and D), a ResMLP (eq. (9): h1 = tanh(L1 [x, t]), h2 = h1 + tanh(L2 h1), out = L3 h2), and
`torch.autograd.grad` of out's sum with respect to x. At one state the engine's bookkeeping costs more
than the arithmetic. The input gradient of a ResMLP is short:

    g2 = 1 W3,   g_z2 = g2 (1 - u^2) with u = tanh(L2 h1),   g_h1 = g2 + g_z2 W2,
    g_z1 = g_h1 (1 - h1^2),   d out / d[x, t] = g_z1 W1,

and `parts_of` computes it with the kernels autograd's backward calls (`mm` with the weight as stored,
`tanh_backward`; the two terms of g_h1 commute), then the student's eq. (1) split, J grad H and grad D.
It returns that function only when it gives `model.parts(x, t, create_graph=False)`'s exact bits on probe
states (torch.equal): the student's `dhnn_parts` and the model's structure are checked together, and a
wrong or different answer keeps the notebook on its own code. Plumbing, not the lesson.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import validate

__all__ = ["parts_of"]


def _input_gradient(net, xt):
    # d/d(xt) of net(xt)[:, 0].sum() for a ResMLP: autograd's kernels and order (module docstring)
    w1, w2, w3 = net.lin_1.weight, net.lin_2.weight, net.lin_3.weight
    h1 = torch.tanh(F.linear(xt, w1, net.lin_1.bias))
    u = torch.tanh(F.linear(h1, w2, net.lin_2.bias))
    g2 = xt.new_ones(xt.shape[0], 1).mm(w3)
    g_h1 = torch.ops.aten.tanh_backward(g2, u).mm(w2) + g2
    return torch.ops.aten.tanh_backward(g_h1, h1).mm(w1)


def _is_resmlp(net) -> bool:
    layers = [getattr(net, name, None) for name in ("lin_1", "lin_2", "lin_3")]
    return (all(isinstance(layer, torch.nn.Linear) and layer.bias is not None for layer in layers)
            and layers[2].out_features == 1)


def parts_of(model, d_time: int, probes: int = 3):
    """A function (x, t) -> (J grad_x H, grad_x D) equal bit for bit to `model.parts(x, t, create_graph=False)`
    for notebook 04's HNN (D absent: zeros) and D-HNN, whose H and D are ResMLPs; None where it is not
    (other models, another `dhnn_parts`, a probe that differs).

    Args:
        model: the notebook's HNN or DHNN (its `parts` the student's `dhnn_parts`), any dtype.
        d_time: columns of the time features t.
        probes: random single states (seeded) on which the fast parts must equal `model.parts` exactly.
    """
    d_time = validate.integer("d_time", d_time, lo=0)
    probes = validate.integer("probes", probes, lo=1)
    H, D = getattr(model, "H", None), getattr(model, "D", None)
    if not callable(getattr(model, "parts", None)) or not _is_resmlp(H) or (D is not None and not _is_resmlp(D)):
        return None
    n_in = H.lin_1.in_features - d_time
    if n_in < 2 or n_in % 2 or (D is not None and D.lin_1.in_features != H.lin_1.in_features):
        return None
    n = n_in // 2
    dtype, device = H.lin_1.weight.dtype, H.lin_1.weight.device

    def parts(x, t):
        with torch.no_grad():
            xt = torch.cat([x, t], dim=-1)
            dH = _input_gradient(H, xt)[:, :n_in]
            dD = torch.zeros_like(dH) if D is None else _input_gradient(D, xt)[:, :n_in]
            return torch.cat([dH[..., n:], -dH[..., :n]], dim=-1), dD

    g = torch.Generator().manual_seed(0)
    for _ in range(probes):
        x = torch.randn(1, n_in, generator=g, dtype=dtype).to(device)
        t = torch.randn(1, d_time, generator=g, dtype=dtype).to(device)
        try:
            want = model.parts(x, t, create_graph=False)
        except Exception:       # noqa: BLE001 - the model's own parts fail here: leave it to them
            return None
        have = parts(x, t)
        if not (isinstance(want, tuple) and len(want) == 2 and all(isinstance(w, torch.Tensor) for w in want)
                and all(w.shape == h.shape and torch.equal(w.detach(), h) for w, h in zip(want, have))):
            return None
    return parts
