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
    import types
    src = ns["train_step"]
    calls = []
    spy = types.SimpleNamespace(**{k: getattr(piecewise_walk, k) for k in dir(piecewise_walk) if not k.startswith("_")})
    spy.gru_walk = lambda *a: calls.append(1) or piecewise_walk.gru_walk(*a)
    step = types.FunctionType(src.__code__, dict(ns, piecewise_walk=spy), "train_step", src.__defaults__)
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
