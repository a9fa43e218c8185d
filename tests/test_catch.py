import numpy as np
import pytest

from course import catch


def test_frames_have_the_papers_input_shape_and_show_ball_and_paddle():
    env = catch.Catch(n_envs=3, seed=0)
    frames = env.reset()
    assert frames.shape == (3, 1, 80, 80) and frames.dtype == np.float32
    per_frame = frames.reshape(3, -1).sum(axis=1)
    assert np.all(per_frame == catch.BALL ** 2 + catch.PADDLE_WIDTH * catch.PADDLE_HEIGHT)
    assert frames[:, 0, -catch.PADDLE_HEIGHT:].sum() == 3 * catch.PADDLE_WIDTH * catch.PADDLE_HEIGHT


def test_an_episode_lasts_16_steps_and_the_expert_always_catches():
    env = catch.Catch(n_envs=64, seed=1)
    env.reset()
    for step in range(1, catch.STEPS_PER_EPISODE + 1):
        _, rewards, done, info = env.step(env.expert_action())
        assert done.all() == (step == catch.STEPS_PER_EPISODE)
    assert info["caught"].all() and np.all(rewards == 1.0)


def env_expert(frames):
    """Read ball and paddle from the pixels alone (a policy sees only frames)."""
    ball_rows = frames[:, 0, catch.BALL_TOP:80 - catch.PADDLE_HEIGHT]
    ball_x = ball_rows.max(axis=1).argmax(axis=1)
    paddle_x = frames[:, 0, -1].argmax(axis=1)
    gap = (ball_x + catch.BALL / 2) - (paddle_x + catch.PADDLE_WIDTH / 2)
    return np.where(gap < -2, 0, np.where(gap > 2, 2, 1))


@pytest.mark.parametrize("drift", [0, 2])
def test_catch_rate_of_the_pixel_expert_staying_and_random_policies(drift):
    assert catch.catch_rate(lambda f, d: env_expert(f), episodes=200, drift=drift) >= 0.9
    stay = catch.catch_rate(lambda f, d: np.ones(len(f), dtype=int), episodes=200, drift=drift)
    assert 0.1 < stay < 0.45   # a 16-px paddle under a 4-px ball: about 20/76 by chance


def test_same_seed_same_games_and_drift_bounces_inside_the_frame():
    a, b = catch.Catch(4, seed=3, drift=3), catch.Catch(4, seed=3, drift=3)
    rng = np.random.default_rng(0)
    for _ in range(40):
        act = rng.integers(0, 3, 4)
        fa, ra, da, _ = a.step(act)
        fb, rb, db, _ = b.step(act)
        assert np.array_equal(fa, fb) and np.array_equal(ra, rb) and np.array_equal(da, db)
        assert np.all((a.ball_x >= 0) & (a.ball_x <= 80 - catch.BALL))


def test_hint_pixels_show_the_expert_action_or_a_random_one():
    env = catch.Catch(n_envs=200, seed=0, hints="expert")
    frames = env.render()
    shown = np.argmax(frames[:, 0, 0, list(catch.HINT_COLUMNS)], axis=1)
    assert np.array_equal(shown, env.expert_action())
    control = catch.Catch(n_envs=200, seed=0, hints="random").render()
    shown = np.argmax(control[:, 0, 0, list(catch.HINT_COLUMNS)], axis=1)
    assert 0.2 < np.mean(shown == env.expert_action()) < 0.5
    assert catch.Catch(2, hints=None).render()[:, 0, catch.HINT_ROWS].sum() == 0


def _reference_render(env):
    """The frames as the first Catch drew them (pixel masks broadcast over every game); `render` draws faster."""
    grid = np.arange(catch.SIZE)
    rows, cols = grid[None, :, None], grid[None, None, :]
    bx, by, px = env.ball_x[:, None, None], env.ball_y[:, None, None], env.paddle_x[:, None, None]
    ball = (rows >= by) & (rows < by + catch.BALL) & (cols >= bx) & (cols < bx + catch.BALL)
    paddle = (rows >= catch.SIZE - catch.PADDLE_HEIGHT) & (cols >= px) & (cols < px + catch.PADDLE_WIDTH)
    frames = (ball | paddle).astype(np.float32)
    if env.hints is not None:
        for action, col in enumerate(catch.HINT_COLUMNS):
            frames[:, catch.HINT_ROWS, col] = np.where(env.hint_action == action, catch.HINT_ON, catch.HINT_OFF)[:, None]
    return frames[:, None]


@pytest.mark.parametrize("hints,drift", [(None, 0), ("expert", 2), ("random", 4)])
def test_render_draws_exactly_the_reference_frames(hints, drift):
    """Every frame of 300 steps of 9 games (walls, restarts, hints) equals the reference drawing, bit for bit."""
    env = catch.Catch(9, seed=4, hints=hints, drift=drift)
    frames, rng = env.reset(), np.random.default_rng(0)
    for _ in range(300):
        want = _reference_render(env)           # the hints it shows are those `render` drew last (env.hint_action)
        assert frames.dtype == want.dtype and frames.shape == want.shape and np.array_equal(frames, want)
        frames, _, _, _ = env.step(rng.integers(0, 3, 9))


@pytest.mark.parametrize("call,match", [
    (lambda: catch.Catch(0), "n_envs must be an integer >= 1"),
    (lambda: catch.Catch(2, hints="yes"), "hints must be one of"),
    (lambda: catch.Catch(2, drift=9), "drift must be an integer in"),
    (lambda: catch.Catch(2).step([1, 1, 1]), r"actions must have shape \(2\)"),
    (lambda: catch.Catch(2).step([0, 3]), "actions must be integers in"),
    (lambda: catch.Catch(2).step([0.5, 1.0]), "actions must be integers in"),
    (lambda: catch.catch_rate(lambda f, d: 1, episodes=0), "episodes must be"),
])
def test_bad_input_is_rejected_with_a_sentence(call, match):
    with pytest.raises(ValueError, match=match):
        call()
