"""course.lnn_fast: the written-out Euler-Lagrange layer equals notebook 03's torch.func version
(`accelerations(model.lagrangian, states)`, the lesson) in values and in parameter gradients."""
import math

import pytest
import torch
from torch import nn

from course import lnn_fast
from tests.nbimport import definitions


@pytest.fixture(scope="module")
def ns():
    return definitions("03_lagrangian_nn")


def _reference(ns, model, states, ridge=0.0):
    return ns["accelerations"](model.lagrangian, states, ridge)


def _fast(model, states, ridge=0.0):
    return lnn_fast.accelerations(model.net, states, model.angular, model.input_scale, ridge)


@pytest.mark.parametrize("dof, angular, scale, layers", [(2, 2, None, 2), (1, 0, None, 2), (1, 0, (0.7, 2.3), 2),
                                                         (2, 1, (1.5, 0.5, 2.0, 0.8), 3), (1, 0, None, 1)])
def test_accelerations_and_parameter_gradients_equal_torch_func(ns, dof, angular, scale, layers):
    torch.manual_seed(dof + angular + layers)
    model = ns["LagrangianNN"](dof, 24, angular=angular, input_scale=scale, layers=layers).double()
    states = 2.5 * torch.randn(50, 2 * dof, dtype=torch.float64)
    states[:5, :angular] += 2 * math.pi                         # wrapped angles
    ref, fast = _reference(ns, model, states), _fast(model, states)
    assert (fast - ref).abs().max() <= 1e-12 * ref.abs().max()
    params = list(model.net.parameters())[:-1]                  # L's constant (the last bias) does not reach qddot
    g_ref = torch.autograd.grad((ref ** 2).sum(), params)
    g_fast = torch.autograd.grad((fast ** 2).sum(), params)
    for a, b in zip(g_fast, g_ref):
        assert (a - b).abs().max() <= 1e-12 * b.abs().max()


def test_ridge_and_the_notebooks_model_switch(ns):
    torch.manual_seed(0)
    model = ns["LagrangianNN"](2, 16, angular=2).double()
    states = torch.randn(20, 4, dtype=torch.float64)
    torch.testing.assert_close(_fast(model, states, ridge=0.3), _reference(ns, model, states, ridge=0.3),
                               rtol=1e-12, atol=1e-12)
    fast = model(states)                                        # LagrangianNN.fast is on by default
    model.fast = False
    torch.testing.assert_close(fast, model(states), rtol=1e-12, atol=1e-12)


def test_softplus_linear_branch_and_float32(ns):
    # weights large enough that some pre-activations pass softplus's threshold (20): L is linear there
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(2, 8), nn.Softplus(), nn.Linear(8, 8), nn.Softplus(), nn.Linear(8, 1)).double()
    with torch.no_grad():
        net[0].weight.mul_(15.0)
    z = torch.randn(40, 2, dtype=torch.float64)
    assert (net[0](z) > 20).any()
    grad, hess = lnn_fast.mlp_derivatives(net, z)
    f = lambda s: net(s)[0]
    torch.testing.assert_close(grad, torch.vmap(torch.func.grad(f))(z), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(hess, torch.vmap(torch.func.hessian(f))(z), rtol=1e-12, atol=1e-12)
    model = ns["LagrangianNN"](2, 32, angular=2)                 # float32, as the notebook trains
    s = torch.randn(30, 4)
    torch.testing.assert_close(_fast(model, s), _reference(ns, model, s), rtol=1e-3, atol=1e-3)


def test_singular_mass_matrix_gives_non_finite_not_an_error():
    net = nn.Sequential(nn.Linear(2, 4), nn.Softplus(), nn.Linear(4, 1)).double()
    with torch.no_grad():
        net[0].weight[:, 1] = 0.0                               # L does not depend on qdot
    out = lnn_fast.accelerations(net, torch.randn(5, 2, dtype=torch.float64))
    assert out.shape == (5, 1) and not torch.isfinite(out).all()


def test_bad_inputs_are_refused():
    net = nn.Sequential(nn.Linear(4, 8), nn.Softplus(), nn.Linear(8, 1))
    with pytest.raises(ValueError, match="states"):
        lnn_fast.accelerations(net, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="states"):
        lnn_fast.accelerations(net, [[0.0] * 4])
    with pytest.raises(ValueError, match="angular"):
        lnn_fast.accelerations(net, torch.zeros(3, 4), angular=3)
    with pytest.raises(ValueError, match="input_scale"):
        lnn_fast.accelerations(net, torch.zeros(3, 4), input_scale=torch.ones(3))
    with pytest.raises(ValueError, match="Softplus"):
        lnn_fast.accelerations(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="one output"):
        lnn_fast.accelerations(nn.Sequential(nn.Linear(4, 8), nn.Softplus(), nn.Linear(8, 2)), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="Sequential"):
        lnn_fast.accelerations(nn.Linear(4, 1), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="z must"):
        lnn_fast.mlp_derivatives(net, torch.zeros(3, 5))


@pytest.mark.parametrize("activation", [nn.Tanh, nn.Softplus])
def test_mlp_gradient_and_its_parameter_gradients_equal_vmap_grad(activation):
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(4, 16), activation(), nn.Linear(16, 16), activation(), nn.Linear(16, 1)).double()
    z = 2 * torch.randn(30, 4, dtype=torch.float64)
    ref = torch.vmap(torch.func.grad(lambda s: net(s)[0]))(z)
    fast = lnn_fast.mlp_gradient(net, z)
    assert (fast - ref).abs().max() <= 1e-12 * ref.abs().max()
    params = list(net.parameters())[:-1]
    for a, b in zip(torch.autograd.grad((fast ** 2).sum(), params), torch.autograd.grad((ref ** 2).sum(), params)):
        assert (a - b).abs().max() <= 1e-12 * b.abs().max()
    with pytest.raises(ValueError, match="Tanh or Softplus"):
        lnn_fast.mlp_gradient(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)), z)
    with pytest.raises(ValueError, match="z must"):
        lnn_fast.mlp_gradient(net, z[:, :3])


