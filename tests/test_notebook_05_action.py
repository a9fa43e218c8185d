"""The action minimiser that 05_action builds in its cells, tested where it lives (tests/nbimport.py).

The two graded exercises (the discrete action of a path; one optimisation step with the
energy penalty and the endpoints held) must pass with the reference solution, and their
check cells must fail on plausible wrong answers: T + V instead of T - V, a missing dt,
backward instead of forward differences, per-path instead of per-slice energies, NumPy
arithmetic (no gradient), a 1-D-only answer; endpoints not held or zeroed after the update,
gradients accumulated over steps, no scale, no penalty, a summed or unscaled penalty, a
penalty cut off from the gradient. A wrong student function must change a later result.
The given potentials must equal loops over pairs and slices.
"""
import types

import numpy as np
import pytest
import torch

from tests.nbimport import definitions, run_check

NB = "05_action"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)


# ---------------------------------------------------------------- exercise 1: the discrete action
def test_discrete_action_check_passes_with_the_reference_solution(ns):
    run_check(NB, "05_discrete_action_check", ns)


def _action_variant(sign=-1, with_dt=True, backward=False, summed=False, numpy=False, first_column=False):
    def discrete_action(x, dt, kinetic, potential):
        if numpy:   # NumPy arithmetic: the values can be right, the gradient is gone
            xn = x.detach().numpy()
            v = np.diff(xn, axis=0) / dt
            v = torch.tensor(np.concatenate([v, v[-1:]]))
            T, V = kinetic(torch.tensor(xn), v), potential(torch.tensor(xn))
            return float(((T - V) * dt).sum()), T, V
        if first_column:   # written for (N, 1) paths only
            v = ((x[1:, 0] - x[:-1, 0]) / dt)[:, None]
        else:
            v = (x[1:] - x[:-1]) / dt
        v = torch.cat([v[:1], v], dim=0) if backward else torch.cat([v, v[-1:]], dim=0)
        T, V = kinetic(x, v), potential(x)
        S = ((T + sign * V) * (dt if with_dt else 1.0)).sum()
        if summed:
            T, V = T.sum(), V.sum()
        return S, T, V
    return discrete_action


def test_discrete_action_variant_without_mistakes_passes(ns):
    run_check(NB, "05_discrete_action_check", ns, overrides={"discrete_action": _action_variant()})


@pytest.mark.parametrize("wrong", [dict(sign=+1), dict(with_dt=False), dict(backward=True), dict(summed=True),
                                   dict(numpy=True), dict(first_column=True)],
                         ids=["T_plus_V", "missing_dt", "backward_differences", "not_per_slice", "numpy_no_gradient",
                              "one_d_only"])
def test_discrete_action_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "05_discrete_action_check", ns, overrides={"discrete_action": _action_variant(**wrong)})


# ---------------------------------------------------------------- exercise 2: one step of the method
def _step_variant(ns, hold=True, zero_after=False, zero_grad=True, scaled=True, penalty=True, mean=True,
                  scaled_energy=True, detach_penalty=False):
    discrete_action = ns["discrete_action"]

    def action_step(x, opt, dt, kinetic, potential, scale, e_coeff=0.0, E0=0.0):
        S, T, V = discrete_action(x, dt, kinetic, potential)
        loss = S * scale if scaled else S
        if e_coeff and penalty:
            E = (T + V) * scale * dt if scaled_energy else (T + V)
            err = (E0 - E).pow(2)
            pen = e_coeff * (err.mean() if mean else err.sum())
            loss = loss + (pen.detach() if detach_penalty else pen)
        if zero_grad:
            opt.zero_grad()
        loss.backward()
        if hold and not zero_after:
            x.grad[[0, -1]] = 0.0
        opt.step()
        if hold and zero_after:
            x.grad[[0, -1]] = 0.0
        return loss, S, T, V
    return action_step


def test_action_step_check_passes_with_the_reference_solution(ns):
    run_check(NB, "05_action_step_check", ns)


def test_action_step_variant_without_mistakes_passes(ns):
    run_check(NB, "05_action_step_check", ns, overrides={"action_step": _step_variant(ns)})


