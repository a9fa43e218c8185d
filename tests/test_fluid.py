"""Tests of course.fluid: the wind tunnel's blur, shape measurements and animation helper."""
import numpy as np
import pytest
import torch
from scipy import ndimage

from course import fluid


# ---------------------------------------------------------------- blur_matrix
@pytest.mark.parametrize("n", [1, 3, 9, 50])
def test_blur_matrix_matches_scipy_reflect_mode_including_edges(n):
    x = np.random.default_rng(n).normal(size=(n, 4))
    b = fluid.blur_matrix(n, sigma=1.0).numpy()
    expected = ndimage.gaussian_filter1d(x, 1.0, axis=0, mode="reflect")
    np.testing.assert_allclose(b @ x, expected, atol=1e-12)


def test_two_dimensional_blur_is_two_matrix_products():
    f = np.random.default_rng(0).normal(size=(50, 75))
    rows, cols = fluid.blur_matrix(50), fluid.blur_matrix(75)
    ours = (rows @ torch.tensor(f) @ cols.T).numpy()
    np.testing.assert_allclose(ours, ndimage.gaussian_filter(f, 1.0, mode="reflect"), atol=1e-12)


def test_blur_keeps_constants_and_is_differentiable():
    b = fluid.blur_matrix(12, sigma=2.0)
    assert b.dtype == torch.float64 and b.shape == (12, 12)
    np.testing.assert_allclose(b.sum(dim=1).numpy(), 1.0, atol=1e-12)  # constant field unchanged
    x = torch.zeros(12, dtype=torch.float64, requires_grad=True)
    (b @ x)[3].backward()
    np.testing.assert_allclose(x.grad.numpy(), b[3].numpy())  # the gradient is the row of B


@pytest.mark.parametrize("n", [5, 50, 75])
def test_reflect_mode_blur_is_symmetric_so_it_is_its_own_adjoint(n):
    b = fluid.blur_matrix(n, sigma=1.0)
    torch.testing.assert_close(b, b.T, rtol=0, atol=1e-15)


def test_blur_matrix_is_cached_and_follows_device_and_dtype():
    assert fluid.blur_matrix(20) is fluid.blur_matrix(20)
    b32 = fluid.blur_matrix(20, dtype=torch.float32, device="cpu")
    assert b32.dtype == torch.float32 and b32.device.type == "cpu"


def test_blur_kernel_width_follows_truncate():
    b = fluid.blur_matrix(40, sigma=1.0, truncate=4.0).numpy()
    row = b[20]
    assert np.count_nonzero(row > 0) == 9  # SciPy's 9-tap kernel for sigma=1, truncate=4


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n must be"), ({"n": 2.5}, "n must be"), ({"n": True}, "n must be"),
    ({"n": 5, "sigma": 0}, "sigma"), ({"n": 5, "sigma": float("nan")}, "sigma"),
    ({"n": 5, "truncate": -1}, "truncate"),
])
def test_blur_matrix_rejects_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fluid.blur_matrix(**kwargs)


# ---------------------------------------------------------------- wing_shape
def bar(rows=40, cols=60, start=(8, 5), end=(28, 45), half_width=1.0):
    """A straight bar from start=(row, col) to end, drawn on a grid."""
    r, c = np.mgrid[:rows, :cols]
    p0, p1 = np.array(start, float), np.array(end, float)
    d = p1 - p0
    t = np.clip(((r - p0[0]) * d[0] + (c - p0[1]) * d[1]) / (d @ d), 0, 1)
    dist = np.hypot(r - (p0[0] + t * d[0]), c - (p0[1] + t * d[1]))
    return (dist <= half_width).astype(float)


def test_inclined_bar_slopes_down_and_is_elongated():
    shape = fluid.wing_shape(bar())
    assert shape["n_blades"] == 1
    assert shape["angle_deg"] == pytest.approx(np.degrees(np.arctan2(20, 40)), abs=2)
    assert shape["elongation"] > 8
    assert shape["chord"] == pytest.approx(np.hypot(20, 40), rel=0.1)
    assert shape["thickness"] < 5 and shape["thickness_ratio"] < 0.15
    assert abs(shape["camber"]) < 0.05  # straight


