"""Catch: a vectorised 80x80 pixel game that stands in for Atari in 11 and 12.

A ball falls from the top; a paddle at the bottom moves left, stays or moves right; a
catch scores +1, a miss -1, and the episode (16 steps) ends. Frames have the shape of the
paper's preprocessed Atari input, (1, 80, 80) in [0, 1], so its CNN + recurrent agent and
its saliency code apply unchanged (Greydanus et al. 2018, arXiv 1711.00138, section 4 of
the course spec). Objects are a few pixels wide on purpose: with a coarse first conv layer
an A2C agent then learns the game in minutes on a CPU.

`hints` paints the overfit experiment's hint pixels in the top rows: one 1-pixel column per
action, bright for the action a scripted expert (move toward the ball) would take now
(`"expert"`) or for a random action (`"random"`, the control). Many games step at once:
every array has a leading axis of `n_envs`, and an episode that ends restarts at once.
"""
from __future__ import annotations

import numpy as np

from . import validate

SIZE = 80                 # frame side, pixels
BALL = 4                  # ball side
PADDLE_WIDTH = 16
PADDLE_HEIGHT = 4
FALL = 4                  # pixels the ball falls per step
PADDLE_SPEED = 4          # pixels the paddle moves per step
BALL_TOP = 8              # the ball starts below the hint rows
HINT_ROWS = slice(0, 4)
HINT_COLUMNS = (66, 71, 76)   # one column per action: left, stay, right
HINT_ON, HINT_OFF = 1.0, 0.2
ACTIONS = ("left", "stay", "right")
STEPS_PER_EPISODE = (SIZE - PADDLE_HEIGHT - BALL - BALL_TOP) // FALL   # 16
# the (row, column) offsets of the ball's and the paddle's pixels, for drawing every game at once
_BALL_ROWS, _BALL_COLS = (a.ravel() for a in np.meshgrid(np.arange(BALL), np.arange(BALL), indexing="ij"))
_PADDLE_ROWS, _PADDLE_COLS = (a.ravel() for a in np.meshgrid(np.arange(SIZE - PADDLE_HEIGHT, SIZE),
                                                           np.arange(PADDLE_WIDTH), indexing="ij"))