WRONG_STEPS = [dict(hold=False), dict(zero_after=True), dict(zero_grad=False), dict(scaled=False), dict(penalty=False),
               dict(mean=False), dict(scaled_energy=False), dict(detach_penalty=True)]


@pytest.mark.parametrize("wrong", WRONG_STEPS, ids=["endpoints_free", "zeroed_after_step", "gradients_accumulate",
                                                    "not_scaled", "no_penalty", "penalty_summed",
                                                    "penalty_on_unscaled_energy", "penalty_detached"])
def test_action_step_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "05_action_step_check", ns, overrides={"action_step": _step_variant(ns, **wrong)})


# ---------------------------------------------------------------- the notebook runs on the student's functions
def _free_body(ns):
    ode = ns["euler_ode"]([0.0], [2.0], 0.25, lambda x, v: -np.ones_like(x), 60)
    init = ns["perturb"](ode, 1.5, seed=1, zero_interior=True)
    path, hist = ns["minimise_action"](init, 0.25, ns["kinetic_1d"], ns["potential_height"], 500, 1.0)
    return ode, init, path, hist


def test_minimise_action_holds_the_endpoints_and_reproduces_the_free_body(ns):
    ode, init, path, hist = _free_body(ns)
    assert np.array_equal(path.numpy()[[0, -1]], init[[0, -1]])
    assert hist["steps"][-1] == 495 and len(hist["paths"]) == 17
    assert abs(ns["path_mse"](hist["paths"][0], ode) - 629.66) < 0.01      # the paper's numbers
    assert abs(ns["path_mse"](hist["paths"][-1], ode) - 0.3518) < 1e-3


def _rebind(fn, namespace):
    """`fn` looking its globals up in `namespace` (the notebook's loop with a student's wrong function)."""
    return types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)


def test_a_wrong_student_step_changes_the_free_body_run(ns):
    wrong = dict(ns, action_step=_step_variant(ns, hold=False))
    minimise = _rebind(ns["minimise_action"], wrong)
    ode = ns["euler_ode"]([0.0], [2.0], 0.25, lambda x, v: -np.ones_like(x), 60)
    init = ns["perturb"](ode, 1.5, seed=1, zero_interior=True)
    path, hist = minimise(init, 0.25, ns["kinetic_1d"], ns["potential_height"], 500, 1.0)
    assert not np.array_equal(path.numpy()[[0, -1]], init[[0, -1]])          # the endpoints moved
    assert abs(ns["path_mse"](hist["paths"][-1], ode) - 0.3518) > 1e-2


def test_a_wrong_student_action_changes_the_free_body_run(ns):
    wrong = dict(ns, discrete_action=_action_variant(sign=+1))
    wrong["action_step"] = _rebind(ns["action_step"], wrong)
    minimise = _rebind(ns["minimise_action"], wrong)
    ode = ns["euler_ode"]([0.0], [2.0], 0.25, lambda x, v: -np.ones_like(x), 60)
    init = ns["perturb"](ode, 1.5, seed=1, zero_interior=True)
    _, hist = minimise(init, 0.25, ns["kinetic_1d"], ns["potential_height"], 500, 1.0)
    assert abs(ns["path_mse"](hist["paths"][-1], ode) - 0.3518) > 1.0       # T + V: a different path


def test_energy_penalty_pulls_the_pendulum_to_the_ode_path(ns):
    ode = ns["euler_ode"]([np.pi / 2], [np.pi / 2], 1.0, ns["pendulum_accel"], 100)
    init = ns["perturb"](ode, 0.2, seed=1)
    init[2:-2] *= 0.7
    _, hist = ns["minimise_action"](init, 1.0, ns["kinetic_pendulum"], ns["potential_pendulum"], 150, 5e-2, e_coeff=1e2)
    _, free = ns["minimise_action"](init, 1.0, ns["kinetic_pendulum"], ns["potential_pendulum"], 150, 5e-2, e_coeff=0.0)
    assert ns["path_mse"](hist["paths"][-1], ode) < ns["path_mse"](free["paths"][-1], ode)


