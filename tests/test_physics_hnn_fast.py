"""course.physics.hnn_fast: the HNN field of the paper's tanh MLP with its backward written out, and its
NumPy float64 twin, equal autograd's (values, input and parameter gradients) to float rounding."""
import numpy as np
import pytest
import torch
from torch import nn

from course.physics import hnn_fast


def _net(d, hidden=32, out=1, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, out, bias=False)).to(dtype)


def _reference_field(energy_fn, x, create_graph=False):
    # notebook 02's hnn_field (the reference solution): J grad H by autograd
    with torch.enable_grad():
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        dH, = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=create_graph)
    n = x.shape[-1] // 2
    return torch.cat([dH[..., n:], -dH[..., :n]], dim=-1)


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
@pytest.mark.parametrize("d,batch", [(2, (50,)), (4, (200,)), (12, (3, 7))])
def test_field_and_its_gradients_equal_autograds_double_backward(dtype, tol, d, batch):
    net = _net(d, dtype=dtype, seed=d)
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(*batch, d, generator=gen, dtype=dtype)
    w = torch.randn(*batch, d, generator=gen, dtype=dtype)
    results = []
    for fn in (lambda x: _reference_field(lambda s: net(s).squeeze(-1), x, create_graph=True),
               lambda x: hnn_fast.field(net, x)):
        x = x0.clone().requires_grad_(True)
        out = fn(x)
        loss = (out * w).sum() + (out ** 2).sum()          # a loss that is not linear in the field
        grads = torch.autograd.grad(loss, [x] + list(net.parameters()))
        results.append([out] + list(grads))
    assert results[1][0].shape == x0.shape
    for got, want in zip(results[1], results[0]):
        assert got.shape == want.shape and got.dtype == want.dtype
        assert _rel(got, want) < tol


def test_field_without_gradients_is_the_same_forward():
    net = _net(4)
    x = torch.randn(30, 4, dtype=torch.float64)
    with torch.no_grad():
        got = hnn_fast.field(net, x)
    assert not got.requires_grad
    assert _rel(got, _reference_field(lambda s: net(s).squeeze(-1), x)) < 1e-13


def test_the_field_conserves_its_own_energy():
    net = _net(4)
    x = torch.randn(100, 4, dtype=torch.float64, requires_grad=True)
    grad_H, = torch.autograd.grad(net(x).sum(), x)
    assert (grad_H * hnn_fast.field(net, x)).sum(-1).abs().max() < 1e-12     # eq. (2)


@pytest.mark.parametrize("d", [2, 8])
def test_numpy_field_equals_the_float64_torch_model(d):
    net = _net(d, hidden=200, dtype=torch.float32, seed=3)          # a float32 model, as trained
    y = np.random.default_rng(0).normal(size=(15, d))
    net64 = _net(d, hidden=200, dtype=torch.float32, seed=3).double()
    want = _reference_field(lambda s: net64(s).squeeze(-1), torch.from_numpy(y)).numpy()
    got = hnn_fast.numpy_field(net)(0.0, y)
    assert got.dtype == np.float64 and got.shape == y.shape
    assert np.abs(got - want).max() <= 1e-13 * np.abs(want).max()
    flat = hnn_fast.numpy_field(net)(0.0, y.ravel()[:d])              # one state, as scipy passes it
    assert flat.shape == (d,) and np.allclose(flat, want[0], rtol=1e-13, atol=0)
    baseline = _net(d, hidden=200, out=d, dtype=torch.float32, seed=4)
    with torch.no_grad():
        want_b = baseline.double()(torch.from_numpy(y)).numpy()
    got_b = hnn_fast.numpy_field(_net(d, hidden=200, out=d, dtype=torch.float32, seed=4), hamiltonian=False)(0.0, y)
    assert np.abs(got_b - want_b).max() <= 1e-13 * np.abs(want_b).max()


def test_numpy_field_copies_the_weights_once():
    net = _net(2)
    f = hnn_fast.numpy_field(net)
    y = np.array([[0.3, -0.2]])
    before = f(0.0, y)
    with torch.no_grad():
        net[0].weight.mul_(2)
    assert np.array_equal(f(0.0, y), before)


def test_usable_accepts_the_reference_and_refuses_wrong_fields():
    assert hnn_fast.usable(_reference_field)

    def swapped(energy_fn, x, create_graph=False):               # (dH/dq, dH/dp): no J
        with torch.enable_grad():
            x = x if x.requires_grad else x.detach().requires_grad_(True)
            dH, = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=create_graph)
        return dH

    def sign(energy_fn, x, create_graph=False):
        return -_reference_field(energy_fn, x, create_graph)

    def detached(energy_fn, x, create_graph=False):              # forgets create_graph: cannot train
        return _reference_field(energy_fn, x, create_graph=False).detach()

    def broken(energy_fn, x, create_graph=False):
        raise RuntimeError("student bug")

    for wrong in (swapped, sign, detached, broken):
        assert not hnn_fast.usable(wrong), wrong.__name__
    with pytest.raises(TypeError, match="hnn_field"):
        hnn_fast.usable("not a function")


def test_mlp_weights_knows_the_papers_mlp_only():
    assert hnn_fast.mlp_weights(_net(4)) is not None
    relu = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1, bias=False))
    biased = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    deeper = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                           nn.Linear(8, 1, bias=False))
    for net in (relu, biased, deeper, nn.Linear(4, 1), "net"):
        assert hnn_fast.mlp_weights(net) is None


def test_bad_inputs_are_refused_with_the_argument_named():
    net = _net(4)
    relu = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1, bias=False))
    with pytest.raises(ValueError, match="net must be"):
        hnn_fast.field(relu, torch.zeros(3, 4))
    with pytest.raises(ValueError, match="x must be"):
        hnn_fast.field(net, torch.zeros(3, 5))
    with pytest.raises(ValueError, match="x must be"):
        hnn_fast.field(net, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="even"):
        hnn_fast.field(_net(3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="one output"):
        hnn_fast.field(_net(4, out=4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="net must be"):
        hnn_fast.numpy_field(relu)
    with pytest.raises(ValueError, match="hamiltonian"):
        hnn_fast.numpy_field(net, hamiltonian="yes")
    with pytest.raises(ValueError, match="one energy"):
        hnn_fast.numpy_field(_net(4, out=4), hamiltonian=True)
    with pytest.raises(ValueError, match="baseline"):
        hnn_fast.numpy_field(net, hamiltonian=False)
