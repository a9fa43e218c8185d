"""Notebook 04's own code, where it lives (tests/nbimport.py): the two graded exercises pass with
their reference solutions and their checks fail on plausible wrong answers (the numerical split: a
flipped Poisson sign, a missing 1/4, too few sweeps, swapped axes or parts; the D-HNN field: a sign
flip in J, a gradient taken through the time column, a missing dissipative term, no create_graph); the models' structure (an HNN field is divergence-free, a D-HNN's
irrotational part is curl-free); the numerical Helmholtz split; the HNN's projection floor; the
data recipes; the Explore panel's function."""
import numpy as np
import pytest
import torch

from course import physics
from tests.nbimport import definitions, importable, run_check

NB = "04_dissipative_hnn"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)


# ---------------------------------------------------------------- exercise 2: dhnn_parts
def test_dhnn_parts_check_passes_with_the_reference_solution(ns):
    run_check(NB, "04_dhnn_parts_check", ns)


def _grads(energy_fn, dissipation_fn, x, t, create_graph=False):
    with torch.enable_grad():
        x = x.detach().requires_grad_(True) if not x.requires_grad else x
        dH, = torch.autograd.grad(energy_fn(x, t).sum(), x, create_graph=create_graph)
        dD = (torch.zeros_like(dH) if dissipation_fn is None else
              torch.autograd.grad(dissipation_fn(x, t).sum(), x, create_graph=create_graph)[0])
    return x, dH, dD


def _sign_flipped_j(energy_fn, dissipation_fn, x, t, create_graph=False):
    _, dH, dD = _grads(energy_fn, dissipation_fn, x, t, create_graph)
    n = x.shape[-1] // 2
    return torch.cat([-dH[..., n:], dH[..., :n]], -1), dD


def _no_dissipation(energy_fn, dissipation_fn, x, t, create_graph=False):
    _, dH, dD = _grads(energy_fn, dissipation_fn, x, t, create_graph)
    n = x.shape[-1] // 2
    return torch.cat([dH[..., n:], -dH[..., :n]], -1), torch.zeros_like(dD)


def _symplectic_dissipation(energy_fn, dissipation_fn, x, t, create_graph=False):
    _, dH, dD = _grads(energy_fn, dissipation_fn, x, t, create_graph)
    n = x.shape[-1] // 2
    return torch.cat([dH[..., n:], -dH[..., :n]], -1), torch.cat([dD[..., n:], -dD[..., :n]], -1)


def _through_time_column(energy_fn, dissipation_fn, x, t, create_graph=False):
    """Gradient w.r.t. the whole input [x, t], split in half: the time column leaks in."""
    with torch.enable_grad():
        xt = torch.cat([x, t], -1).detach().requires_grad_(True)
        k = x.shape[-1]
        dH, = torch.autograd.grad(energy_fn(xt[:, :k], xt[:, k:]).sum(), xt, create_graph=create_graph)
        dD, = torch.autograd.grad(dissipation_fn(xt[:, :k], xt[:, k:]).sum(), xt, create_graph=create_graph)
    n = xt.shape[-1] // 2
    return torch.cat([dH[..., n:], -dH[..., :n]], -1), dD


def _no_create_graph(energy_fn, dissipation_fn, x, t, create_graph=False):
    _, dH, dD = _grads(energy_fn, dissipation_fn, x, t)      # create_graph ignored
    n = x.shape[-1] // 2
    return torch.cat([dH[..., n:], -dH[..., :n]], -1).detach(), dD.detach()


@pytest.mark.parametrize("wrong", [_sign_flipped_j, _no_dissipation, _symplectic_dissipation, _through_time_column,
                                   _no_create_graph],
                         ids=["sign-flip-in-J", "missing-dissipative-term", "J-grad-D", "gradient-through-time",
                              "no-create-graph"])
def test_dhnn_parts_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises((AssertionError, RuntimeError, ValueError)):
        run_check(NB, "04_dhnn_parts_check", ns, overrides={"dhnn_parts": wrong})


# ---------------------------------------------------------------- exercise 1: helmholtz_split
def test_helmholtz_check_passes_with_the_reference_solution(ns):
    run_check(NB, "04_helmholtz_split_check", ns)


