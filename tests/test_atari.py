"""course.atari: the paper's 80x80 Pong frames from ale-py (offline), games stepped like Catch,
and the Pong trainer that checkpoints and continues where it stopped."""
import json

import numpy as np
import pytest
import torch

from course import atari


def test_preprocess_crops_the_field_and_halves_it():
    screen = np.zeros((210, 160), np.uint8)
    screen[35:37, 0:2] = 255                  # the field's top-left 2x2 block
    screen[0:35] = 255                        # the score bar is cropped away
    frame = atari.preprocess(screen)
    assert frame.shape == (1, 80, 80) and frame.dtype == np.float32
    assert frame[0, 0, 0] == 1.0 and frame.sum() == 1.0
    assert atari.preprocess(np.zeros((3, 210, 160), np.uint8)).shape == (3, 1, 80, 80)
    with pytest.raises(ValueError, match=r"\(\.\.\., 210, 160\)"):
        atari.preprocess(np.zeros((80, 80)))


def test_pong_runs_offline_with_six_actions_and_restarts_itself():
    games = atari.Games("Pong", n_envs=2, seed=0)
    frames = games.reset()
    assert frames.shape == (2, 1, 80, 80) and games.n_actions == 6
    assert 0.0 <= frames.min() and frames.max() <= 1.0 and frames.std() > 0
    frames, rewards, done, info = games.step(np.array([0, 1]))
    assert frames.shape == (2, 1, 80, 80) and rewards.shape == (2,) and done.dtype == bool
    assert info["scores"] == []
    with pytest.raises(ValueError, match="actions must have shape"):
        games.step(np.array([0]))
    games.close()
    with pytest.raises(ValueError, match="game"):
        atari.Games("Tetris", n_envs=1)


def test_vector_games_see_the_screens_of_a_single_game():
    """Training steps ale-py's threaded vector environment, play() a gym env: same frames, same
    rewards, for the same actions (else the agent would be trained on one game and shown another)."""
    games = atari.Games("Pong", n_envs=2, seed=0)
    env = atari.make_env("Pong", seed=0)
    screen, _ = env.reset(seed=0)
    frames = games.reset()
    assert np.array_equal(frames[0], atari.preprocess(screen))
    rng = np.random.default_rng(1)
    for _ in range(120):
        actions = rng.integers(0, 6, 2)
        frames, rewards, _, _ = games.step(actions)
        screen, reward, *_ = env.step(int(actions[0]))
        assert np.array_equal(frames[0], atari.preprocess(screen)) and rewards[0] == reward
    games.close()
    env.close()


def test_training_checkpoints_and_resumes_where_it_stopped(tmp_path):
    settings = atari.Settings(frames=2 * 2 * 3 * 4, n_envs=2, n_step=3, hidden=16)
    path = tmp_path / "pong.pt"
    model, log = atari.train(settings.__class__(**{**settings.as_dict(), "frames": 24}), checkpoint=path,
                             progress=False)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["frames"] == 24 and path.exists()
    first = {k: v.clone() for k, v in model.state_dict().items()}
    bigger = atari.Settings(**{**settings.as_dict(), "frames": 48})
    model2, _ = atari.train(bigger, checkpoint=path, progress=False)
    assert json.loads(path.with_suffix(".json").read_text())["frames"] == 48       # continued, not restarted
    assert any(not torch.equal(first[k], v) for k, v in model2.state_dict().items())
    with pytest.raises(ValueError, match="other settings"):
        atari.train(atari.Settings(**{**settings.as_dict(), "hidden": 32}), checkpoint=path, progress=False)


def test_greedy_play_is_deterministic():
    model = atari.new_model(atari.Settings(hidden=16), n_actions=6)
    a = atari.play(model, "Pong", steps=60, seed=3, keep_frames=True)
    b = atari.play(model, "Pong", steps=60, seed=3)
    assert a["score"] == b["score"] and np.array_equal(a["actions"], b["actions"])
    assert a["frames"].shape == (60, 1, 80, 80) and a["hidden_in"].shape == (60, 16)


def test_shipped_pong_agent_still_scores_what_its_run_recorded():
    from course import weights
    if not (weights.shipped_dir() / "pong_agent.pt").exists():
        pytest.skip("no Pong agent shipped yet (make pretrain, then tools/pretrain_pong.py --ship)")
    info = weights.provenance("pong_agent")
    model = atari.new_model(atari.Settings(**info["settings"]), n_actions=6)
    weights.load_weights(model, "pong_agent")
    recorded = info["cards"]["greedy score, first 500 steps of seed 0"]
    assert atari.play(model.eval(), "Pong", steps=500, seed=0)["score"] == recorded


