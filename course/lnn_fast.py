"""The Euler-Lagrange layer of a softplus MLP, written out: a fast path for notebook 03's LNN.

Notebook 03 (Lagrangian Neural Networks) computes the accelerations of a learned Lagrangian
with `torch.func` (grad and hessian of L, vmapped over the batch; eq. (3)); that version is
the lesson. Training differentiates it once more, so every step pays for nested transforms.
For an MLP with elementwise activations the gradient and the Hessian of the scalar output
have a closed form, computed here for the whole batch with a few matrix products:

    h_1 = W_1 z + b_1,  a_l = sigma(h_l),  h_{l+1} = W_{l+1} a_l + b_{l+1},  L = w^T a_m + b,
    delta_m = w,  delta_{l-1} = W_l^T (sigma'(h_l) * delta_l)          (backprop, dL/da_l)
    dL/dz = W_1^T (sigma'(h_1) * delta_1)
    J_1 = W_1,  J_{l+1} = W_{l+1} diag(sigma'(h_l)) J_l                 (dh_l/dz)
    d2L/dz2 = sum_l J_l^T diag(sigma''(h_l) * delta_l) J_l

(the layers are linear, so only the activations bend L). The input is z = wrap(s) * scale
(angles wrapped to [-pi, pi), whose derivative is 1), so dL/ds = scale * dL/dz and
d2L/ds2 = scale scale^T * d2L/dz2. Then, as in the notebook's `euler_lagrange`,

    qddot = solve(d2L/dqdot2, dL/dq - d2L/(dqdot dq) qdot).

When the weights need gradients (training), `accelerations` is one autograd node whose
backward is written out too: with lam = H_vv^-T dloss/dqddot, the weight gradient is that of
lam . dL/dq - lam^T (d2L/(dqdot d(q, qdot))) (qdot, qddot), first- and second-order directional
derivatives of L along two fixed directions, backpropagated by hand (`_EulerLagrange`); its
forward is the closed form above, the same bits. States that need a gradient, or inference,
take ordinary autograd through the closed form.
`mlp_gradient` is the first half alone (backprop written out, tanh or softplus), for the
notebook's HNN, whose dynamics need only dH/d(q, p).
`accelerations` equals the notebook's `accelerations(model.lagrangian, states)` to float64
rounding, values and parameter gradients alike (the node's gradients equal autograd's through
the closed form to 1e-12 in float64), and `mlp_gradient` equals vmap(grad): see
tests/test_lnn_fast.py.
Plumbing, not the lesson.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["mlp_gradient", "mlp_derivatives", "accelerations"]


def _layers(net, activations=(nn.Softplus,)):
    """(linears, activations) of Linear, act, ..., Linear; a ValueError for anything else."""
    names = " or ".join(a.__name__ for a in activations)
    mods = list(net) if isinstance(net, nn.Sequential) else None
    if not mods or len(mods) % 2 != 1:
        raise ValueError(f"net must be an nn.Sequential of Linear, {names}, ..., Linear; got {type(net).__name__}")
    linears, acts = mods[0::2], mods[1::2]
    if not all(isinstance(m, nn.Linear) for m in linears) or not all(isinstance(m, activations) for m in acts):
        raise ValueError(f"net must alternate nn.Linear and nn.{names} and end with nn.Linear, got "
                         + ", ".join(type(m).__name__ for m in mods))
    if linears[-1].out_features != 1:
        raise ValueError(f"net must have one output (a scalar L), got {linears[-1].out_features}")
    return linears, acts


def _softplus_derivatives(h, act):
    """sigma'(h) and sigma''(h) of nn.Softplus(beta, threshold), with its linear branch above the threshold.

    With beta == 1 (the default) the products by beta, exact no-ops, are skipped: the same bits, fewer kernels."""
    if act.beta == 1:
        s = torch.sigmoid(h)
        linear = h > act.threshold
        return s.masked_fill(linear, 1.0), (s * (1 - s)).masked_fill(linear, 0.0)
    s = torch.sigmoid(act.beta * h)
    linear = act.beta * h > act.threshold
    return s.masked_fill(linear, 1.0), (act.beta * s * (1 - s)).masked_fill(linear, 0.0)


def _check_input(z, linears):
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != linears[0].in_features:
        raise ValueError(f"z must be a (n, {linears[0].in_features}) tensor, got "
                         f"{tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__}")


def mlp_gradient(net, z):
    """dL/dz (n, k) of a scalar MLP (Linear, Tanh or Softplus, ..., Linear) for a batch z (n, k), by backprop
    written out (notebook 03's HNN, as notebook 02's eq. (1) needs it: vmap(grad(H)) without nested autograd)."""
    linears, acts = _layers(net, (nn.Tanh, nn.Softplus))
    _check_input(z, linears)
    d1s, a = [], z
    for lin, act in zip(linears[:-1], acts):
        h = lin(a)
        a = act(h)
        d1s.append(1 - a * a if isinstance(act, nn.Tanh) else _softplus_derivatives(h, act)[0])
    delta = linears[-1].weight.expand(len(z), -1)
    for l in range(len(acts) - 1, -1, -1):
        delta = (d1s[l] * delta) @ linears[l].weight
    return delta


def mlp_derivatives(net, z, rows=None):
    """Gradient and Hessian rows of a scalar softplus MLP, for a batch of inputs.

    Args:
        net: nn.Sequential(Linear, Softplus, ..., Linear) with one output.
        z: (n, k) inputs.
        rows: which Hessian rows to return (a slice or index tensor over the k inputs); all if None.
    Returns:
        grad (n, k) = dL/dz, hess (n, r, k) = d2L/dz_rows dz.
    """
    linears, acts = _layers(net)
    _check_input(z, linears)
    grad, hess, _ = _derivatives(linears, acts, z, rows)
    return grad, hess


def _derivatives(linears, acts, z, rows, keep=False):
    """mlp_derivatives' computation; with keep, also the per-layer tensors the written-out backward needs."""
    rows = slice(None) if rows is None else rows
    d1s, d2s, inputs = [], [], []
    a = z
    for l, (lin, act) in enumerate(zip(linears[:-1], acts)):
        inputs.append(a)
        h = lin(a)
        d1, d2 = _softplus_derivatives(h, act)
        d1s.append(d1), d2s.append(d2)
        if l < len(acts) - 1:                                      # the last activation only makes L's value
            a = act(h)
    # backprop: delta_l = dL/da_l (n, width_l)
    deltas, gs = [None] * len(acts), [None] * len(acts)
    delta = linears[-1].weight.expand(len(z), -1)                  # (n, width_m)
    for l in range(len(acts) - 1, -1, -1):
        deltas[l] = delta
        gs[l] = d1s[l] * delta                                     # dL/dh_l
        delta = gs[l] @ linears[l].weight                          # dL/da_{l-1}, and at l = 0 dL/dz
    grad = delta
    # Jacobians J_l = dh_l/dz, kept transposed (n, k, width_l) so that each step is one matrix product
    # over the whole batch; then the Hessian's sum over layers. Layer 1's J is W_1 for every sample,
    # so its term is c_1 @ (W_1[:, rows] outer W_1): one product, no batch of Jacobians.
    W1 = linears[0].weight                                         # (width_1, k)
    n, k = z.shape
    outer = (W1[:, rows].unsqueeze(-1) * W1.unsqueeze(1))          # (width_1, r, k)
    r = outer.shape[1]
    cs = [d2s[0] * deltas[0]]                                      # sigma''(h_l) delta_l
    hess = (cs[0] @ outer.reshape(len(W1), r * k)).reshape(n, r, k)
    JT, W1T = None, W1.t().contiguous()                            # (W1.t() itself would make prev strided and
    for l in range(1, len(acts)):                                  # its reshape a copy: the same numbers, slower)
        prev = (d1s[l - 1].unsqueeze(1) * W1T) if JT is None else (d1s[l - 1].unsqueeze(1) * JT)     # (n, k, w)
        JT = (prev.reshape(n * k, -1) @ linears[l].weight.t()).reshape(n, k, -1)                     # (n, k, w_l)
        cs.append(d2s[l] * deltas[l])                                                                # (n, w_l)
        hess = hess + (JT[:, rows, :] * cs[l].unsqueeze(1)) @ JT.transpose(1, 2)                     # (n, r, k)
    return grad, hess, (dict(d1s=d1s, d2s=d2s, cs=cs, inputs=inputs, deltas=deltas, gs=gs) if keep else None)