def _split(sign=-1, quarter=True, sweeps=None, swap_axes=False, swap_parts=False, rot_is_field=False, ns=None):
    def helmholtz_split(u, v, sweeps_=1000, **kw):
        ddx, ddy = ns["ddx"], ns["ddy"]
        div = (ddx(v) + ddy(u)) if swap_axes else (ddx(u) + ddy(v))
        phi = np.zeros_like(u)
        for _ in range(sweeps_ if sweeps is None else sweeps):
            nb = np.roll(phi, 1, 0) + np.roll(phi, -1, 0) + np.roll(phi, 1, 1) + np.roll(phi, -1, 1)
            phi = (nb + sign * div) / (4 if quarter else 1)
        irr = (ddx(phi), ddy(phi))
        rot = (u, v) if rot_is_field else (u - irr[0], v - irr[1])
        return (irr, rot) if swap_parts else (rot, irr)
    return lambda u, v, sweeps=1000: helmholtz_split(u, v, sweeps)


def test_the_wrong_split_helper_is_right_when_nothing_is_wrong(ns):
    run_check(NB, "04_helmholtz_split_check", ns, overrides={"helmholtz_split": _split(ns=ns)})


@pytest.mark.parametrize("wrong", [dict(sign=1), dict(quarter=False), dict(sweeps=0), dict(sweeps=20), dict(swap_axes=True),
                                   dict(swap_parts=True), dict(rot_is_field=True)],
                         ids=["sign", "no-quarter", "no-sweeps", "few-sweeps", "swapped-axes", "swapped-parts", "rot-is-field"])
def test_helmholtz_check_fails_on_wrong_answers(ns, wrong):
    with np.errstate(all="ignore"), pytest.raises(AssertionError):
        run_check(NB, "04_helmholtz_split_check", ns, overrides={"helmholtz_split": _split(ns=ns, **wrong)})


def test_the_notebook_runs_on_the_students_split(ns):
    d = ns["spring_dataset"](2.0)
    grid, gridded = ns["to_grid"](d["x"], d["dx"])
    right = ns["helmholtz_split"](gridded[..., 0], gridded[..., 1], 200)[1][0]
    wrong = _split(ns=ns, sign=1)(gridded[..., 0], gridded[..., 1], 200)[1][0]
    assert not np.allclose(right, wrong)


def test_to_grid_spans_each_axis_separately(ns):
    x = np.array([[0.0, -5.0], [1.0, 5.0], [0.5, 0.0]])
    grid, _ = ns["to_grid"](x, x, size=3)
    assert grid[..., 0].min() == 0.0 and grid[..., 0].max() == 1.0              # q from q's range
    assert grid[..., 1].min() == -5.0 and grid[..., 1].max() == 5.0             # p from p's range


# ---------------------------------------------------------------- the models
def _divergence_and_curl(field, x):
    """Divergence and curl of a 2-D field (batch, 2) -> (batch, 2) by autograd, per point."""
    x = x.detach().requires_grad_(True)
    f = field(x)
    g0, = torch.autograd.grad(f[:, 0].sum(), x, create_graph=True)
    g1, = torch.autograd.grad(f[:, 1].sum(), x, create_graph=True)
    return g0[:, 0] + g1[:, 1], g1[:, 0] - g0[:, 1]


def test_random_hnn_is_divergence_free_and_dhnn_irrotational_part_is_curl_free(ns):
    torch.manual_seed(0)
    hnn, dhnn = ns["HNN"](width=16).double(), ns["DHNN"](width=16).double()
    x = torch.randn(30, 2, dtype=torch.float64)
    t = torch.zeros(30, 1, dtype=torch.float64)
    div, _ = _divergence_and_curl(lambda y: hnn(y, t), x)
    assert div.abs().max() < 1e-12
    div_rot, _ = _divergence_and_curl(lambda y: dhnn.parts(y, t)[0], x)
    _, curl_irr = _divergence_and_curl(lambda y: dhnn.parts(y, t)[1], x)
    div_irr, _ = _divergence_and_curl(lambda y: dhnn.parts(y, t)[1], x)
    assert div_rot.abs().max() < 1e-12 and curl_irr.abs().max() < 1e-12
    assert div_irr.abs().max() > 1e-6                           # the D part can dissipate


def test_model_shapes_and_time_features(ns):
    for name in ns["MODEL_NAMES"]:
        m = ns["make_model"](name, width=8, d_time=2)
        out = m(torch.randn(5, 2), torch.randn(5, 2))
        assert out.shape == (5, 2)


def test_training_fits_the_damped_spring_quickly_and_logs_the_papers_numbers(ns):
    data = ns["spring_dataset"](2.0)
    torch.manual_seed(0)
    model = ns["make_model"]("D-HNN", width=32)
    h = ns["train"](model, data, 300, 3e-3, test_every=50)
    assert h.steps[0] == 0 and h.steps[-1] == 299
    assert ns["quoted"](h, "test_loss") < 0.05 < h["test_loss"][0]


