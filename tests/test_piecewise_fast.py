"""course.piecewise_fast: the decoder at two elapsed times with a written-out backward gives notebook 06's values
and gradients (plain autograd, as the notebook writes change(h, tau) and change(h, 0)) to float rounding; so do the
ResMLP body in one node and the ODE-RNN's RK4 step (rk4_along, against the notebook's earlier plain RK4); the
every-frame path of train_step runs only for a jumpy_frame that ticks every frame as the solution does, and gives the
same loss and gradients bit for bit."""
import pytest
import torch

from course import piecewise_fast
from tests.nbimport import definitions


@pytest.fixture(scope="module")
def ns():
    return definitions("06_piecewise_node", extra=dict(BATCH=16, width=16))


def _both(fn, model, h, tau):
    model.zero_grad()
    h = h.detach().requires_grad_(True)
    a, b = fn(model.decoder, h, tau, model.c)
    w = torch.linspace(-1, 1, a.numel(), dtype=a.dtype).reshape(a.shape)
    loss = (a * w).sum() + 0.3 * (b ** 2).sum()
    loss.backward()
    return a.detach(), b.detach(), h.grad, [p.grad.clone() for p in model.decoder.parameters()]


def _model_h_tau(ns, cls, seed, dtype):
    # a model of width 24 with a latent of 16, states (5, 7, 16) and whole-frame elapsed times 0..5
    torch.manual_seed(seed)
    return ns[cls](3, 24, 16).to(dtype), torch.randn(5, 7, 16, dtype=dtype), torch.randint(0, 6, (5, 7)).to(dtype)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
def test_values_and_gradients_match_plain_autograd(ns, dtype, tol):
    model, h, tau = _model_h_tau(ns, "PCODE", 0, dtype)
    fast = _both(piecewise_fast.decode_pair, model, h, tau)
    ref = _both(piecewise_fast.decode_pair_reference, model, h, tau)
    for x, y in zip(fast[:3] + tuple(fast[3]), ref[:3] + tuple(ref[3])):
        assert x.shape == y.shape
        assert torch.allclose(x, y, rtol=tol, atol=tol), (x - y).abs().max()


def test_reference_is_the_notebooks_change(ns):
    torch.manual_seed(1)
    model = ns["PCODE"](2, 16, 8)
    h, tau = torch.randn(4, 3, 8), torch.rand(4, 3) * 5
    a, b = piecewise_fast.decode_pair_reference(model.decoder, h, tau, model.c)
    assert torch.equal(a, model.change(h, tau)) and torch.equal(b, model.change(h, torch.zeros(4, 3)))


def test_bad_inputs_are_refused(ns):
    model = ns["PCODE"](2, 16, 8)
    with pytest.raises(ValueError, match="tau must have shape"):
        piecewise_fast.decode_pair(model.decoder, torch.zeros(4, 8), torch.zeros(3), model.c)
    with pytest.raises(ValueError, match="last dim"):
        piecewise_fast.decode_pair(model.decoder, torch.zeros(4, 6), torch.zeros(4), model.c)
    with pytest.raises(ValueError, match="ResMLP"):
        piecewise_fast.decode_pair(torch.nn.Linear(8, 2), torch.zeros(4, 8), torch.zeros(4), 0.2)


def _grads(fn, params, *inputs):
    for p in params:
        p.grad = None
    inputs = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = fn(*inputs)
    out = out if isinstance(out, tuple) else (out,)
    gen = torch.Generator().manual_seed(3)
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum() + 0.3 * (o ** 2).sum() for o in out)
    loss.backward()
    return [o.detach() for o in out], [x.grad for x in inputs] + [p.grad.clone() for p in params]


def _close(got, want, tol):
    for x, y in zip(got, want):
        assert x.shape == y.shape
        assert ((x - y).abs().max() / y.abs().max().clamp(min=1e-30)).item() <= tol, (x - y).abs().max()


def _old_along(model, h, tau):
    # notebook 06's ODERNN.along as written before the fast path (the plain autograd RK4)
    z, v = h.chunk(2, -1)
    s = tau[..., None]
    k1 = model.f(v)
    k2 = model.f(v + s / 2 * k1)
    k3 = model.f(v + s / 2 * k2)
    k4 = model.f(v + s * k3)
    z = z + model.c * s * (v + s / 6 * (k1 + k2 + k3))
    v = v + s / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return z, v


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_rk4_along_gives_the_plain_rk4_values_and_gradients(ns, dtype, tol):
    model, h, tau = _model_h_tau(ns, "ODERNN", 2, dtype)
    params = list(model.f.parameters())
    fast = _grads(lambda h: piecewise_fast.rk4_along(model.f, h, tau, model.c), params, h)
    ref = _grads(lambda h: _old_along(model, h, tau), params, h)
    assert all(torch.equal(a, b) for a, b in zip(fast[0], ref[0]))                # the same operations: the same values
    _close(fast[1], ref[1], tol)
    assert all(torch.equal(a, b) for a, b in zip(piecewise_fast.rk4_along_reference(model.f, h, tau, model.c), ref[0]))
    assert all(torch.equal(a, b) for a, b in zip(model.along(h, tau), ref[0]))    # the notebook's ODE-RNN uses it