def test_bar_rising_to_the_right_has_negative_angle():
    flipped = fluid.wing_shape(bar()[::-1])
    assert flipped["angle_deg"] == pytest.approx(-np.degrees(np.arctan2(20, 40)), abs=2)


def test_arc_bulging_upward_has_positive_camber():
    r, c = np.mgrid[:40, :60]
    centre = 25 - 12 * (1 - ((c - 30) / 25) ** 2)   # highest (smallest row) in the middle
    arc = ((np.abs(r - centre) <= 1) & (np.abs(c - 30) <= 25)).astype(float)
    shape = fluid.wing_shape(arc)
    assert shape["camber"] > 0.1
    assert fluid.wing_shape(arc[::-1])["camber"] < -0.1


def test_two_bars_are_two_blades_and_specks_are_ignored():
    two = np.maximum(bar(start=(5, 5), end=(12, 40)), bar(start=(25, 5), end=(32, 40)))
    two[38, 58] = 1.0  # one isolated cell: a speck, not a blade
    shape = fluid.wing_shape(two)
    assert shape["n_blades"] == 2
    assert shape["n_cells"] == int((two > 0.5).sum())


def test_threshold_decides_what_is_solid_and_empty_mask_gives_nan():
    faint = 0.3 * bar()
    assert fluid.wing_shape(faint, threshold=0.2)["n_blades"] == 1
    empty = fluid.wing_shape(faint, threshold=0.5)
    assert empty["n_cells"] == 0 and empty["n_blades"] == 0 and np.isnan(empty["angle_deg"])


def test_wing_shape_accepts_tensors():
    shape = fluid.wing_shape(torch.tensor(bar(), requires_grad=True))
    assert shape["n_blades"] == 1


@pytest.mark.parametrize("mask, kwargs, match", [
    (np.zeros(10), {}, "2-D"), (np.zeros((1, 10)), {}, "2-D"),
    (np.full((5, 5), np.nan), {}, "finite"),
    (np.zeros((5, 5)), {"threshold": 1.0}, "threshold"),
    (np.zeros((5, 5)), {"min_cells": 0}, "min_cells"),
])
def test_wing_shape_rejects_bad_inputs(mask, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fluid.wing_shape(mask, **kwargs)


# ---------------------------------------------------------------- animation_html
def test_animation_html_is_a_javascript_player_with_every_frame():
    frames = np.random.default_rng(0).random((3, 10, 15, 3))
    html = fluid.animation_html(frames, dpi=20, title="flow")
    assert "<script" in html and "Animation" in html
    assert html.count("data:image/png;base64") == 3


def test_animation_html_accepts_scalar_frames():
    assert "<script" in fluid.animation_html(np.zeros((2, 6, 6)), dpi=20)


@pytest.mark.parametrize("frames, kwargs, match", [
    (np.zeros((6, 6)), {}, "shape"), (np.zeros((2, 6, 6, 4)), {}, "shape"),
    (np.zeros((0, 6, 6)), {}, "at least one"), (np.full((1, 6, 6), np.inf), {}, "finite"),
    (np.zeros((1, 6, 6)), {"interval": 0}, "interval"), (np.zeros((1, 6, 6)), {"dpi": 1000}, "dpi"),
    (np.zeros((1, 6, 6)), {"size": 0}, "size"),
])
def test_animation_html_rejects_bad_inputs(frames, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fluid.animation_html(frames, **kwargs)


def test_animation_html_respects_dpi_so_notebooks_stay_light():
    frames = np.random.default_rng(1).random((2, 40, 60, 3))
    small = fluid.animation_html(frames, dpi=20)
    large = fluid.animation_html(frames, dpi=100)
    assert len(small) < len(large) / 3