# ---------------------------------------------------------------- data, numerical split, the floor
def test_spring_dataset_replays_the_papers_split(ns):
    d = ns["spring_dataset"](2.0)
    assert len(d["x"]) == 531 and len(d["x_test"]) == 94
    np.testing.assert_allclose(d["dx"], d["rot"] + d["irr"])
    np.testing.assert_allclose(d["irr"][:, 1], 0)
    np.testing.assert_allclose(d["irr"][:, 0], -2.0 * d["x"][:, 0])
    s = np.linspace(-1.2, 1.2, 25)
    q, p = np.meshgrid(s, s)
    grid = np.stack([q.ravel(), p.ravel()], -1)[np.random.RandomState(42).permutation(625)]
    np.testing.assert_array_equal(np.concatenate([d["x"], d["x_test"]]), grid)


def test_interpolation_error_matches_the_paper(ns):
    d = ns["spring_dataset"](2.0, train_fraction=0.8)
    grid, gridded = ns["to_grid"](d["x"], d["dx"])
    err = ((gridded - d["system"].derivative(0, grid)) ** 2).mean()
    assert abs(err - 5.98e-3) < 2e-4


def test_helmholtz_split_recovers_known_periodic_parts(ns):
    n = 32
    i, j = np.meshgrid(np.arange(n), np.arange(n))          # j: rows (y), i: columns (x)
    psi = np.sin(2 * np.pi * i / n) * np.cos(4 * np.pi * j / n)
    phi = np.cos(2 * np.pi * (i + 2 * j) / n)
    ddx, ddy = ns["ddx"], ns["ddy"]
    rot = (ddy(psi), -ddx(psi))
    irr = (ddx(phi), ddy(phi))
    (ru, rv), (iu, iv) = ns["helmholtz_split"](rot[0] + irr[0], rot[1] + irr[1], sweeps=3000)
    scale = max(np.abs(irr[0]).max(), np.abs(irr[1]).max())   # the 5-point Laplacian vs the wide one: a few %
    assert np.abs(iu - irr[0]).max() < 0.05 * scale and np.abs(iv - irr[1]).max() < 0.05 * scale
    np.testing.assert_allclose(ru + iu, rot[0] + irr[0], atol=1e-12)   # exact by construction


def test_projection_floor_is_quadratic_in_friction(ns):
    f1, f2 = ns["projection_floor"](1.0), ns["projection_floor"](2.0)
    assert f2 == pytest.approx(4 * f1, rel=1e-10)
    assert 0.4 < f2 < 0.5                                     # the paper's HNN train MSE: 0.453
    assert ns["projection_floor"](0.0) == 0


def test_pendulum_and_ocean_datasets(ns):
    p = ns["pendulum_dataset"]()
    assert len(p["x"]) == 800 and len(p["x_test"]) == 200
    true = p["system"].derivative(0, p["x"])
    assert np.mean((p["dx"] - true) ** 2) < 5e-3               # central differences of lightly noisy states
    o = ns["ocean_dataset"](grid=10, frames=2)
    assert o["x"].shape == (160, 2) and o["t"].shape == (160, 2) and len(o["x_test"]) == 40
    np.testing.assert_allclose((o["t"] ** 2).sum(-1), 1)
    np.testing.assert_allclose(o["clean_test"], o["rot_test"] + o["irr_test"])
    assert ns["cosine"](o["irr_test"], o["irr_test"]) == pytest.approx(1.0)


def test_counterfactual_with_true_parts_is_exact(ns):
    spring = physics.DampedSpring(rho=2.0)
    y = spring.sample_initial(20, rng=0)
    out = ns["counterfactual_field"](spring.conservative(y), spring.dissipative(y), 4.0, 2.0)
    np.testing.assert_allclose(out, physics.DampedSpring(rho=4.0).derivative(0, y))


# ---------------------------------------------------------------- the Explore panel's function
def test_explore_runs_and_returns_metrics(ns):
    import matplotlib
    matplotlib.use("Agg")
    out = ns["explore"](rho=1.0, model="HNN", steps=30, width=16, show=True)
    assert set(out) == {"test_mse", "trajectory_mse"} and all(np.isfinite(v) for v in out.values())
    out = ns["explore"](rho=0.5, model="MLP", friction_on="p", steps=20, width=8, show=False)
    assert np.isfinite(out["test_mse"])