def test_odernn_change_at_zero_is_the_rk4_change_at_zero(ns):
    torch.manual_seed(3)
    model = ns["ODERNN"](2, 16, 8)
    h, tau = torch.randn(6, 4, 8), torch.ones(6, 4)
    at_tau, at_zero = model.changes(h, tau)
    z, v = _old_along(model, h, torch.zeros(6, 4))                                # RK4 over 0 leaves the latent
    assert torch.equal(at_zero, model.decoder(torch.cat([z, model.c * v], -1)))
    assert torch.equal(at_tau, model.change(h, tau))


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_resmlp_body_gives_the_plain_values_and_gradients(ns, dtype, tol):
    torch.manual_seed(4)
    mlp = ns["ResMLP"](5, 16, 7).to(dtype)
    x = torch.randn(4, 6, 5, dtype=dtype)
    params = [p for name, p in mlp.named_parameters() if not name.startswith("out")]

    def plain(x):
        a = torch.relu(mlp.inp(x))
        a = a + torch.relu(mlp.res1(a))
        return a + torch.relu(mlp.res2(a))
    fast, ref = _grads(lambda x: piecewise_fast.resmlp_body(mlp, x), params, x), _grads(plain, params, x)
    assert torch.equal(fast[0][0], ref[0][0])
    _close(fast[1], ref[1], tol)
    with torch.no_grad():
        assert torch.equal(piecewise_fast.resmlp_body(mlp, x), ref[0][0])         # no graph: the plain operations
    assert torch.equal(mlp.body(x), ref[0][0])                                     # the notebook's ResMLP uses it


def test_rk4_and_body_refuse_bad_inputs(ns):
    model = ns["ODERNN"](2, 16, 8)
    with pytest.raises(ValueError, match="tau must have shape"):
        piecewise_fast.rk4_along(model.f, torch.zeros(4, 8), torch.zeros(3), 0.2)
    with pytest.raises(ValueError, match="twice f's width"):
        piecewise_fast.rk4_along(model.f, torch.zeros(4, 6), torch.zeros(4), 0.2)
    with pytest.raises(ValueError, match="Linear, Tanh, Linear"):
        piecewise_fast.rk4_along(torch.nn.Linear(4, 4), torch.zeros(4, 8), torch.zeros(4), 0.2)
    with pytest.raises(ValueError, match="last dim"):
        piecewise_fast.resmlp_body(model.encoder, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="ResMLP"):
        piecewise_fast.resmlp_body(torch.nn.Linear(2, 2), torch.zeros(4, 2))
    with pytest.raises(TypeError, match="must be a function"):
        piecewise_fast.ticks_every_frame(None)


def _wrong_frame(kind):
    def jumpy_frame(model, h, start, x_tick, x, e, t, eps=3e-3, jumpy=True, burn_in=4, max_segment=None):
        seen, read = (x[t + 1], e[t + 1]) if kind == "future" else (x[t], e[t])
        tick = torch.ones(x.shape[1], dtype=torch.bool)
        if kind == "jumps":                                                        # jumpy=False ignored
            with torch.no_grad():
                tick = ((model.predict(h, x_tick, t + 1 - start) - x[t + 1]) ** 2).mean(-1) >= eps
        h_new = model.read(h, 0 * start if kind == "still" else t - start, read)
        return (tick, torch.where(tick[:, None], h_new, h), torch.where(tick, float(t), start),
                torch.where(tick[:, None], seen, x_tick))
    return jumpy_frame


def test_every_frame_path_only_for_the_reference_and_bit_identical(ns):
    assert piecewise_fast.ticks_every_frame(ns["jumpy_frame"])
    for kind in ("future", "still", "jumps"):
        assert not piecewise_fast.ticks_every_frame(_wrong_frame(kind)), kind
    # train_step with the fast frames (jumpy=False) gives the same loss and gradients, bit for bit, as the student's
    # jumpy_frame called at every frame; a wrong jumpy_frame changes them
    import types
    torch.manual_seed(5)
    x = torch.rand(21, 8, 2)
    slow_ns = dict(ns, piecewise_fast=types.SimpleNamespace(ticks_every_frame=lambda fn: False,
                                                            decode_pair=piecewise_fast.decode_pair,
                                                            resmlp_body=piecewise_fast.resmlp_body,
                                                            rk4_along=piecewise_fast.rk4_along))
    step = ns["train_step"]
    slow = types.FunctionType(step.__code__, slow_ns, "train_step", step.__defaults__)
    wrong = types.FunctionType(step.__code__, dict(ns, jumpy_frame=_wrong_frame("still")), "train_step", step.__defaults__)
    for label in ("PCODE", "ODERNN"):
        model = ns[label](2, 16, 8)
        out = []
        for fn in (step, slow, wrong):
            model.zero_grad()
            loss, mse, mean_dt = fn(model, x, jumpy=False)
            loss.backward()
            out.append([loss.detach()] + [p.grad.clone() for p in model.parameters()])
        if label == "PCODE":                                   # the GRU's walk: bit for bit
            assert all(torch.equal(a, b) for a, b in zip(out[0], out[1])), label
        else:                                                  # the ODE-RNN's walk: the same loss, gradients to rounding
            assert torch.equal(out[0][0], out[1][0])
            assert all((a - b).abs().max() <= 1e-5 * b.abs().max() for a, b in zip(out[0][1:], out[1][1:]))
        assert not torch.equal(out[0][0], out[2][0]), label