def test_the_notebooks_hnn_switch(ns):
    torch.manual_seed(4)
    hnn = ns["HamiltonianNN"](1, 16).double()
    states = torch.randn(20, 2, dtype=torch.float64)
    fast = hnn(states)
    try:
        ns["LagrangianNN"].fast = False
        slow = hnn(states)
    finally:
        ns["LagrangianNN"].fast = True
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)


def test_softplus_beta_and_unit_input_scale_paths():
    # beta != 1 takes the general branch; beta == 1 and an all-ones input_scale skip exact products by 1
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(4, 12), nn.Softplus(beta=2.0), nn.Linear(12, 12), nn.Softplus(beta=2.0),
                        nn.Linear(12, 1)).double()
    z = torch.randn(25, 4, dtype=torch.float64)
    grad, hess = lnn_fast.mlp_derivatives(net, z)
    f = lambda s: net(s)[0]
    torch.testing.assert_close(grad, torch.vmap(torch.func.grad(f))(z), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(hess, torch.vmap(torch.func.hessian(f))(z), rtol=1e-12, atol=1e-12)
    net1 = nn.Sequential(nn.Linear(4, 12), nn.Softplus(), nn.Linear(12, 12), nn.Softplus(), nn.Linear(12, 1))
    s = 2 * torch.randn(25, 4)
    params = list(net1.parameters())[:-1]
    outs = [lnn_fast.accelerations(net1, s, 2, scale) for scale in (None, torch.ones(4), [1.0, 1.0, 1.0, 1.0])]
    grads = [torch.autograd.grad(o.square().sum(), params) for o in outs]
    for o, g in zip(outs[1:], grads[1:]):
        assert torch.equal(o, outs[0]) and all(torch.equal(a, b) for a, b in zip(g, grads[0]))
    half = lnn_fast.accelerations(net1, s, 2, [1.0, 1.0, 0.5, 1.0])        # a scale that is not all ones still acts
    assert not torch.equal(half, outs[0])


def _plain_and_node(net, states, angular, scale, ridge=0.0, weights=None):
    """accelerations and its parameter gradients (of sum(weights * qddot)) by the written-out node and by plain
    autograd through the same closed-form forward (taken when the states need a gradient)."""
    params = list(net.parameters())[:-1]
    node = lnn_fast.accelerations(net, states, angular, scale, ridge)
    weights = torch.randn_like(node) if weights is None else weights.to(node.dtype)
    g_node = torch.autograd.grad((node * weights).sum(), params)
    plain = lnn_fast.accelerations(net, states.clone().requires_grad_(True), angular, scale, ridge)
    g_plain = torch.autograd.grad((plain * weights).sum(), params)
    return node, plain, g_node, g_plain


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("dof, angular, scale, layers, beta, ridge", [
    (2, 2, None, 2, 1.0, 0.0), (1, 0, (0.7, 2.3), 2, 1.0, 0.0), (2, 1, (1.5, 0.5, 2.0, 0.8), 3, 1.0, 0.1),
    (1, 0, None, 1, 1.0, 0.0), (2, 2, None, 2, 2.0, 0.0), (3, 0, None, 2, 1.0, 0.0)])
def test_written_out_backward_equals_autograd(dtype, tol, dof, angular, scale, layers, beta, ridge):
    # the node's forward is the closed form's, bit for bit; its parameter gradients (the backward written out)
    # equal autograd's through the closed form, to float64 / float32 rounding
    torch.manual_seed(10 * dof + layers)
    k, mods = 2 * dof, []
    for i in range(layers):
        mods += [nn.Linear(k if i == 0 else 20, 20), nn.Softplus(beta=beta)]
    net = nn.Sequential(*mods, nn.Linear(20, 1)).to(dtype)
    with torch.no_grad():
        for lin in net[0::2]:
            lin.weight.mul_(2.0), lin.bias.normal_(0, 0.5)
    states = 2 * torch.randn(40, k, dtype=dtype)
    scale = None if scale is None else torch.tensor(scale, dtype=dtype)
    weights = torch.randn(40, dof, dtype=dtype)
    node, plain, g_node, g_plain = _plain_and_node(net, states, angular, scale, ridge, weights)
    assert node.grad_fn is not None and "EulerLagrange" in type(node.grad_fn).__name__
    assert torch.equal(node, plain.detach())
    if dtype == torch.float64:
        for a, b in zip(g_node, g_plain):
            assert (a - b).abs().max() <= tol * b.abs().max()
    else:                 # float32: both within rounding of the float64 gradients (a 3x3 mass matrix amplifies it)
        g64 = _plain_and_node(net.double(), states.double(), angular, None if scale is None else scale.double(), ridge,
                              weights)[2]
        for a, b, c in zip(g_node, g_plain, g64):
            err_node, err_plain = (a.double() - c).abs().max(), (b.double() - c).abs().max()
            assert err_node <= max(tol * c.abs().max(), 3 * err_plain) and err_node <= 1e-2 * c.abs().max()


def test_written_out_backward_on_softplus_linear_branch_and_frozen_layers():
    torch.manual_seed(7)
    net = nn.Sequential(nn.Linear(4, 16), nn.Softplus(), nn.Linear(16, 16), nn.Softplus(), nn.Linear(16, 1)).double()
    with torch.no_grad():
        net[0].weight.mul_(15.0)
    states = torch.randn(30, 4, dtype=torch.float64)
    assert (net[0](states) > 20).any()                           # some units on softplus's linear branch
    node, plain, g_node, g_plain = _plain_and_node(net, states, 2, None)
    for a, b in zip(g_node, g_plain):
        assert (a - b).abs().max() <= 1e-12 * b.abs().max()
    net[0].weight.requires_grad_(False)                          # a frozen layer: the others' gradients still flow
    out = lnn_fast.accelerations(net, states, 2)
    g = torch.autograd.grad(out.square().sum(), [net[2].weight, net[0].bias])
    plain = lnn_fast.accelerations(net, states.clone().requires_grad_(True), 2)
    g_ref = torch.autograd.grad(plain.square().sum(), [net[2].weight, net[0].bias])
    for a, b in zip(g, g_ref):
        assert (a - b).abs().max() <= 1e-12 * b.abs().max()


def test_states_with_a_gradient_and_no_grad_take_the_plain_path(ns):
    torch.manual_seed(8)
    model = ns["LagrangianNN"](2, 16, angular=2).double()
    states = torch.randn(12, 4, dtype=torch.float64, requires_grad=True)
    out = _fast(model, states)                                   # d(qddot)/d(states) as well: plain autograd
    ref = _reference(ns, model, states)
    g, g_ref = (torch.autograd.grad(o.square().sum(), states)[0] for o in (out, ref))
    assert (g - g_ref).abs().max() <= 1e-12 * g_ref.abs().max()
    with torch.no_grad():
        assert torch.equal(_fast(model, states), out.detach())   # inference: the same numbers, no node
    with pytest.raises(ValueError, match="states"):
        lnn_fast.accelerations(model.net, torch.zeros(3, 4, requires_grad=True)[:, :3], 2)
