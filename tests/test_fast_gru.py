"""course.fast_gru against nn.GRU: outputs, final states and every gradient (input, h0, all parameters)."""
import copy

import pytest
import torch
import torch.nn as nn

from course import fast_gru

TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


def _both(rnn, x, h0, seed=1):
    res = []
    for f in (lambda: rnn(x, h0), lambda: fast_gru.gru(rnn, x, h0)):
        out, h_n = f()
        g = torch.Generator().manual_seed(seed)
        w_out = torch.randn(out.shape, generator=g, dtype=out.dtype)
        w_h = torch.randn(h_n.shape, generator=g, dtype=out.dtype)
        loss = (out * w_out).sum() + (h_n * w_h).sum() + (h_n ** 2).sum()
        leaves = [t for t in (x, h0) if t is not None and t.requires_grad] + list(rnn.parameters())
        res.append((out.detach(), h_n.detach(), *torch.autograd.grad(loss, leaves)))
    return res


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("shape", [(100, 40, 1, 6), (3, 7, 4, 5), (1, 1, 2, 3), (5, 13, 3, 1)],
                         ids=["mnist1d", "small", "one-step", "hidden-1"])
@pytest.mark.parametrize("with_h0", [False, True])
def test_matches_nn_gru(dtype, bidirectional, batch_first, shape, with_h0):
    n, steps, inp, hidden = shape
    torch.manual_seed(0)
    rnn = nn.GRU(inp, hidden, batch_first=batch_first, bidirectional=bidirectional).to(dtype)
    x = torch.randn((n, steps, inp) if batch_first else (steps, n, inp), dtype=dtype, requires_grad=True)
    h0 = torch.randn(2 if bidirectional else 1, n, hidden, dtype=dtype, requires_grad=True) if with_h0 else None
    ref, fast = _both(rnn, x, h0)
    assert len(ref) == len(fast)
    for a, b in zip(fast, ref):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert _rel(a, b) < TOL[dtype]


def test_unbatched_input():
    torch.manual_seed(1)
    rnn = nn.GRU(2, 4, batch_first=True, bidirectional=True).double()
    x = torch.randn(9, 2, dtype=torch.float64, requires_grad=True)
    for a, b in zip(*_both(rnn, x, None)):
        assert a.shape == b.shape and _rel(a, b) < 1e-12


def test_accelerate_keeps_the_module_and_state_dict():
    torch.manual_seed(2)
    model = nn.Sequential(nn.GRU(1, 6, batch_first=True, bidirectional=True))
    keys = list(model.state_dict())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(8, 40, 1)
    ref = model[0](x)[0]
    fast_gru.accelerate(model)
    assert isinstance(model[0], nn.GRU) and list(model.state_dict()) == keys
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    out = model[0](x)[0]
    assert out.grad_fn is not None
    assert _rel(out, ref) < 2e-6
    twin = copy.deepcopy(model)                       # a copy runs its own parameters
    with torch.no_grad():
        twin[0].weight_hh_l0.add_(0.5)
    assert not torch.allclose(twin[0](x)[0], out)
    assert torch.equal(model[0](x)[0], out)
    fast_gru.restore(model)
    assert "forward" not in model[0].__dict__
    assert torch.equal(model[0](x)[0], ref)


def test_accelerate_leaves_unfitting_grus_alone():
    two_layers = nn.GRU(1, 3, num_layers=2)
    no_bias = nn.GRU(1, 3, bias=False)
    fast_gru.accelerate(nn.Sequential(two_layers, no_bias))
    assert "forward" not in two_layers.__dict__ and "forward" not in no_bias.__dict__
    assert not fast_gru.fits(nn.LSTM(1, 3)) and not fast_gru.fits(nn.Linear(1, 3))


def test_bad_inputs():
    rnn = nn.GRU(2, 3, batch_first=True, bidirectional=True)
    with pytest.raises(ValueError, match="one-layer nn.GRU"):
        fast_gru.gru(nn.GRU(2, 3, num_layers=2), torch.randn(1, 2, 2))
    with pytest.raises(ValueError, match="one-layer nn.GRU"):
        fast_gru.gru(nn.LSTM(2, 3), torch.randn(1, 2, 2))
    with pytest.raises(ValueError, match="input_size"):
        fast_gru.gru(rnn, torch.randn(4, 5, 3))
    with pytest.raises(ValueError, match="2 or 3 dimensions"):
        fast_gru.gru(rnn, torch.randn(4, 5, 2, 1))
    with pytest.raises(ValueError, match="2 or 3 dimensions"):
        fast_gru.gru(rnn, torch.ones(4, 5, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="2 or 3 dimensions"):
        fast_gru.gru(rnn, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="dtype and device"):
        fast_gru.gru(rnn, torch.randn(4, 5, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="at least one step"):
        fast_gru.gru(rnn, torch.randn(4, 0, 2))
    with pytest.raises(ValueError, match="h0 must be"):
        fast_gru.gru(rnn, torch.randn(4, 5, 2), torch.zeros(1, 4, 3))
    with pytest.raises(ValueError, match="h0 must be"):
        fast_gru.gru(rnn, torch.randn(4, 5, 2), torch.zeros(2, 4, 3, dtype=torch.float64))
