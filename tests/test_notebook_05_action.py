"""The action minimiser that 05_action builds in its cells, tested where it lives (tests/nbimport.py).

The two graded exercises (the discrete action of a path, the vectorised Lennard-Jones
potential) must pass with the reference solution, and their check cells must fail on the
plausible wrong answers: T + V instead of T - V, a missing dt, backward instead of forward
differences, per-path instead of per-slice energies; double-counted pairs, self pairs, no
clamp, no core term. The minimiser must hold the endpoints fixed and reproduce the paper's
free-body numbers; the vectorised potentials must equal loops over pairs and slices.
"""
import numpy as np
import pytest
import torch

from tests.nbimport import definitions, run_check

NB = "05_action"
EXTRA = dict(SEED=1)


@pytest.fixture(scope="module")
def ns():
    return definitions(NB, extra=EXTRA)


# ---------------------------------------------------------------- exercise 1: the discrete action
def test_discrete_action_check_passes_with_the_reference_solution(ns):
    run_check(NB, "05_discrete_action_check", ns)


def _action_variant(sign=-1, with_dt=True, backward=False, summed=False):
    def discrete_action(x, dt, kinetic, potential):
        v = (x[1:] - x[:-1]) / dt
        v = torch.cat([v[:1], v], dim=0) if backward else torch.cat([v, v[-1:]], dim=0)
        T, V = kinetic(x, v), potential(x)
        S = ((T + sign * V) * (dt if with_dt else 1.0)).sum()
        if summed:
            T, V = T.sum(), V.sum()
        return S, T, V
    return discrete_action


@pytest.mark.parametrize("wrong", [dict(sign=+1), dict(with_dt=False), dict(backward=True), dict(summed=True)],
                         ids=["T_plus_V", "missing_dt", "backward_differences", "not_per_slice"])
def test_discrete_action_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "05_discrete_action_check", ns, overrides={"discrete_action": _action_variant(**wrong)})


# ---------------------------------------------------------------- exercise 2: Lennard-Jones
def test_lennard_jones_check_passes_with_the_reference_solution(ns):
    run_check(NB, "05_lennard_jones_check", ns)


def _lj_variant(all_pairs=False, clamp=True, core=True):
    def lennard_jones(x, sigma=0.04, scale=1e-5, r_core=0.04, eps=1e-6):
        if all_pairs:   # the full (n, n) matrix: every pair twice and the self pairs
            d = x[..., :, None, :] - x[..., None, :, :]
            r = ((d ** 2).sum(-1) + eps).sqrt().flatten(-2)
        else:
            r = ns_global["pair_distances"](x, eps)
        u = 10 * ((sigma / r) ** 12 - (sigma / r) ** 6)
        if clamp:
            u = u.clamp(max=10.0)
        if core:
            u = u + (r < r_core) * (1e2 * (r_core - r))
        return scale * u.sum(-1)
    return lennard_jones


ns_global = {}


@pytest.mark.parametrize("wrong", [dict(all_pairs=True), dict(clamp=False), dict(core=False)],
                         ids=["all_pairs_and_self", "no_clamp", "no_core"])
def test_lennard_jones_check_fails_on_wrong_answers(ns, wrong):
    ns_global.update(ns)
    with pytest.raises(AssertionError):
        run_check(NB, "05_lennard_jones_check", ns, overrides={"lennard_jones": _lj_variant(**wrong)})


# ---------------------------------------------------------------- the method around the exercises
def _loop_potential(x, pair):
    out = []
    for s in x:
        out.append(sum(pair(float(torch.linalg.norm(s[i] - s[j]) ** 2)) for i in range(len(s)) for j in range(i + 1, len(s))))
    return np.array(out)


def test_vectorised_gravity_equals_a_loop_over_slices_and_pairs(ns):
    x = torch.tensor(np.random.RandomState(2).rand(4, 3, 2), dtype=torch.float64)
    x[0, 1] = x[0, 0] + 0.01       # a pair inside the soft core
    def pair(r2):
        r = np.sqrt(r2 + 1e-6)
        return 1 / (r + 1e-6) if r > 0.05 else 5e2 * (0.05 - r) + 1 / 0.05
    np.testing.assert_allclose(ns["gravity_soft"](x).numpy(), -1.3e-4 * _loop_potential(x, pair), rtol=1e-12)


def test_minimise_action_holds_the_endpoints_and_reproduces_the_free_body(ns):
    ode = ns["euler_ode"]([0.0], [2.0], 0.25, lambda x, v: -np.ones_like(x), 60)
    init = ns["perturb"](ode, 1.5, seed=1, zero_interior=True)
    path, hist = ns["minimise_action"](init, 0.25, ns["kinetic_1d"], ns["potential_height"], 500, 1.0)
    assert np.array_equal(path.numpy()[[0, -1]], init[[0, -1]])
    assert hist["steps"][-1] == 495 and len(hist["paths"]) == 17
    assert abs(ns["path_mse"](hist["paths"][0], ode) - 629.66) < 0.01      # the paper's numbers
    assert abs(ns["path_mse"](hist["paths"][-1], ode) - 0.3518) < 1e-3


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
