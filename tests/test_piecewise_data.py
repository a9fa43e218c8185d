"""course/piecewise_data.py: shapes, determinism under a seed, known statistics, clear errors."""
import numpy as np
import pytest

from course import piecewise_data as pd


def test_lines_shape_x_grid_and_constant_y():
    d = pd.lines(500, seed=1)
    assert d.shape == (21, 500, 2)
    assert np.allclose(d[:, 0, 0], np.linspace(0, 2.1, 21))
    assert np.allclose(d[..., 1], d[0, :, 1])                    # y constant along each line
    assert 0 <= d[..., 1].min() and d[..., 1].max() <= 1
    assert abs(d[0, :, 1].mean() - 0.5) < 0.05                   # U(0, 1)


def test_circles_thirty_frames_radius_and_arc_step():
    d = pd.circles(400, seed=2)
    assert d.shape == (30, 400, 2)                              # int(1.45 * 2 pi / 0.3) = 30
    r = np.linalg.norm(d, axis=-1)
    assert np.allclose(r, r[0]) and 1 <= r.min() and r.max() <= 2
    chord = np.linalg.norm(np.diff(d, axis=0), axis=-1)          # chord of an arc of length 0.3
    expected = 2 * r[0] * np.sin(0.3 / (2 * r[0]))
    assert np.allclose(chord, expected)


def test_billiards1d_shape_bounds_speed_and_no_overlap():
    d = pd.billiards1d(300, seed=3)
    assert d.shape == (45, 300, 4)
    assert np.all(d[..., 0] == 0.5) and np.all(d[..., 2] == 0.5)
    y = d[..., [1, 3]]
    assert y.min() >= 0.1 - 1e-9 and y.max() <= 0.9 + 1e-9
    assert np.abs(y[..., 0] - y[..., 1]).min() > 0.2 - 0.021     # overlap at most one step of closing speed 2: no pass-through
    step = np.abs(np.diff(y, axis=0))
    assert step.max() <= 0.05 + 1e-9                             # speed 1, 5 steps of 0.01 per frame
    assert np.median(step) == pytest.approx(0.05)                # most frames: straight flight
    order = np.sign(y[..., 1] - y[..., 0])
    assert np.all(order == order[0])                             # the order of the balls is kept


def test_billiards1d_is_piecewise_linear_with_bounces():
    y = pd.billiards1d(200, seed=4)[..., 1]
    kinks = np.abs(np.diff(y, 2, axis=0)) > 1e-9
    per_sequence = kinks.sum(0)
    assert 1 <= per_sequence.mean() < 20                         # a few bounces in 45 frames


@pytest.mark.parametrize("make", [lambda s: pd.lines(50, seed=s), lambda s: pd.circles(50, seed=s),
                                  lambda s: pd.billiards1d(50, seed=s)])
def test_deterministic_under_a_seed(make):
    assert np.array_equal(make(7), make(7))
    assert not np.array_equal(make(7), make(8))


def test_split_ninety_ten():
    tr, te = pd.split(pd.lines(100))
    assert tr.shape == (21, 90, 2) and te.shape == (21, 10, 2)


@pytest.mark.parametrize("call, words", [
    (lambda: pd.lines(0), "n must be"),
    (lambda: pd.lines(10, frames=1), "frames must be"),
    (lambda: pd.lines(10, seed=-1), "seed must be"),
    (lambda: pd.circles(10, step=0), "step must be"),
    (lambda: pd.circles(10, step=100.0), "at least 2 frames"),
    (lambda: pd.billiards1d(10, dt=0.5), "dt must be"),
    (lambda: pd.billiards1d(10, radius=0.3), "radius must be"),
    (lambda: pd.billiards1d(10, steps=3, every=5), "steps must be >="),
    (lambda: pd.split(np.zeros((3, 4))), "frames, sequences, state"),
    (lambda: pd.split(np.zeros((3, 4, 2)), 1.0), "train_fraction must be"),
])
def test_bad_arguments_raise_clear_errors(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def test_bouncing_ball_flies_straight_and_bounces_at_the_walls():
    d = pd.bouncing_ball(200, seed=4)
    assert d.shape == (45, 200, 1)
    assert 0.1 - 1e-12 <= d.min() and d.max() <= 0.9 + 1e-12
    step = np.abs(np.diff(d[..., 0], axis=0))
    turns = pd.bounce_frames(d)
    straight = ~(turns[1:] | turns[:-1])                         # steps not touching a turning frame
    straight[[0, -1]] = False                                    # a turn at the first or last frame is not seen
    assert np.allclose(step[straight], 0.05)                     # speed 1, frames 0.05 apart
    assert np.all(turns.sum(0) >= 2) and np.all(turns.sum(0) <= 3)   # a flight lasts 16 frames
    np.testing.assert_array_equal(d, pd.bouncing_ball(200, seed=4))
    with pytest.raises(ValueError):
        pd.bouncing_ball(10, steps=3, every=5)


def test_bounce_frames_mark_the_turning_frame():
    y = np.array([0.1, 0.2, 0.3, 0.2, 0.1, 0.2])[:, None, None]
    assert pd.bounce_frames(y)[:, 0].tolist() == [False, False, True, False, True, False]
    with pytest.raises(ValueError):
        pd.bounce_frames(np.zeros((2, 3, 1)))