def _solve(states, grad, hess, input_scale, d, ridge):
    """eq. (3) from dL/dz and the velocity rows of d2L/dz2: (qddot, H_vv as solved)."""
    if input_scale is not None:
        grad = grad * input_scale
        hess = hess * input_scale[d:, None] * input_scale
    H_vv, H_vq = hess[:, :, d:], hess[:, :, :d]
    if ridge:
        H_vv = H_vv + ridge * torch.eye(d, dtype=states.dtype, device=states.device)
    rhs = grad[:, :d] - (H_vq @ states[:, d:].unsqueeze(-1)).squeeze(-1)
    return torch.linalg.solve_ex(H_vv, rhs)[0], H_vv


class _EulerLagrange(torch.autograd.Function):
    """`accelerations` as one autograd node: the forward above (the same bits), the parameter gradients
    written out. With lam = H_vv^-T g (g = dloss/dqddot) and u = (qdot, qddot),
    dloss = lam . d(dL/dq) - lam^T d(H_vq, H_vv) u: the parameter gradient of
    Phi = v_q . dL/dz - v_v^T (d2L/dz2) u_z with v_q = scale (lam, 0), v_v = scale (0, lam), u_z = scale u
    held fixed. For the MLP, v_v^T (d2L/dz2) u_z = sum_l sum_units sigma''(h_l) delta_l e_l(v_v) e_l(u_z), with
    the tangents e_l(x) = (dh_l/dz) x, so Phi takes a few matrix products per layer and its backprop is
    written out below: no batch of Jacobians, no nested autograd. Parameters only (the states carry no gradient)."""

    @staticmethod
    def forward(ctx, states, scale, d, ridge, linears, acts, z, *params):
        grad, hess, keep = _derivatives(linears, acts, z, slice(d, 2 * d), keep=True)
        qddot, H_vv = _solve(states, grad, hess, scale, d, ridge)
        ctx.keep, ctx.linears, ctx.acts, ctx.d, ctx.scale = keep, linears, acts, d, scale
        ctx.save_for_backward(states, qddot, H_vv)
        return qddot

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_out):
        states, qddot, H_vv = ctx.saved_tensors
        keep, linears, acts, d, scale = ctx.keep, ctx.linears, ctx.acts, ctx.d, ctx.scale
        s, t, cs, inputs, deltas, gs = (keep[key] for key in ("d1s", "d2s", "cs", "inputs", "deltas", "gs"))
        m, n = len(acts), len(states)
        Ws = [lin.weight for lin in linears]
        lam = torch.linalg.solve_ex(H_vv.mT, g_out)[0]                # (n, d)
        zeros = torch.zeros_like(lam)
        vq, vv = torch.cat([lam, zeros], 1), torch.cat([zeros, -lam], 1)   # vv: -v_v, so Phi is a plain sum
        u = torch.cat([states[:, d:], qddot], 1)
        if scale is not None:
            vq, vv, u = vq * scale, vv * scale, u * scale
        X = torch.cat([vv, u], 0)                                     # (2n, k): the two directions
        E, P = [X @ Ws[0].t()], []                                    # tangents of h_l along -v_v and u_z
        for l in range(1, m):
            P.append((E[-1].view(2, n, -1) * s[l - 1]).view(2 * n, -1))
            E.append(P[-1] @ Ws[l].t())
        # Phi = v_q . dL/dz + sum_l sum_units c_l e_l(-v_v) e_l(u_z), c_l = sigma''(h_l) delta_l
        tbar, dbar, Ebar = [], [], []                                 # adjoints of sigma''(h_l), delta_l, e_l
        for l in range(m):
            ev, eu = E[l][:n], E[l][n:]
            q = ev * eu
            tbar.append(deltas[l] * q)
            dbar.append(t[l] * q)
            Ebar.append((E[l].view(2, n, -1).flip(0) * cs[l]).view(2 * n, -1))
        gW, sbar = [None] * (m + 1), [None] * m                       # sbar: adjoints of sigma'(h_l)
        for l in range(m - 1, 0, -1):                                 # back along the tangents
            Pbar = Ebar[l] @ Ws[l]
            gW[l] = Ebar[l].t() @ P[l - 1]
            sbar[l - 1] = torch.addcmul(Pbar[:n] * E[l - 1][:n], Pbar[n:], E[l - 1][n:])
            Ebar[l - 1].view(2, n, -1).addcmul_(Pbar.view(2, n, -1), s[l - 1])
        gW[0] = torch.addmm(Ebar[0].t() @ X, gs[0].t(), vq)
        gbar = vq @ Ws[0].t()                                         # back along backprop's deltas, from dL/dz up
        for l in range(m):
            sbar[l] = gbar * deltas[l] if sbar[l] is None else sbar[l].addcmul_(gbar, deltas[l])
            db = torch.addcmul(dbar[l], gbar, s[l])
            if l < m - 1:
                gW[l + 1].addmm_(gs[l + 1].t(), db)
                gbar = db @ Ws[l + 1].t()
            else:
                gW[m] = db.sum(0, keepdim=True)                       # delta_m is the last weight
        gb, abar = [None] * m, None
        for l in range(m - 1, -1, -1):                                # back along the forward pass
            r = t[l] * torch.rsub(s[l], 1, alpha=2)                   # sigma''' / beta (0 on softplus's linear branch)
            if acts[l].beta != 1:
                r = acts[l].beta * r
            hbar = (sbar[l] * t[l]).addcmul_(tbar[l], r)
            if abar is not None:
                hbar.addcmul_(abar, s[l])
            gb[l] = hbar.sum(0)
            gW[l].addmm_(hbar.t(), inputs[l])
            if l > 0:
                abar = hbar @ Ws[l]
        grads = [g for l in range(m) for g in (gW[l], gb[l])] + [gW[m]]
        return (None,) * 7 + tuple(grads)


