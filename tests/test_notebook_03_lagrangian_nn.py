"""Notebook 03's own code, where it lives: the Euler-Lagrange layer against course.physics.DoublePendulum,
the energy of eq. (4), the graded checks (which must fail on plausible wrong answers), and the models."""
import math

import numpy as np
import pytest
import torch
from torch.func import grad, hessian

from course import physics
from tests.nbimport import definitions, importable, run_check

NB = "03_lagrangian_nn"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)   # with the parameters and setup cells (FAST sizes, on the CPU)


def torch_lagrangian(dp):
    """T - V of a physics.DoublePendulum, in torch, for one state (4,)."""
    def L(s):
        t1, t2, w1, w2 = s
        T = 0.5 * (dp.m1 + dp.m2) * (dp.l1 * w1) ** 2 + 0.5 * dp.m2 * (dp.l2 * w2) ** 2 \
            + dp.m2 * dp.l1 * dp.l2 * w1 * w2 * torch.cos(t1 - t2)
        V = -(dp.m1 + dp.m2) * dp.g * dp.l1 * torch.cos(t1) - dp.m2 * dp.g * dp.l2 * torch.cos(t2)
        return T - V
    return L


@pytest.mark.parametrize("params", [dict(), dict(m1=2.0, m2=0.5, l1=1.5, l2=0.6, g=3.0)], ids=["paper", "unequal"])
def test_el_layer_matches_double_pendulum(ns, params):
    dp = physics.DoublePendulum(**params, theta_max=math.pi, omega_max=5.0)
    states = dp.sample_initial(300, rng=0)
    got = ns["accelerations"](torch_lagrangian(dp), torch.tensor(states)).numpy()
    np.testing.assert_allclose(got, dp.derivative(0.0, states)[:, 2:], atol=1e-10)
    # and the torch L is the library's L
    L = torch.vmap(torch_lagrangian(dp))(torch.tensor(states)).numpy()
    np.testing.assert_allclose(L, dp.lagrangian(states), atol=1e-12)


def test_el_layer_is_gauge_invariant_and_ridge_is_small(ns):
    dp = physics.DoublePendulum()
    L = torch_lagrangian(dp)
    s = torch.tensor(dp.sample_initial(50, rng=1))
    base = ns["accelerations"](L, s)
    torch.testing.assert_close(ns["accelerations"](lambda x: -3.0 * L(x) + 7.0, s), base, atol=1e-10, rtol=0)
    assert (ns["accelerations"](L, s, ridge=1e-9) - base).abs().max() < 1e-6


def test_lagrangian_energy_is_conserved_along_the_true_flow(ns):
    dp = physics.DoublePendulum(m1=1.3, m2=0.7, theta_max=2.0, omega_max=2.0)
    traj = physics.reference(dp.derivative, dp.sample_initial(2, rng=2), np.linspace(0, 10, 41), rtol=1e-12, atol=1e-12)
    E = np.array([[ns["lagrangian_energy"](torch_lagrangian(dp), torch.tensor(s)).item() for s in step] for step in traj])
    np.testing.assert_allclose(E, dp.energy(traj), atol=1e-9)
    assert np.max(np.abs(E - E[0])) < 1e-8


def test_reference_solutions_pass_their_checks(ns):
    run_check(NB, "03_euler_lagrange_check", ns)
    run_check(NB, "03_lagrangian_energy_check", ns)


def _el(sign=1.0, block="vq", drop_mixed=False, sign_q=1.0):
    def wrong(lagrangian, state, ridge=0.0):
        d = state.shape[-1] // 2
        dL, H = grad(lagrangian)(state), hessian(lagrangian)(state)
        mixed = H[d:, :d] if block == "vq" else H[:d, d:]
        rhs = sign_q * dL[:d] - (0.0 if drop_mixed else sign * mixed @ state[d:])
        return torch.linalg.solve(H[d:, d:], rhs)
    return wrong


@pytest.mark.parametrize("wrong", [_el(sign=-1.0), _el(block="qv"), _el(drop_mixed=True), _el(sign_q=-1.0)],
                         ids=["mixed-sign", "transposed-block", "no-mixed-term", "dLdq-sign"])