class Catch:
    """`n_envs` games of Catch stepped together (NumPy, no gym).

    Args:
        n_envs: how many games run at once (>= 1).
        seed: seeds the games' random starts (and random hints).
        hints: None, 'expert' (hint pixels show the expert's action) or 'random' (control).
        drift: largest horizontal ball speed in pixels per step (0: the ball falls straight;
            it bounces off the side walls otherwise).
    """

    def __init__(self, n_envs: int = 16, seed: int = 0, hints: str | None = None, drift: int = 0):
        self.n_envs = validate.positive_int("n_envs", n_envs)
        self.hints = validate.one_of("hints", hints, (None, "expert", "random"))
        self.drift = validate.integer("drift", drift, 0, 4)
        self.rng = np.random.default_rng(validate.integer("seed", seed, 0))
        self.ball_x = np.zeros(n_envs, dtype=np.int64)
        self.ball_y = np.zeros(n_envs, dtype=np.int64)
        self.ball_vx = np.zeros(n_envs, dtype=np.int64)
        self.paddle_x = np.zeros(n_envs, dtype=np.int64)
        self.hint_action = np.ones(n_envs, dtype=np.int64)
        self.reset()

    def _start(self, which: np.ndarray) -> None:
        k = int(which.sum())
        self.ball_x[which] = self.rng.integers(0, SIZE - BALL + 1, k)
        self.ball_y[which] = BALL_TOP
        self.ball_vx[which] = self.rng.integers(-self.drift, self.drift + 1, k)
        self.paddle_x[which] = self.rng.integers(0, SIZE - PADDLE_WIDTH + 1, k)

    def reset(self) -> np.ndarray:
        """Start every game afresh; return the frames, (n_envs, 1, 80, 80) float32."""
        self._start(np.ones(self.n_envs, dtype=bool))
        return self.render()

    def expert_action(self) -> np.ndarray:
        """The scripted expert's action in each game: move toward the ball (0 left, 1 stay, 2 right)."""
        gap = (self.ball_x + BALL / 2) - (self.paddle_x + PADDLE_WIDTH / 2)
        return np.where(gap < -2, 0, np.where(gap > 2, 2, 1))

    def render(self) -> np.ndarray:
        """The current frames, (n_envs, 1, 80, 80) float32 in [0, 1]."""
        frames = np.zeros((self.n_envs, SIZE, SIZE), dtype=np.float32)
        games = np.arange(self.n_envs)[:, None]
        frames[games, self.ball_y[:, None] + _BALL_ROWS, self.ball_x[:, None] + _BALL_COLS] = 1.0
        frames[games, _PADDLE_ROWS, self.paddle_x[:, None] + _PADDLE_COLS] = 1.0
        if self.hints is not None:
            self.hint_action = self.expert_action() if self.hints == "expert" else \
                self.rng.integers(0, len(ACTIONS), self.n_envs)
            shown = self.hint_action[:, None] == np.arange(len(ACTIONS))
            frames[:, HINT_ROWS, HINT_COLUMNS] = np.where(shown, HINT_ON, HINT_OFF).astype(np.float32)[:, None, :]
        return frames[:, None]

    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """Apply one action per game (0 left, 1 stay, 2 right).

        Returns:
            frames (n_envs, 1, 80, 80) of the next step (a finished game has restarted),
            rewards (n_envs,) float32: +1 catch, -1 miss, 0 otherwise,
            done (n_envs,) bool: the game ended this step,
            info: {'caught': (n_envs,) bool, True where a game ended with a catch}.
        """
        actions = np.asarray(actions)
        validate.shape("actions", actions, (self.n_envs,))
        if not np.issubdtype(actions.dtype, np.integer) or actions.min() < 0 or actions.max() > 2:
            raise ValueError(f"actions must be integers in {{0, 1, 2}} (left, stay, right), got {actions!r}")
        self.paddle_x = np.clip(self.paddle_x + (actions - 1) * PADDLE_SPEED, 0, SIZE - PADDLE_WIDTH)
        self.ball_y = self.ball_y + FALL
        self.ball_x = self.ball_x + self.ball_vx
        bounce = (self.ball_x < 0) | (self.ball_x > SIZE - BALL)
        self.ball_x = np.clip(self.ball_x, 0, SIZE - BALL)
        self.ball_vx = np.where(bounce, -self.ball_vx, self.ball_vx)
        done = self.ball_y + BALL >= SIZE - PADDLE_HEIGHT
        caught = done & (self.ball_x + BALL > self.paddle_x) & (self.ball_x < self.paddle_x + PADDLE_WIDTH)
        rewards = np.where(done, np.where(caught, 1.0, -1.0), 0.0).astype(np.float32)
        if done.any():
            self._start(done)
        return self.render(), rewards, done, {"caught": caught}


def catch_rate(policy, episodes: int = 200, seed: int = 0, hints: str | None = None,
               drift: int = 0, n_envs: int = 50) -> float:
    """Fraction of `episodes` games that `policy` catches.

    Args:
        policy: `policy(frames, done)` -> actions (n_envs,); `done` says which games restarted
            on the previous step (a recurrent policy resets its memory there; all True at first).
        episodes: how many finished games to count (>= 1).
        seed, hints, drift, n_envs: as for `Catch`.
    """
    episodes = validate.positive_int("episodes", episodes)
    env = Catch(n_envs=min(n_envs, episodes), seed=seed, hints=hints, drift=drift)
    frames, done = env.reset(), np.ones(env.n_envs, dtype=bool)
    caught = finished = 0
    while finished < episodes:
        frames, _, done, info = env.step(np.asarray(policy(frames, done)))
        take = min(int(done.sum()), episodes - finished)
        caught += int(info["caught"][done][:take].sum())
        finished += take
    return caught / episodes
