"""course.piecewise_walk: notebook 06's GRU baseline walk and PCODE.read as single autograd nodes give the
notebook's plain code's values and every gradient bit for bit (torch.equal, float32 and float64); train_step walks
in one node only where the model reads as PCODE does; what the paths do not cover is declined or refused."""
import pytest
import torch

from course import piecewise_walk
from tests.nbimport import definitions


@pytest.fixture(scope="module")
def ns():
    return definitions("06_piecewise_node", extra=dict(BATCH=16, width=16))


def spied_step(ns, module, name):
    # the notebook's train_step with module.name replaced by a spy that counts its calls: (step, calls)
    import types
    src, calls = ns["train_step"], []
    spy = types.SimpleNamespace(**{k: getattr(module, k) for k in dir(module) if not k.startswith("_")})
    setattr(spy, name, lambda *a: calls.append(1) or getattr(module, name)(*a))
    glob = dict(ns, **{module.__name__.rsplit(".", 1)[-1]: spy})
    return types.FunctionType(src.__code__, glob, "train_step", src.__defaults__), calls


def _gru_plain(model, h, e):
    # notebook 06's PCODE.read after the move along the segment, as plain autograd operations
    r, z, n = e.chunk(3, -1)
    hr, hz, hn = torch.nn.functional.linear(h, model.core.weight_hh, model.core.bias_hh).chunk(3, -1)
    r, z = torch.sigmoid(r + hr), torch.sigmoid(z + hz)
    n = torch.tanh(n + r * hn)
    return n + z * (h - n)


def _read_plain(model, h, tau, e):
    # notebook 06's PCODE.read as plain autograd operations (before its one-node fast path)
    z, v = h.chunk(2, -1)
    z = z + model.c * tau[..., None] * v
    return _gru_plain(model, torch.cat([z, v.expand_as(z)], -1), e)