def test_el_check_fails_on_wrong_solves(ns, wrong):
    overrides = {"euler_lagrange": wrong,
                 "accelerations": lambda L, states, ridge=0.0: torch.vmap(lambda s: wrong(L, s))(states)}
    with pytest.raises(AssertionError):
        run_check(NB, "03_euler_lagrange_check", ns, overrides=overrides)


def test_transposed_block_matters_only_when_the_mixed_hessian_is_not_symmetric(ns):
    """Why the check uses the double pendulum: its d2L/dqdot dq is not symmetric."""
    dp = physics.DoublePendulum(theta_max=2.0, omega_max=2.0)
    s = torch.tensor(dp.sample_initial(1, rng=5)[0])
    H = hessian(torch_lagrangian(dp))(s)
    assert (H[2:, :2] - H[2:, :2].T).abs().max() > 1e-3


@pytest.mark.parametrize("wrong", [
    lambda L, s: L(s) - s[s.shape[-1] // 2:] @ grad(L)(s)[s.shape[-1] // 2:],          # sign flipped
    lambda L, s: s[s.shape[-1] // 2:] @ grad(L)(s)[s.shape[-1] // 2:],                 # forgot -L
    lambda L, s: s[s.shape[-1] // 2:] @ grad(L)(s)[:s.shape[-1] // 2] - L(s),          # dL/dq instead of dL/dqdot
], ids=["sign", "missing-L", "wrong-gradient"])
def test_energy_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "03_lagrangian_energy_check", ns, overrides={"lagrangian_energy": wrong})


def test_models_shapes_init_and_angle_wrapping(ns):
    torch.manual_seed(0)
    lnn = ns["LagrangianNN"](2, 16, angular=2)
    x = torch.randn(7, 4)
    assert lnn(x).shape == (7, 2) and lnn.time_derivative(x).shape == (7, 4)
    shifted = x.clone()
    shifted[:, :2] += 2 * math.pi                      # angles wrapped: same accelerations
    torch.testing.assert_close(lnn(shifted), lnn(x), atol=1e-3, rtol=1e-3)
    linears = [m for m in lnn.net if isinstance(m, torch.nn.Linear)]
    assert all((m.bias == 0).all() for m in linears)   # the paper's init: zero biases, large last layer
    assert linears[-1].weight.std() > 3 * linears[0].weight.std()
    hnn = ns["HamiltonianNN"](1, 16).double()
    y = torch.randn(20, 2, dtype=torch.float64)
    dH = torch.func.vmap(grad(lambda s: hnn.net(s)[0]))(y)
    assert (dH * hnn(y)).sum(-1).abs().max() < 1e-12  # the HNN conserves its H
    assert ns["BaselineNN"](1, 16)(torch.randn(5, 2)).shape == (5, 1)


def test_one_double_pendulum_seed_runs_and_reports_capped_errors(ns):
    run = ns["double_pendulum_run"](seed=3, hidden=8, steps=3, n_test=2, horizon=0.05, dt=0.01)
    assert run["seed"] == 3 and set(run["mae"]) == {"lnn", "baseline"}
    for kind in ("lnn", "baseline"):
        assert run["final"][kind].shape == (2,) and np.all((run["final"][kind] >= 0) & (run["final"][kind] <= 1))
        assert run["traj"][kind].shape == run["truth"].shape == (len(run["t"]), 2, 4)
    again = ns["double_pendulum_run"](seed=3, hidden=8, steps=3, n_test=2, horizon=0.05, dt=0.01)
    np.testing.assert_array_equal(again["final"]["lnn"], run["final"]["lnn"])   # seeded


def test_relativistic_trainings_on_slices_of_one_stream_equal_one_after_the_other(ns):
    # FULL trains the relativistic models in two processes, each on its slice of the training stream drawn
    # in advance: the same batches, so the same models, as training them one after the other
    from course import sweep
    with importable(ns):          # worker processes find the notebook's functions by name
        ns["rel_x_test"], ns["rel_y_test"] = ns["draw_relativistic"](50, np.random.default_rng(1))
        build = lambda: {"lnn": ns["LagrangianNN"](1, 8), "hnn": ns["HamiltonianNN"](1, 8), "baseline": ns["BaselineNN"](1, 8)}
        torch.manual_seed(0)
        one_by_one = build()
        ns["rel_rng"] = np.random.default_rng(5)
        for kind, model in one_by_one.items():
            draw = (lambda: ns["for_hnn"](ns["draw_relativistic"]())) if kind == "hnn" else ns["draw_relativistic"]
            y_test = torch.cat([ns["rel_x_test"][:, 1:], ns["rel_y_test"]], 1) if kind == "hnn" else ns["rel_y_test"]
            ns["train"](model, draw, ns["rel_x_test"], y_test, 6, 3e-3)
        torch.manual_seed(0)
        split = build()
        ns["rel_rng"] = np.random.default_rng(5)
        stream = [ns["draw_relativistic"]() for _ in range(18)]
        stacked = ns["stacked"]
        batches = {"lnn": stacked(stream[:6]), "hnn": stacked([ns["for_hnn"](b) for b in stream[6:12]]),
                   "baseline": stacked(stream[12:])}
        out = sweep.run_tasks(ns["relativistic_run"], [dict(kind=k, model=split[k], batches=batches[k]) for k in split],
                              workers=2, progress=False)
        for (kind, model), (trained, history, path) in zip(one_by_one.items(), out):
            assert path is None and len(history["test_mae"]) > 0
            for a, b in zip(model.state_dict().values(), trained.state_dict().values()):
                assert torch.equal(a, b), kind
        # FULL's 2000 steps: the batches travel as two stacked tensors (a list of 2000 tensors took one shared-memory
        # file each and ran out of file descriptors in a FULL run)
        many = stacked([ns["draw_relativistic"]() for _ in range(2000)])
        runs = sweep.run_tasks(ns["relativistic_run"], [dict(kind="baseline", model=ns["BaselineNN"](1, 4), batches=many)] * 2,
                               workers=2, progress=False)         # two tasks: run_tasks runs a single one in-process
        assert [history["step"][-1] for _, history, _ in runs] == [2000, 2000]


def test_fewer_logged_evaluations_and_foreach_adam_change_no_bit(ns):
    # train() logs the test error `evals` times (1 where no learning curve is drawn) and runs Adam with foreach=True
    # (on the CPU the default loop's kernels): the trained weights are those of 20 logs and the default Adam
    x, y = torch.randn(64, 4), torch.randn(64, 2)
    x_test, y_test = torch.randn(30, 4), torch.randn(30, 2)

    def run(evals):
        torch.manual_seed(0)
        model = ns["LagrangianNN"](2, 16, angular=2)
        g = torch.Generator().manual_seed(1)
        history = ns["train"](model, lambda: (x[torch.randint(64, (16,), generator=g)], y[:16]), x_test, y_test,
                              40, 3e-3, evals=evals)
        return model, history

    logged, curve = run(20), run(1)
    assert len(logged[1]["test_mae"]) == 20 and curve[1]["step"] == [40]
    assert curve[1]["test_mae"] == logged[1]["test_mae"][-1:]
    for a, b in zip(logged[0].state_dict().values(), curve[0].state_dict().values()):
        assert torch.equal(a, b)
    # the default (for-loop) Adam, by hand, on the same batches: the same weights
    torch.manual_seed(0)
    model = ns["LagrangianNN"](2, 16, angular=2)
    g = torch.Generator().manual_seed(1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, foreach=False)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=40)
    for _ in range(40):
        loss = torch.nn.functional.mse_loss(model(x[torch.randint(64, (16,), generator=g)]), y[:16])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
    for a, b in zip(model.state_dict().values(), curve[0].state_dict().values()):
        assert torch.equal(a, b)


def test_double_pendulum_seed_without_curve_is_the_same_run(ns):
    kw = dict(seed=3, hidden=8, steps=6, n_test=2, horizon=0.05, dt=0.01)
    full, lean = ns["double_pendulum_run"](**kw), ns["double_pendulum_run"](**kw, curve=False)
    assert [len(full["history"][k]["step"]) for k in ("lnn", "baseline")] == [6, 6]
    assert [lean["history"][k]["step"] for k in ("lnn", "baseline")] == [[6], [6]]
    for kind in ("lnn", "baseline"):
        assert lean["mae"][kind] == full["mae"][kind]
        np.testing.assert_array_equal(lean["traj"][kind], full["traj"][kind])
