"""Notebook 02's own code, where it lives: the exercises' reference solutions, their checks (which
must fail on plausible wrong answers), the HNN's conservation law, and the pixel renderer."""
import numpy as np
import pytest
import torch

from course import physics
from tests.nbimport import definitions, importable, run_check

NB = "02_hamiltonian_nn"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)


def test_reference_solutions_pass_their_checks(ns):
    run_check(NB, "02_spring_field_check", ns)
    run_check(NB, "02_hnn_field_check", ns)


@pytest.mark.parametrize("wrong", [
    lambda x: np.stack([-2 * x[..., 1], 2 * x[..., 0]], -1),      # sign flipped (time runs backwards)
    lambda x: np.stack([x[..., 1], -x[..., 0]], -1),              # missing factor 2 (the text's 1/2 q^2 + 1/2 p^2)
    lambda x: np.stack([2 * x[..., 0], 2 * x[..., 1]], -1),       # plain gradient, no J
], ids=["sign", "factor", "gradient"])
def test_spring_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "02_spring_field_check", ns, overrides={"spring_field": wrong})


def _grad(energy_fn, x, create_graph=False):
    with torch.enable_grad():
        x = x.detach().requires_grad_(True) if not x.requires_grad else x
        g, = torch.autograd.grad(energy_fn(x).sum(), x, create_graph=create_graph)
    return g


def _sign_flipped(energy_fn, x, create_graph=False):
    g = _grad(energy_fn, x, create_graph)
    n = x.shape[-1] // 2
    return torch.cat([-g[..., n:], g[..., :n]], -1)


def _riemann(energy_fn, x, create_graph=False):
    return _grad(energy_fn, x, create_graph)


def _swap_without_sign(energy_fn, x, create_graph=False):
    g = _grad(energy_fn, x, create_graph)
    n = x.shape[-1] // 2
    return torch.cat([g[..., n:], g[..., :n]], -1)


def _detached(energy_fn, x, create_graph=False):
    return _sign_ok(energy_fn, x).detach()


def _sign_ok(energy_fn, x):
    g = _grad(energy_fn, x)
    n = x.shape[-1] // 2
    return torch.cat([g[..., n:], -g[..., :n]], -1)


@pytest.mark.parametrize("wrong", [_sign_flipped, _riemann, _swap_without_sign, _detached],
                         ids=["sign-flipped", "riemann-gradient", "no-minus", "no-create-graph"])
def test_hnn_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "02_hnn_field_check", ns, overrides={"hnn_field": wrong})


def test_sign_flipped_field_still_conserves_h_so_the_check_must_compare_values(ns):
    """Why the check compares with J grad H: a sign flip conserves H too (it is -J grad H)."""
    H = lambda x: (x ** 2).sum(-1) + torch.cos(x[..., 0])
    x = torch.randn(50, 2, dtype=torch.float64)
    rate = (_grad(H, x) * _sign_flipped(H, x)).sum(-1)
    assert rate.abs().max() < 1e-12


def test_hnn_field_of_the_true_hamiltonian_is_the_true_pendulum_and_conserves_h(ns):
    """hnn_field of the pendulum's H (torch) = physics.Pendulum's field; its rollout keeps H to 1e-9."""
    pend = physics.Pendulum(m=0.5, g=3.0)
    H = lambda x: 3 * (1 - torch.cos(x[..., 0])) + x[..., 1] ** 2

    def field(t, y):
        y = torch.as_tensor(np.asarray(y), dtype=torch.float64).reshape(-1, 2)
        return ns["hnn_field"](H, y).detach().numpy().reshape(np.shape(y) if np.ndim(y) > 1 else (2,))

    y = pend.sample_initial(30, rng=0)
    np.testing.assert_allclose(field(0, y), pend.derivative(0, y), atol=1e-12)
    traj = physics.reference(field, y[:3], np.linspace(0, 30, 61), rtol=1e-12, atol=1e-12)
    energy = pend.energy(traj)
    assert np.max(np.abs(energy / energy[0] - 1)) < 1e-9


def test_hnn_model_conserves_its_own_energy_and_trains(ns):
    torch.manual_seed(0)
    model = ns["HNN"](4, 32).double()
    x = torch.randn(100, 4, dtype=torch.float64)
    grad_H = _grad(model.energy, x)
    assert (grad_H * model(x)).sum(-1).abs().max() < 1e-12            # eq. (2) for a random network
    out = model(x.clone().requires_grad_(False))
    loss = out.pow(2).mean()
    loss.backward()                                                   # second derivative through eq. (1)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with torch.no_grad():                                             # evaluation needs no graph
        assert not model(x).requires_grad