def accelerations(net, states, angular=0, input_scale=None, ridge=0.0):
    """Notebook 03's eq. (3) for L(s) = net(wrap(s) * input_scale)[0], batched: states (n, 2d) -> qddot (n, d).

    `angular`: how many leading coordinates are angles wrapped to [-pi, pi) (the notebook's
    `wrap_angles`); `input_scale`: (2d,) factors on the wrapped state, or None; `ridge` is
    added to the diagonal of d2L/dqdot2 as in the notebook's `euler_lagrange`. A singular
    d2L/dqdot2 gives inf/nan (torch.linalg.solve_ex), as there.
    """
    if not isinstance(states, torch.Tensor) or states.dim() != 2 or states.shape[1] % 2 or states.shape[1] == 0:
        raise ValueError(f"states must be a (n, 2d) tensor, got "
                         f"{tuple(states.shape) if isinstance(states, torch.Tensor) else type(states).__name__}")
    k = states.shape[1]
    d = k // 2
    if isinstance(angular, bool) or not isinstance(angular, int) or not 0 <= angular <= d:
        raise ValueError(f"angular must be an integer in [0, {d}], got {angular!r}")
    if input_scale is not None and tuple(torch.as_tensor(input_scale).shape) != (k,):
        raise ValueError(f"input_scale must have shape ({k},), got {tuple(torch.as_tensor(input_scale).shape)}")
    if input_scale is not None and not isinstance(input_scale, torch.Tensor):
        input_scale = torch.as_tensor(input_scale, dtype=states.dtype, device=states.device)
    if input_scale is not None and bool((input_scale == 1).all()):
        input_scale = None                                          # products by 1 are exact: the same bits, fewer kernels
    z = states
    if angular:
        wrapped = torch.remainder(states[..., :angular] + math.pi, 2 * math.pi) - math.pi
        z = torch.cat([wrapped, states[..., angular:]], dim=-1)
    if input_scale is not None:
        z = z * input_scale
    linears, acts = _layers(net)
    _check_input(z, linears)
    params = [p for lin in linears[:-1] for p in (lin.weight, lin.bias)] + [linears[-1].weight]
    if (torch.is_grad_enabled() and all(p is not None for p in params) and any(p.requires_grad for p in params)
            and not states.requires_grad and (input_scale is None or not input_scale.requires_grad)):
        return _EulerLagrange.apply(states, input_scale, d, ridge, linears, acts, z, *params)
    grad, hess, _ = _derivatives(linears, acts, z, slice(d, k))    # (n, k), (n, d, k)
    return _solve(states, grad, hess, input_scale, d, ridge)[0]