def test_explore_rejects_a_bad_friction_side(ns):
    with pytest.raises(ValueError, match="friction_on"):
        ns["explore"](friction_on="x", steps=5, show=False)


def test_harmonic_share_finds_a_planted_harmonic_field(ns):
    class Planted:
        def parts(self, x, t, create_graph=False):
            q, p = x[:, 0], x[:, 1]
            irr = torch.stack([-2.0 * q + 0.7 * q, -0.7 * p], -1)   # true grad D + 0.7 (q, -p)
            return torch.zeros_like(irr), irr
    points = np.random.default_rng(0).uniform(-1.2, 1.2, (100, 2))
    c, rest = ns["harmonic_share"](Planted(), points, rho=2.0)
    assert c == pytest.approx(0.7, abs=1e-6) and rest < 1e-12


# ---------------------------------------------------------------- Bonus C: the extra seeds in worker processes
@pytest.fixture
def seeds_ns():
    """A fresh namespace with what dhnn_seed_run reads from the notebook's earlier cells, at toy sizes, its
    functions findable by name (course.sweep's worker processes need them; in the notebook they live in __main__)."""
    ns = definitions(NB)
    spring_data = ns["spring_dataset"](2.0, seed=42)
    spring = spring_data["system"]
    s = np.linspace(-1.2, 1.2, 5)
    plot_grid = np.stack(np.meshgrid(s, s), -1).reshape(-1, 2)
    t_eval, y0, cf_y0 = np.linspace(0, 0.5, 20), np.array([0.85, 0.25]), np.array([0.9, 0.0])
    ns.update(spring_data=spring_data, spring=spring, width=8, steps=30, LR=1e-3, device="cpu", RHO=2.0,
              plot_grid=plot_grid, t_eval=t_eval, y0=y0, cf_y0=cf_y0, true_path=spring.solution(y0, t_eval),
              cf_truth={r: physics.DampedSpring(rho=r).solution(cf_y0, t_eval) for r in (0.0, 1.0, 4.0)},
              true_parts={"rot": spring.conservative(plot_grid), "irr": spring.dissipative(plot_grid)},
              spring_gx=torch.as_tensor(plot_grid, dtype=torch.float32), spring_gt=torch.zeros(len(plot_grid), 1))
    with importable(ns):
        yield ns


def test_extra_seeds_in_two_processes_equal_one_after_the_other(seeds_ns):
    from course import sweep
    ns = seeds_ns
    tasks = [dict(seed=0), dict(seed=1)]
    serial = sweep.run_tasks(ns["dhnn_seed_run"], tasks, workers=1, progress=False)
    parallel = sweep.run_tasks(ns["dhnn_seed_run"], [dict(t, threads=1) for t in tasks], workers=2, progress=False)
    for (m1, h1, k1), (m2, h2, k2) in zip(serial, parallel):
        assert k1 == k2 and h1["test_loss"] == h2["test_loss"]          # the card numbers, exactly
        for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
            assert torch.equal(a, b)
    assert serial[0][2]["test"] != serial[1][2]["test"]                   # the seed matters
    assert set(serial[0][2]) >= {"test", "trajectory", "rho'=1", "rho'=4", "rho'=0 energy ratio", "irr rel MSE", "c"}


def test_train_with_foreach_adam_gives_the_single_tensor_loops_bits(ns):
    """train's Adam runs foreach=True (less overhead per step, issue 23): on the CPU the same kernels per
    tensor, so weights and logged losses equal those of the default loop bit for bit."""
    import json
    from tests.nbimport import NOTEBOOKS
    cells = json.loads((NOTEBOOKS / f"{NB}.ipynb").read_text())["cells"]
    src = next("".join(c["source"]) for c in cells if "def train(" in "".join(c["source"]))
    assert src.count("foreach=True") == 1
    scope = dict(ns)
    exec(compile(src.replace("foreach=True", "foreach=False"), "<train, loop Adam>", "exec"), scope)
    data = ns["spring_dataset"](2.0, seed=42)
    runs = []
    for train in (ns["train"], scope["train"]):
        torch.manual_seed(7)
        model = ns["make_model"]("D-HNN", width=16)
        history = train(model, data, 40, 1e-3, test_every=10)
        runs.append(([p.detach().clone() for p in model.parameters()], history["train_loss"], history["test_loss"]))
    assert all(torch.equal(a, b) for a, b in zip(runs[0][0], runs[1][0]))
    assert runs[0][1:] == runs[1][1:]