def test_baseline_mlp_shapes_and_orthogonal_init(ns):
    mlp = ns["MLP"](2, 16, 2)
    assert mlp(torch.zeros(5, 2)).shape == (5, 2)
    w = mlp.net[2].weight
    np.testing.assert_allclose((w @ w.T).detach().numpy(), np.eye(16), atol=1e-5)
    assert mlp.net[-1].bias is None


def test_energy_starts_follow_the_paper(ns):
    x = ns["energy_starts"](1000, 0)
    assert x.shape == (1000, 2) and np.all((np.abs(x) >= 0.2) & (np.abs(x) <= 1.0))


def test_pixel_pendulum_shape_range_and_motion(ns):
    pixel_pendulum = ns["pixel_pendulum"]
    theta = np.linspace(-0.5, 0.5, 6).reshape(2, 3)
    frames = pixel_pendulum(theta, size=28)
    assert frames.shape == (2, 3, 28, 28)
    assert frames.min() >= 0 and frames.max() <= 1 and frames.max() > 0.9
    cols = np.arange(28)
    swing = pixel_pendulum(np.linspace(-0.5, 0.5, 5))
    centroid = (swing * cols).sum((1, 2)) / swing.sum((1, 2))
    assert np.all(np.diff(centroid) > 0.5)   # positive theta swings the bob to the right
    down, up = pixel_pendulum(0.0), pixel_pendulum(np.pi)
    rows = np.arange(28)[:, None]
    assert (down * rows).sum() / down.sum() > 14 > (up * rows).sum() / up.sum()
    with pytest.raises(ValueError, match="size must"):
        pixel_pendulum(0.1, size=4)
    with pytest.raises(ValueError, match="theta must"):
        pixel_pendulum(np.nan)


# ---------------------------------------------------------------- issue 24: the claims that were untested
def test_the_angle_read_back_from_a_frame_is_the_rendered_angle(ns):
    theta = np.linspace(-2.5, 2.5, 41)
    got = ns["read_angle"](ns["pixel_pendulum"](theta).reshape(len(theta), -1))
    assert np.abs(got - theta).max() < 0.01
    assert abs(ns["read_angle"](ns["pixel_pendulum"](0.0).ravel())) < 1e-9     # hanging down reads 0


class _TrueSpring(torch.nn.Module):
    """The exact spring field H = q^2 + p^2 as a model (for numpy_field)."""

    def forward(self, x):
        return torch.stack([2 * x[..., 1], -2 * x[..., 0]], -1)


class _Spiral(torch.nn.Module):
    """A damped spring: it loses energy, so time reversal does not bring it back."""

    def forward(self, x):
        return torch.stack([2 * x[..., 1], -2 * x[..., 0] - 0.1 * x[..., 1]], -1)


def test_time_reversal_brings_a_hamiltonian_field_back_and_not_a_spiral(ns):
    assert ns["return_distance"](_TrueSpring()) < 1e-6
    assert ns["return_distance"](_Spiral()) > 0.1


def test_three_body_starts_are_an_equilateral_triangle_on_circular_orbits(ns):
    system = ns["ThreeBody"](orbit_noise=0.0)
    y0 = system.sample_initial(5, rng=0)
    pos, mom = system.positions(y0), system.momenta(y0)
    np.testing.assert_allclose(pos.sum(axis=1), 0, atol=1e-12)          # centre of mass at the origin
    np.testing.assert_allclose(mom.sum(axis=1), 0, atol=1e-12)          # at rest
    r = np.linalg.norm(pos, axis=-1)
    assert np.all((r > 0.9 - 1e-12) & (r < 1.2 + 1e-12))
    sides = np.linalg.norm(pos - np.roll(pos, 1, axis=1), axis=-1)
    np.testing.assert_allclose(sides, np.sqrt(3) * r, rtol=1e-12)      # 120 degrees apart
    accel = system.derivative(0.0, y0)[:, 6:].reshape(5, 3, 2)          # unit masses: dp/dt = acceleration
    speed = np.linalg.norm(mom, axis=-1)
    np.testing.assert_allclose(np.linalg.norm(accel, axis=-1), speed ** 2 / r, rtol=1e-10)   # circular: v^2 / r


@pytest.fixture
def picklable(ns):
    """The notebook's functions findable by name, as course.sweep's worker processes need them (in the
    notebook they live in __main__; here in a module named after the namespace)."""
    with importable(ns):
        yield ns


