"""CartPole in NumPy: the control task of 12_finite_state (the paper's README control row).

The cart-pole of Barto, Sutton & Anderson (1983) with the constants, the Euler step and the
episode rules of gymnasium's CartPole-v1 (tests/test_cartpole.py compares them step for step
when gymnasium is installed): gravity 9.8, cart mass 1.0, pole mass 0.1, pole half-length 0.5,
force +-10 (action 1 pushes right, 0 left), time step 0.02 s; the start state is uniform in
[-0.05, 0.05]^4; an episode ends when |x| > 2.4 or |theta| > 12 degrees, or after 500 steps;
the reward is 1 per step taken (the step that ends the episode included), so 500 is the most.

Batched: states are (n, 4) arrays (x, x_dot, theta, theta_dot), so n episodes run in lockstep;
a finished episode stays where it ended. `expert` is a scripted linear controller (not an RL
agent) that balances the pole for the full 500 steps.
"""
from __future__ import annotations

import math

import numpy as np

from . import validate

GRAVITY, MASS_CART, MASS_POLE, HALF_LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
X_LIMIT = 2.4                                  # |x| beyond this ends the episode
THETA_LIMIT = 12 * 2 * math.pi / 360           # 12 degrees, as gymnasium writes it
MAX_STEPS = 500                                # CartPole-v1's cap (the most reward an episode can earn)
EXPERT_GAINS = (0.5, 1.0, 10.0, 2.0)           # expert: push right when GAINS . (x, x_dot, theta, theta_dot) > 0


def _states(name: str, states) -> np.ndarray:
    states = np.asarray(states, dtype=np.float64)
    validate.shape(name, states, (None, 4))
    validate.finite(name, states)
    return states


def _actions(actions, n: int) -> np.ndarray:
    raw = np.asarray(actions)
    validate.shape("actions", raw, (n,))
    if raw.dtype.kind not in "biu" or ((raw != 0) & (raw != 1)).any():
        raise ValueError(f"actions must be 0 (push left) or 1 (push right), got {raw.tolist()!r}")
    return raw.astype(int)


def reset(n: int, seed: int = 0) -> np.ndarray:
    """n start states (n, 4), uniform in [-0.05, 0.05] as CartPole-v1's reset draws them."""
    n = validate.positive_int("n", n)
    return np.random.default_rng(seed).uniform(-0.05, 0.05, size=(n, 4))


def _step(s: np.ndarray, a: np.ndarray) -> np.ndarray:
    x, x_dot, theta, theta_dot = s.T
    force = np.where(a == 1, FORCE, -FORCE)
    cos, sin = np.cos(theta), np.sin(theta)
    total = MASS_CART + MASS_POLE
    temp = (force + MASS_POLE * HALF_LENGTH * theta_dot ** 2 * sin) / total
    theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos ** 2 / total))
    x_acc = temp - MASS_POLE * HALF_LENGTH * theta_acc * cos / total
    return np.stack([x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc], 1)


def step(states, actions) -> np.ndarray:
    """One Euler step of the cart-pole for each row: states (n, 4), actions (n,) in {0, 1} -> (n, 4)."""
    s = _states("states", states)
    return _step(s, _actions(actions, len(s)))


def _fallen(s: np.ndarray) -> np.ndarray:
    return (np.abs(s[:, 0]) > X_LIMIT) | (np.abs(s[:, 2]) > THETA_LIMIT)


def fallen(states) -> np.ndarray:
    """Which rows have ended their episode: |x| > 2.4 or |theta| > 12 degrees, (n,) bool."""
    return _fallen(_states("states", states))


def _expert(obs: np.ndarray) -> np.ndarray:
    return (obs @ np.asarray(EXPERT_GAINS) > 0).astype(int)


def expert(observations) -> np.ndarray:
    """The scripted expert of 12's control task: action 1 (push right) where the gains' weighted sum
    of (x, x_dot, theta, theta_dot) is positive, else 0. observations (n, 4) -> actions (n,)."""
    return _expert(_states("observations", observations))


def rollout(policy, episodes: int, seed: int = 0, max_steps: int = MAX_STEPS, noise: float = 0.0) -> dict:
    """Run `policy` on `episodes` CartPole-v1 episodes in lockstep, each to its end or `max_steps`.

    Args:
        policy: called once per step with the observations of all episodes, (n, 4) float32 (a
            finished episode keeps showing its last state), returns n actions in {0, 1}; a policy
            with memory keeps it between calls (the calls of one rollout are one episode each).
        episodes: n; seed: the start states' and the noise's seed.
        noise: the probability that a playing episode takes a random action instead (coverage for
            imitation data); 0 for scoring.
    Returns:
        dict of arrays: observations (T, n, 4) float32 seen before each action, actions (T, n)
        taken, alive (T, n) whether the episode was still playing at that step, returns (n,) (the
        steps each episode lasted: its score), expert (T, n) the expert's action at each step.
    """
    validate.function("policy", policy, "policy(observations) -> actions")
    max_steps = validate.integer("max_steps", max_steps, 1, MAX_STEPS)
    noise = validate.number("noise", noise, 0, 1)
    rng = np.random.default_rng(seed + 1)
    states = reset(episodes, seed)
    alive = np.ones(episodes, dtype=bool)
    log = {k: [] for k in ("observations", "actions", "alive", "expert")}
    for _ in range(max_steps):
        obs = states.astype(np.float32)
        actions = _actions(policy(obs), episodes)
        if noise:
            flip = rng.random(episodes) < noise
            actions = np.where(flip, rng.integers(0, 2, episodes), actions)
        for key, value in (("observations", obs), ("actions", actions), ("alive", alive.copy()), ("expert", _expert(states))):
            log[key].append(value)
        states = np.where(alive[:, None], _step(states, actions), states)
        alive &= ~_fallen(states)
        if not alive.any():
            break
    out = {k: np.stack(v) for k, v in log.items()}
    out["returns"] = out["alive"].sum(0).astype(float)
    return out
