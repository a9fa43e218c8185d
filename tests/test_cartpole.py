"""course.cartpole: CartPole-v1's dynamics in NumPy (12_finite_state's control task).

The step is checked by hand at the upright rest state, and step for step against gymnasium's
CartPole-v1 (start states, states, termination, the 500-step cap) where gymnasium is installed;
the scripted expert balances for 500 steps; bad inputs get a clear error.
"""
import numpy as np
import pytest

from course import cartpole


# ---------------------------------------------------------------- the step by hand
@pytest.mark.parametrize("action, sign", [(1, 1.0), (0, -1.0)])
def test_one_step_from_rest_by_hand(action, sign):
    # upright and still: sin = 0, cos = 1, so theta'' = -(F / M) / (l (4/3 - m / M)) and x'' = F / M - m l theta'' / M
    F, M, m, l = sign * 10.0, 1.1, 0.1, 0.5
    theta_acc = -(F / M) / (l * (4 / 3 - m / M))
    x_acc = F / M - m * l * theta_acc / M
    got = cartpole.step(np.zeros((1, 4)), np.array([action]))[0]
    np.testing.assert_allclose(got, [0.0, 0.02 * x_acc, 0.0, 0.02 * theta_acc], rtol=1e-12, atol=1e-15)
    assert got[1] * sign > 0 and got[3] * sign < 0        # the cart goes with the push, the pole falls the other way


def test_gravity_pulls_a_leaning_pole_further():
    s = np.array([[0.0, 0.0, 0.1, 0.0], [0.0, 0.0, -0.1, 0.0]])
    # with the push that holds the cart, the pole still gains speed away from upright
    nxt = cartpole.step(s, np.array([0, 1]))
    assert nxt[0, 3] > 0 and nxt[1, 3] < 0
    np.testing.assert_allclose(nxt[0], -nxt[1])           # mirror symmetry


def test_fallen_at_the_limits():
    s = np.array([[2.41, 0, 0, 0], [-2.41, 0, 0, 0], [0, 0, 0.21, 0], [0, 0, -0.21, 0], [2.39, 5, 0.2, 5]])
    assert cartpole.fallen(s).tolist() == [True, True, True, True, False]


# ---------------------------------------------------------------- against gymnasium's CartPole-v1
def _gym_episode(seed, actions_of):
    gym = pytest.importorskip("gymnasium")
    env = gym.make("CartPole-v1")
    env.reset(seed=seed)
    states, ends, t = [np.array(env.unwrapped.state, dtype=np.float64)], [], 0
    while True:
        _, reward, terminated, truncated, _ = env.step(int(actions_of(states[-1], t)))
        states.append(np.array(env.unwrapped.state, dtype=np.float64))
        ends.append((terminated, truncated))
        t += 1
        if terminated or truncated:
            env.close()
            return np.array(states), ends


@pytest.mark.parametrize("seed", [0, 7])
def test_start_states_match_gymnasium(seed):
    gym_states, _ = _gym_episode(seed, lambda s, t: 0)
    np.testing.assert_array_equal(cartpole.reset(1, seed)[0], gym_states[0])


@pytest.mark.parametrize("seed, policy", [(0, "expert"), (3, "random"), (5, "right")])
def test_dynamics_match_gymnasium_step_for_step(seed, policy):
    rng = np.random.default_rng(seed)
    choose = dict(expert=lambda s, t: cartpole.expert(s[None])[0], random=lambda s, t: rng.integers(0, 2),
                  right=lambda s, t: 1)[policy]
    taken = []
    gym_states, ends = _gym_episode(seed, lambda s, t: taken.append(choose(s, t)) or taken[-1])
    ours = [cartpole.reset(1, seed)]
    for a in taken:
        ours.append(cartpole.step(ours[-1], np.array([a])))
    ours = np.concatenate(ours)
    np.testing.assert_allclose(ours, gym_states, rtol=1e-12, atol=1e-12)
    fell = cartpole.fallen(ours[1:])
    assert fell.tolist() == [terminated for terminated, _ in ends]
    # the 500-step cap is gymnasium's truncation
    assert len(taken) <= cartpole.MAX_STEPS and ends[-1][1] == (len(taken) == cartpole.MAX_STEPS and not fell[-1])


@pytest.mark.parametrize("policy", ["expert", "right"])
def test_rollout_returns_are_gymnasium_episode_lengths(policy):
    act = cartpole.expert if policy == "expert" else (lambda obs: np.ones(len(obs), dtype=int))
    for seed in (0, 4):
        _, ends = _gym_episode(seed, lambda s, t: act(s[None].astype(np.float32))[0])
        assert cartpole.rollout(act, 1, seed=seed)["returns"][0] == len(ends)


# ---------------------------------------------------------------- rollouts and the expert
def test_the_expert_balances_for_500_steps():
    out = cartpole.rollout(cartpole.expert, 100, seed=1)
    assert (out["returns"] == cartpole.MAX_STEPS).all()
    assert out["observations"].shape == (500, 100, 4) and out["observations"].dtype == np.float32
    assert (out["actions"] == out["expert"]).all()


def test_rollout_freezes_finished_episodes_and_counts_their_steps():
    out = cartpole.rollout(lambda obs: np.ones(len(obs), dtype=int), 5, seed=2)     # always right: falls fast
    assert out["returns"].max() < 60 and len(out["alive"]) == out["returns"].max()
    assert (out["returns"] == out["alive"].sum(0)).all()
    for i, n in enumerate(out["returns"].astype(int)):
        assert out["alive"][:n, i].all() and not out["alive"][n:, i].any()
        assert (out["observations"][n:, i] == out["observations"][n:n + 1, i]).all()   # it stays where it fell


def test_rollout_noise_takes_random_actions():
    out = cartpole.rollout(cartpole.expert, 20, seed=3, noise=0.3)
    live = out["alive"]
    share = (out["actions"] != out["expert"])[live].mean()
    assert 0.05 < share < 0.25                    # about half of the 30 % random actions differ from the expert's


# ---------------------------------------------------------------- clear errors
@pytest.mark.parametrize("actions", [np.array([0, 1]), np.array([[0], [1], [0]]), np.array([0, 2, 1]),
                                     np.array([0, -1, 1]), np.array([0.0, 1.0, 0.5]), np.array([0.0, 1.0, 1.0])])
def test_bad_actions_get_a_clear_error(actions):
    with pytest.raises(ValueError, match="actions"):
        cartpole.step(np.zeros((3, 4)), actions)


@pytest.mark.parametrize("states", [np.zeros((3, 3)), np.zeros(4), np.zeros((2, 4, 1)), np.array([[0, 0, np.nan, 0]])])
def test_bad_states_get_a_clear_error(states):
    with pytest.raises(ValueError, match="states"):
        cartpole.step(states, np.zeros(len(states), dtype=int))


def test_bad_rollout_arguments_get_a_clear_error():
    with pytest.raises(ValueError, match="policy"):
        cartpole.rollout("expert", 2)
    with pytest.raises(ValueError, match="max_steps"):
        cartpole.rollout(cartpole.expert, 2, max_steps=501)
    with pytest.raises(ValueError, match="noise"):
        cartpole.rollout(cartpole.expert, 2, noise=1.5)
    with pytest.raises(ValueError, match="actions"):
        cartpole.rollout(lambda obs: np.zeros(len(obs) + 1, dtype=int), 2)
    with pytest.raises(ValueError, match="n must"):
        cartpole.reset(0)