# ---------------------------------------------------------------- the given potentials and helpers
def _loop_potential(x, pair):
    out = []
    for s in x:
        out.append(sum(pair(float(torch.linalg.norm(s[i] - s[j]) ** 2)) for i in range(len(s)) for j in range(i + 1, len(s))))
    return np.array(out)


def test_lennard_jones_equals_a_loop_over_slices_and_pairs(ns):
    x = torch.tensor(0.45 + 0.1 * np.random.RandomState(0).rand(3, 6, 2), dtype=torch.float64)
    x[0, 1] = x[0, 0] + torch.tensor([0.01, 0.0], dtype=torch.float64)        # inside the core: clamp + linear term
    x[1, 2] = x[1, 0] + torch.tensor([0.0, 0.045], dtype=torch.float64)       # near the minimum of the well

    def pair(r2):
        r = np.sqrt(r2 + 1e-6)
        return min(10 * ((0.04 / r) ** 12 - (0.04 / r) ** 6), 10.0) + max(0.04 - r, 0.0) * 1e2
    np.testing.assert_allclose(ns["lennard_jones"](x).numpy(), 1e-5 * _loop_potential(x, pair), rtol=1e-10)


def test_vectorised_gravity_equals_a_loop_over_slices_and_pairs(ns):
    x = torch.tensor(np.random.RandomState(2).rand(4, 3, 2), dtype=torch.float64)
    x[0, 1] = x[0, 0] + 0.01       # a pair inside the soft core

    def pair(r2):
        r = np.sqrt(r2 + 1e-6)
        return 1 / (r + 1e-6) if r > 0.05 else 5e2 * (0.05 - r) + 1 / 0.05
    np.testing.assert_allclose(ns["gravity_soft"](x).numpy(), -1.3e-4 * _loop_potential(x, pair), rtol=1e-12)


def test_planet_gravity_and_kinetic_energy_use_the_papers_masses(ns):
    m = np.array(ns["PLANET_MASSES"])
    x = torch.tensor(np.random.RandomState(5).randn(3, 5, 2) * 1e11, dtype=torch.float64)
    v = torch.tensor(np.random.RandomState(6).randn(3, 5, 2) * 3e4, dtype=torch.float64)
    expected = []
    for s in x.numpy():
        expected.append(-sum(6.67e-11 * m[i] * m[j] / np.sqrt(((s[i] - s[j]) ** 2).sum() + 1e-10)
                             for i in range(5) for j in range(i + 1, 5)))
    np.testing.assert_allclose(ns["gravity_planets"](x).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(ns["kinetic_planets"](x, v).numpy(),
                               (0.5 * m[None, :, None] * v.numpy() ** 2).sum((1, 2)), rtol=1e-12)


def test_euler_ode_is_semi_implicit(ns):
    # v <- v + a dt, then x <- x + v dt: x_2 = x_1 + (v_0 - g dt) dt
    xs = ns["euler_ode"]([0.0], [2.0], 0.5, lambda x, v: -np.ones_like(x), 4)
    np.testing.assert_allclose(xs[:, 0], [0.0, 2.0, 3.75, 5.25])


def test_perturb_follows_the_papers_recipe(ns):
    x = np.ones((20, 5, 2))
    p = ns["perturb"](x, 0.5, seed=1, frozen=0)
    np.random.seed(1)
    noise = 0.5 * np.random.randn(20, 5, 2).clip(-1, 1)
    assert np.all(p[:3] == 1) and np.all(p[-3:] == 1) and np.all(p[:, 0] == 1)
    np.testing.assert_allclose(p[3:-3, 1:], 1 + noise[3:-3, 1:])
    z = ns["perturb"](x, 0.5, zero_interior=True)
    assert np.all(z[0] == 1) and np.all(z[-1] == 1) and np.all(z[3:-3] != 1)


def test_explore_runs_headless_and_returns_the_errors(ns):
    out = ns["explore"](system="free body", points=30, lr=1.0, e_coeff=0.0, steps=60, live=False)
    assert set(out) == {"initial_mse", "final_mse", "final_action"}
    assert out["final_mse"] < out["initial_mse"]
    out = ns["explore"](system="pendulum", points=40, steps=30, live=False)
    assert np.isfinite(out["final_mse"])