def test_trainings_in_two_processes_equal_one_after_the_other(picklable):
    # FULL runs the pairs (and the seeds, the fresh draws) in worker processes: the cards must not depend on it
    ns = picklable
    spring = physics.MassSpring(m=0.5, k=2.0, radius=(0.1, 1.0))
    data = ns["split_dataset"](spring, 6, np.linspace(0, 3, 10), 0.1, seed=0)
    jobs = [dict(data=data, hidden=16, steps=25, progress=False), dict(data=data, hidden=16, steps=25, seed=1, batch_size=8)]
    serial, parallel = ns["train_pairs"](jobs, workers=1), ns["train_pairs"](jobs, workers=2)
    for (models_1, hist_1), (models_2, hist_2) in zip(serial, parallel):
        assert list(models_1) == list(models_2) == ["baseline", "hnn"]
        for name in models_1:
            assert hist_1[name]["test_loss"] == hist_2[name]["test_loss"]
            for a, b in zip(models_1[name].state_dict().values(), models_2[name].state_dict().values()):
                assert torch.equal(a, b)
    assert serial[0][1]["hnn"]["test_loss"] != serial[1][1]["hnn"]["test_loss"]      # the seed and batch matter
    models, hist = ns["train_pair"](data, 16, 25, progress=False, workers=2)           # train_pair is one job
    assert hist["hnn"]["test_loss"] == serial[0][1]["hnn"]["test_loss"]


# ---------------------------------------------------------------- speed (issue 23): fast paths equal the reference
def _pixel_namespace(ns, n_videos=6):
    """ns plus a small set of videos and the notebook's own cell that builds the frame tensors."""
    import json
    from tests.nbimport import notebook_path
    cells = json.loads(notebook_path(NB).read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    pixel = dict(ns)
    theta = np.random.default_rng(0).uniform(-0.5, 0.5, (n_videos, 1)) * np.cos(np.linspace(0, 6, 60))
    pixel["videos"] = pixel["pixel_pendulum"](theta).reshape(n_videos, 60, -1)       # (videos, frames, 784)
    for marker in ("pair_tensor =", "def frame_pairs("):                 # the tensors, then frame_pairs bound to them
        exec(next(s for s in sources if marker in s), pixel)
    return pixel


def test_frame_pairs_are_the_two_frames_side_by_side(ns):
    pixel = _pixel_namespace(ns)
    v = pixel["video_tensor"]
    vi, fi = torch.tensor([0, 5, 3, 3, 1]), torch.tensor([0, 57, 10, 11, 30])
    pairs = pixel["frame_pairs"](vi, fi)
    assert pairs.shape == (2, 5, 2 * 784)
    assert torch.equal(pairs[0], torch.cat([v[vi, fi], v[vi, fi + 1]], dim=-1))         # frames (t, t+1)
    assert torch.equal(pairs[1], torch.cat([v[vi, fi + 1], v[vi, fi + 2]], dim=-1))     # frames (t+1, t+2)


def _old_pixel_losses(ns, ae, dynamics, x, x_next):
    # the loss as written before (issue 23): each half encoded on its own, the HNN through hnn_field's autograd
    z, z_next = ae.encode(x), ae.encode(x_next)
    field = (ns["hnn_field"](dynamics.energy, z, create_graph=True) if isinstance(dynamics, ns["HNN"])
             else dynamics(z))
    return (torch.nn.functional.mse_loss(ae.decode(z), x), torch.nn.functional.mse_loss(z[:, 1], z_next[:, 0] - z[:, 0]),
            torch.nn.functional.mse_loss(z + field, z_next))


@pytest.mark.parametrize("hamiltonian", [True, False])
def test_pixel_losses_in_one_encoder_batch_equal_the_two_encodings(ns, hamiltonian):
    # the encoder sees (t, t+1) and (t+1, t+2) as one batch of 2 x 200 rows: the same losses and gradients to
    # float32 rounding (the sums over the batch and the weight gradients add in another order)
    torch.manual_seed(0)
    ae = ns["Autoencoder"](2 * 784, hidden=64)
    dyn = ns["HNN"](2, 64) if hamiltonian else ns["MLP"](2, 64, 2)
    params = list(ae.parameters()) + list(dyn.parameters())
    gen = torch.Generator().manual_seed(1)
    pairs = torch.rand(2, 200, 2 * 784, generator=gen)
    results = []
    for losses in (lambda: ns["pixel_losses"](ae, dyn, pairs), lambda: _old_pixel_losses(ns, ae, dyn, pairs[0], pairs[1])):
        values = losses()
        grads = torch.autograd.grad(sum(values), params)
        results.append((torch.stack(values), grads))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-6, atol=0)
    for got, want in zip(results[0][1], results[1][1]):
        assert ((got - want).abs().max() / want.abs().max()).item() < 1e-5