def test_greedy_scores_play_games_in_lockstep_from_their_noop_starts():
    """The batched evaluation plays what play() plays: game 0 (no no-ops) matches play()'s seed-0 game
    step for step, a no-op start gives another game, and a cap stops games unfinished."""
    torch.manual_seed(0)
    model = atari.new_model(atari.Settings(hidden=16), n_actions=6).eval()
    result = atari.greedy_scores(model, noops=(0, 5), max_steps=300)
    single = atari.play(model, "Pong", steps=300, seed=0)
    assert result["steps"] == [300, 300] and result["ended"] == [False, False]
    assert result["scores"][0] == single["score"] and single["score"] < 0     # an untrained agent concedes
    with pytest.raises(ValueError, match="at least one game"):
        atari.greedy_scores(model, noops=())
    with pytest.raises(ValueError, match="noop start"):
        atari.greedy_scores(model, noops=(-1,))


def test_pong_block_sums_decompose_uniquely():
    """Every mix of the four greys in a 2x2 block has its own sum: a pooled pixel says what the block held."""
    table = atari._pong_block_table()
    known = table[table[:, 0] >= 0]
    assert len(known) == 35 and len({tuple(row) for row in known}) == 35     # C(7, 3) mixes, all distinct


def test_pong_objects_finds_drawn_objects_on_a_screen():
    screen = np.full((210, 160), atari.PONG_FIELD, np.uint8)
    screen[0:20, 20:40] = atari.PONG_OPPONENT             # a score digit: above the crop
    screen[24:34] = atari.PONG_WHITE                      # the top wall: above the crop
    screen[194:] = atari.PONG_WHITE                       # the bottom wall: half of row 79
    screen[101:117, 140:144] = atari.PONG_PADDLE          # the agent's paddle (odd top row: split blocks)
    screen[61:77, 16:20] = atari.PONG_OPPONENT
    screen[121:125, 81:83] = atari.PONG_WHITE             # the ball, 2 x 4, at an odd column
    objects = atari.pong_objects(atari.preprocess(screen))
    rows, cols = np.nonzero(objects["paddle"])
    assert set(cols) == {70, 71} and (rows.min(), rows.max()) == ((101 - 35) // 2, (116 - 35) // 2)
    rows, cols = np.nonzero(objects["opponent"])
    assert set(cols) == {8, 9} and (rows.min(), rows.max()) == ((61 - 35) // 2, (76 - 35) // 2)
    rows, cols = np.nonzero(objects["ball"])
    assert set(cols) == {40, 41} and set(rows) == {(121 - 35) // 2, (124 - 35) // 2}
    assert not objects["ball"][79].any()                 # the wall is not the ball
    assert objects["ball"].shape == (80, 80)
    with pytest.raises(ValueError, match="80x80"):
        atari.pong_objects(np.zeros((84, 84)))


def test_pong_objects_on_real_frames():
    """On a real game: the paddles sit in their columns in every frame after the first (the first screen is one
    grey), at a paddle's size; the ball is a few pixels, seen in most frames, and moves."""
    model = atari.new_model(atari.Settings(hidden=16), n_actions=6)
    game = atari.play(model, "Pong", steps=200, seed=1, keep_frames=True)
    objects = atari.pong_objects(game["frames"])
    assert objects["ball"].shape == (200, 80, 80)
    assert not any(m[0].any() for m in objects.values())
    paddle, opponent, ball = (objects[k][1:] for k in ("paddle", "opponent", "ball"))
    assert set(np.nonzero(paddle)[2]) == {70, 71} and set(np.nonzero(opponent)[2]) == {8, 9}
    assert paddle.any((1, 2)).all() and opponent.any((1, 2)).mean() > 0.9
    assert paddle.sum((1, 2)).max() <= 18 and opponent.sum((1, 2)).max() <= 18
    seen = ball.any((1, 2))
    assert seen.mean() > 0.4 and ball.sum((1, 2)).max() <= 6
    centres = {tuple(np.argwhere(b).mean(0).round()) for b in ball[seen]}
    assert len(centres) > 20


def test_the_pong_agent_refuses_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Pong checkpoint"):
        atari.load_agent(tmp_path / "missing.pt")
    model = atari.new_model(atari.Settings(hidden=16), n_actions=6)
    with pytest.raises(ValueError, match="frames must have shape"):
        model.encode(torch.zeros(1, 80, 80))
    frames = torch.rand(2, 1, 80, 80)
    # standardised inside: a frame's brightness does not change what the agent sees
    assert torch.allclose(model.encode(frames), model.encode(0.3 + frames), atol=1e-5)