def _walk_plain(model, gates):
    # notebook 06's train_step frames with jumpy=False, as its jumpy_frame runs them: read at every frame
    h, start, hs = gates.new_zeros(gates.shape[1], model.rnn), gates.new_zeros(gates.shape[1]), []
    for t, e in enumerate(gates.unbind(0)):
        h, start = _read_plain(model, h, t - start, e), gates.new_full((gates.shape[1],), float(t))
        hs.append(h)
    return torch.stack(hs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", [0, 1])
def test_gru_walk_is_the_plain_walk_bit_for_bit(ns, dtype, seed):
    torch.manual_seed(seed)
    model = ns["PCODE"](3, 16, 8 + 8 * seed).to(dtype)
    gates = torch.randn(13 + seed, 6, 3 * model.rnn, dtype=dtype)
    w = torch.randn(gates.shape[0], 6, model.rnn, dtype=dtype)
    out = []
    for fn in (lambda g: piecewise_walk.gru_walk(g, model.core.weight_hh, model.core.bias_hh, model.c),
               lambda g: _walk_plain(model, g)):
        model.zero_grad()
        g = gates.clone().requires_grad_(True)
        H = fn(g)
        (H * w).sum().backward()
        out.append([H.detach(), g.grad, model.core.weight_hh.grad.clone(), model.core.bias_hh.grad.clone()])
    assert all(torch.equal(a, b) for a, b in zip(*out))


def test_gru_walk_only_for_pcode_read_and_refuses_bad_inputs(ns):
    # train_step walks in one node only where the model reads as PCODE does (not the ODE-RNN, not a changed read)
    step, calls = spied_step(ns, piecewise_walk, "gru_walk")
    x = torch.rand(9, 4, 2)
    for label, walks in (("PCODE", True), ("ODERNN", False)):
        calls.clear()
        step(ns[label](2, 16, 8), x, jumpy=False)
        assert bool(calls) == walks, label
    calls.clear()
    step(ns["PCODE"](2, 16, 8), x, jumpy=True)
    assert not calls

    class Other(ns["PCODE"]):                                  # a read of its own: walked frame by frame
        def read(self, h, tau, e):
            return super().read(h, tau, e) * 0.5
    step(Other(2, 16, 8), x, jumpy=False)
    assert not calls
    w, b = torch.zeros(24, 8), torch.zeros(24)
    with pytest.raises(ValueError, match="need gates"):
        piecewise_walk.gru_walk(torch.zeros(5, 3, 23), w, b, 0.2)
    with pytest.raises(ValueError, match="need gates"):
        piecewise_walk.gru_walk(torch.zeros(3, 24), w, b, 0.2)
    with pytest.raises(ValueError, match="need gates"):
        piecewise_walk.gru_walk(torch.zeros(5, 3, 21), torch.zeros(21, 7), torch.zeros(21), 0.2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("label", ["PCODE", "ODERNN"])
def test_read_is_the_plain_read_bit_for_bit(ns, dtype, label):
    # PCODE.read (pcode_read) and the ODE-RNN's (its RK4, then the plain GRU update): values, all gradients, torch.equal
    torch.manual_seed(3)
    model = ns[label](3, 16, 12).to(dtype)
    h0, e0 = torch.randn(7, 12, dtype=dtype), torch.randn(7, 36, dtype=dtype)
    tau, w = torch.randint(0, 5, (7,)).to(dtype), torch.randn(7, 12, dtype=dtype)
    plain = ((lambda h, e: _read_plain(model, h, tau, e)) if label == "PCODE" else
             (lambda h, e: _gru_plain(model, model.advance(h, tau), e)))
    out = []
    for fn in (lambda h, e: model.read(h, tau, e), plain):
        model.zero_grad()
        h, e = h0.clone().requires_grad_(True), e0.clone().requires_grad_(True)
        y = fn(h, e)
        (y * w).sum().backward()
        out.append([y.detach(), h.grad, e.grad] + [p.grad.clone() for p in model.parameters() if p.grad is not None])
    assert len(out[0]) == len(out[1]) and all(torch.equal(a, b) for a, b in zip(*out))


def test_read_paths_decline_what_they_do_not_cover(ns):
    w, b = torch.zeros(24, 8), torch.zeros(24)
    assert piecewise_walk.pcode_read(torch.zeros(4, 8), torch.zeros(4, requires_grad=True), torch.zeros(4, 24), w, b, 0.2) is None
    assert piecewise_walk.pcode_read(torch.zeros(4, 8), torch.zeros(3), torch.zeros(4, 24), w, b, 0.2) is None
    assert piecewise_walk.pcode_read(torch.zeros(4, 8), 1.0, torch.zeros(4, 24), w, b, 0.2) is None
    assert piecewise_walk.pcode_read(torch.zeros(4, 8), torch.zeros(4), torch.zeros(4, 23), w, b, 0.2) is None
    model = ns["PCODE"](2, 16, 8)                          # tau with a gradient: the notebook's plain read runs
    tau = torch.ones(3, requires_grad=True)
    model.read(torch.zeros(3, 8), tau, torch.zeros(3, 24)).sum().backward()
    assert tau.grad is not None


def _ode_walk_plain(model, gates):
    # notebook 06's ODE-RNN frames with jumpy=False: its own read (RK4 over tau, then the GRU update) at every frame
    h, start, hs = gates.new_zeros(gates.shape[1], model.rnn), gates.new_zeros(gates.shape[1]), []
    for t, e in enumerate(gates.unbind(0)):
        z, v = _rk4_plain(model, h, t - start)
        h, start = _gru_plain(model, torch.cat([z, v], -1), e), gates.new_full((gates.shape[1],), float(t))
        hs.append(h)
    return torch.stack(hs)


def _rk4_plain(model, h, tau):
    from course import piecewise_fast
    return piecewise_fast.rk4_along_reference(model.f, h, tau, model.c)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 2e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("seed", [0, 1])
def test_odernn_walk_is_the_plain_walk(ns, dtype, tol, seed):
    # states bit for bit (the same operations forward); every gradient to float rounding, against autograd through
    # the plain loop (RK4 as the notebook wrote it before its fast path) and through the notebook's ODERNN.read
    torch.manual_seed(seed)
    model = ns["ODERNN"](3, 16, 8 + 8 * seed).to(dtype)
    gates = torch.randn(13 + seed, 6, 3 * model.rnn, dtype=dtype)
    w = torch.randn(gates.shape[0], 6, model.rnn, dtype=dtype)
    params = [model.core.weight_hh, model.core.bias_hh, *model.f.parameters()]

    def notebook_read(g):
        h, start, hs = g.new_zeros(g.shape[1], model.rnn), g.new_zeros(g.shape[1]), []
        for t, e in enumerate(g.unbind(0)):
            h, start = model.read(h, t - start, e), g.new_full((g.shape[1],), float(t))
            hs.append(h)
        return torch.stack(hs)
    out = []
    for fn in (lambda g: piecewise_walk.odernn_walk(g, model.core.weight_hh, model.core.bias_hh, model.f, model.c),
               lambda g: _ode_walk_plain(model, g), notebook_read):
        model.zero_grad()
        g = gates.clone().requires_grad_(True)
        H = fn(g)
        (H * w).sum().backward()
        out.append([H.detach(), g.grad] + [p.grad.clone() for p in params])
    for other in out[1:]:
        assert torch.equal(out[0][0], other[0])
        for a, b in zip(out[0][1:], other[1:]):
            assert (a - b).abs().max() <= tol * b.abs().max()


def test_train_step_walks_the_odernn_in_one_node_only_for_its_own_along(ns):
    import types
    src = ns["train_step"]
    step, calls = spied_step(ns, piecewise_walk, "odernn_walk")
    x = torch.rand(9, 4, 2)
    for label, jumpy, walks in (("ODERNN", False, True), ("PCODE", False, False), ("ODERNN", True, False)):
        calls.clear()
        step(ns[label](2, 16, 8), x, jumpy=jumpy)
        assert bool(calls) == walks, (label, jumpy)

    class Other(ns["ODERNN"]):                                 # a move of its own: walked frame by frame
        def along(self, h, tau):
            z, v = super().along(h, tau)
            return z, 0.5 * v
    calls.clear()
    step(Other(2, 16, 8), x, jumpy=False)
    assert not calls
    torch.manual_seed(0)                                       # the loss is the plain loop's, bit for bit
    model, xs = ns["ODERNN"](2, 16, 8), torch.rand(9, 4, 2)
    fast = step(model, xs, jumpy=False)[0]
    plain = types.FunctionType(src.__code__, dict(ns, piecewise_walk=types.SimpleNamespace(
        gru_walk=piecewise_walk.gru_walk, odernn_walk=lambda g, *a: _ode_walk_plain(model, g))), "train_step",
        src.__defaults__)(model, xs, jumpy=False)[0]
    assert torch.equal(fast, plain)


def test_odernn_walk_refuses_bad_inputs(ns):
    model = ns["ODERNN"](2, 16, 8)
    w, b, f = model.core.weight_hh, model.core.bias_hh, model.f
    with pytest.raises(ValueError, match="gates"):
        piecewise_walk.odernn_walk(torch.zeros(5, 3, 20), w, b, f, 0.2)
    with pytest.raises(ValueError, match="ODE function"):
        piecewise_walk.odernn_walk(torch.zeros(5, 3, 24), w, b, torch.nn.Sequential(torch.nn.Linear(4, 4)), 0.2)
    with pytest.raises(ValueError, match="ODE function"):
        piecewise_walk.odernn_walk(torch.zeros(5, 3, 24), w, b, ns["ODERNN"](2, 16, 12).f, 0.2)


def test_the_walks_keep_no_reference_cycle(ns):
    # a node that keeps a view of its own output outside save_for_backward leaks every step's graph (found in a FULL
    # run: 10 GB); after backward and del, the states must be gone
    import weakref
    from course import piecewise_jumpy
    model = ns["ODERNN"](2, 16, 8)
    x = torch.rand(9, 4, 2)
    runs = [lambda E: piecewise_walk.odernn_walk(E, model.core.weight_hh, model.core.bias_hh, model.f, model.c),
            lambda E: piecewise_walk.gru_walk(E, model.core.weight_hh, model.core.bias_hh, model.c),
            lambda E: piecewise_jumpy.jumpy_walk(x, E, model.core.weight_hh, model.core.bias_hh, model.decoder, model.c,
                                                 0.1, 2, None)[0]]
    for run in runs:
        H = run(model.inputs(x[:-1]))
        ref = weakref.ref(H)
        H.sum().backward()
        del H
        assert ref() is None