def test_pixel_adam_fused_is_the_default_loop_to_rounding(ns):
    # the pixel training asks for fused=True (Adam's update in one kernel): after 5 steps the weights equal the
    # default loop's to float32 rounding
    runs = []
    for fused in (None, True):
        torch.manual_seed(0)
        ae, dyn = ns["Autoencoder"](2 * 784, hidden=16), ns["HNN"](2, 16)
        params = list(ae.parameters()) + list(dyn.parameters())
        opt = torch.optim.Adam(params, lr=1e-3, weight_decay=1e-5, fused=fused)
        gen = torch.Generator().manual_seed(1)
        for _ in range(5):
            pairs = torch.rand(2, 8, 2 * 784, generator=gen)
            loss = sum(ns["pixel_losses"](ae, dyn, pairs))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        runs.append([p.detach().clone() for p in params])
    for a, b in zip(*runs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_hnn_fast_path_gives_the_students_field_and_gradients(ns):
    # HNN.forward takes course.physics.hnn_fast once the student's hnn_field gives J grad H: the same field and
    # parameter gradients as the student's hnn_field with create_graph (float64: to 1e-12)
    torch.manual_seed(0)
    model = ns["HNN"](4, 32).double()
    x = torch.randn(64, 4, dtype=torch.float64)
    fast = model(x)
    slow = ns["hnn_field"](model.energy, x, create_graph=True)
    assert ((fast - slow).abs().max() / slow.abs().max()).item() < 1e-12
    for g_fast, g_slow in zip(torch.autograd.grad((fast ** 2).sum(), list(model.parameters())),
                              torch.autograd.grad((slow ** 2).sum(), list(model.parameters()))):
        assert ((g_fast - g_slow).abs().max() / g_slow.abs().max()).item() < 1e-12


def test_a_wrong_hnn_field_is_what_the_hnn_runs(ns):
    # a wrong student answer must still change the results: the fast path is refused and the student's field runs
    right = ns["hnn_field"]
    scope = ns["HNN"].forward.__globals__                      # the notebook's namespace, where HNN finds hnn_field
    torch.manual_seed(0)
    model = ns["HNN"](2, 16).double()
    x = torch.randn(10, 2, dtype=torch.float64)
    want = -model(x)
    scope["hnn_field"] = lambda energy_fn, x, create_graph=False: -right(energy_fn, x, create_graph)
    try:
        torch.testing.assert_close(model(x), want)
        y = np.random.default_rng(0).normal(size=(5, 2))
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(ns["numpy_field"](model)(0.0, y)),
                                       -right(model.energy, torch.from_numpy(y)))      # the wrong field, in scipy too
    finally:
        scope["hnn_field"] = right


def test_numpy_field_fast_path_equals_the_torch_model(ns):
    # numpy_field runs the paper's MLPs in NumPy float64: the torch float64 model's field to rounding
    torch.manual_seed(0)
    y = np.random.default_rng(0).normal(size=(15, 4))
    for model in (ns["HNN"](4, 64), ns["MLP"](4, 64, 4)):
        model64 = __import__("copy").deepcopy(model).double()
        with torch.no_grad():
            want = model64(torch.from_numpy(y)).numpy()
        got = ns["numpy_field"](model)(0.0, y)
        assert np.abs(got - want).max() <= 1e-13 * np.abs(want).max()
    assert ns["return_distance"](_TrueSpring()) < 1e-6             # any other model still goes through torch


def test_fewer_evaluations_change_no_bit_of_the_training(ns):
    # two_body_runs evaluates the runs whose curve is not drawn only at the start and the end
    spring = physics.MassSpring(m=0.5, k=2.0, radius=(0.1, 1.0))
    data = ns["split_dataset"](spring, 6, np.linspace(0, 3, 10), 0.1, seed=0)
    for name in ("baseline", "hnn"):
        m1, h1 = ns["train_model"](name, data, 16, 30, batch_size=10, progress=False)
        m2, h2 = ns["train_model"](name, data, 16, 30, batch_size=10, progress=False, eval_every=30)
        assert h1.steps == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30] and h2.steps == [0, 30]
        assert h1.last("test_loss") == h2.last("test_loss") and h1["test_loss"][0] == h2["test_loss"][0]
        assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
