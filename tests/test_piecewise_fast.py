"""course.piecewise_fast: the decoder at two elapsed times with a written-out backward gives notebook 06's values
and gradients (plain autograd, as the notebook writes change(h, tau) and change(h, 0)) to float rounding."""
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


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
def test_values_and_gradients_match_plain_autograd(ns, dtype, tol):
    torch.manual_seed(0)
    model = ns["PCODE"](3, 24, 16).to(dtype)
    h = torch.randn(5, 7, 16, dtype=dtype)
    tau = torch.randint(0, 6, (5, 7)).to(dtype)
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
