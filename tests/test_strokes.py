"""course/strokes.py: the synthetic handwriting bank of 13_cursive."""
import numpy as np
import pytest

from course import strokes as S


def test_glyph_file_covers_the_alphabet():
    g = S.load_glyphs()
    assert set(g["glyphs"]) == set(S.ALPHABET) and len(S.ALPHABET) == 71
    assert g["cap_line"] - g["base_line"] == -21  # cap height 21 units -> 0.35


def test_render_word_geometry_and_pen_states():
    pts = S.render_word("Hello")
    assert pts.shape[1] == 3 and pts[:, 0].min() == 0
    assert np.isin(pts[:, 2], (0, 1)).all() and pts[-1, 2] == 0  # the last point lifts the pen
    assert 0.3 < pts[:, 1].max() < 0.4  # a capital is about 0.35 high over the baseline
    # the script font's joins: "an" is written in one stroke, 'i' needs a second for its dot
    n = {ch: len(S.split_strokes(S.render_word(ch))) for ch in "an"}
    assert len(S.split_strokes(S.render_word("an"))) == n["a"] + n["n"] - 1
    assert len(S.split_strokes(S.render_word("i"))) == 2


def test_resample_keeps_stroke_ends_and_spacing():
    pts = S.render_word("ab")
    dense = S.resample(pts, 0.01)
    for a, b in zip(S.split_strokes(pts), S.split_strokes(dense)):
        np.testing.assert_allclose(a[[0, -1]], b[[0, -1]], atol=1e-12)
        assert np.hypot(*np.diff(b, axis=0).T).max() <= 0.01 + 1e-9


def test_downsample_keeps_endpoints_and_fraction():
    rng = np.random.default_rng(0)
    dense = S.resample(S.render_word("minimum"), 0.005)
    small = S.downsample(dense, 0.35, drop_prob=0.0, rng=rng)
    assert len(S.split_strokes(small)) == len(S.split_strokes(dense))
    for a, b in zip(S.split_strokes(dense), S.split_strokes(small)):
        np.testing.assert_allclose(a[[0, -1]], b[[0, -1]])
    assert 0.3 < len(small) / len(dense) < 0.4
    dropped = S.downsample(dense, 0.35, drop_prob=0.5, rng=rng)
    assert len(dropped) < len(small)
    dot = np.array([[0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(S.downsample(dot, 0.3, rng=rng), dot)


def _downsample_by_loop(points, keep, drop_prob, rng):
    """The downsampler written stroke by stroke, as the original does: the reference of the batched one."""
    out = []
    for s in S.split_strokes(points):
        if len(s) > 2:
            s = s[np.linspace(0, len(s) - 1, max(2, int(len(s) * keep))).astype(int)]
            s = s[np.r_[True, rng.random(len(s) - 2) >= drop_prob, True]]
        out.append(s)
    return np.vstack([np.column_stack([s, np.r_[np.ones(len(s) - 1), 0.0]]) for s in out])


def test_downsample_is_the_stroke_by_stroke_loop():
    words = [p for _, p in S.word_bank(40, seed=5, step=0.024, min_len=1, max_len=6)]
    words += [np.array([[0.1, 0.2, 0.0]]), np.array([[0, 0, 1.0], [1, 1, 1.0]]),
              np.array([[0, 0, 1.0], [1, 1, 0.0], [2, 2, 0.0], [3, 3, 1.0], [4, 4, 1.0], [5, 5, 1.0]])]
    for keep, drop in [(0.3, 0.05), (0.4, 0.5), (0.999, 0.0), (0.01, 0.05)]:
        r1, r2 = np.random.default_rng(1), np.random.default_rng(1)
        for w in words:
            np.testing.assert_array_equal(S.downsample(w, keep, drop, r1), _downsample_by_loop(w, keep, drop, r2))
        assert r1.random() == r2.random()          # the same random draws, in the same order


def test_augment_and_bank_are_seeded():
    a = S.word_bank(5, seed=3)
    b = S.word_bank(5, seed=3)
    assert [w for w, _ in a] == [w for w, _ in b]
    x = S.augment(a[0][1], np.random.default_rng(1))
    y = S.augment(a[0][1], np.random.default_rng(1))
    np.testing.assert_array_equal(x, y)
    assert len(x) < len(a[0][1])
    words = S.random_words(200, np.random.default_rng(0), min_len=2, max_len=5)
    assert all(set(w) <= set(S.ALPHABET) and " " not in w for w in words)
    assert 2 <= min(map(len, words)) and max(map(len, words)) <= 6  # + punctuation


def test_load_original_format(tmp_path):
    import json
    import zipfile
    item = {"points": [[0.2, 0.5, 1], [0.3, 0.6, 0]], "metadata": {"asciiSequence": "hi", "aspectRatio": 2.0}}
    p = tmp_path / "bank.json.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("bank.json", json.dumps([item]))
    ((text, pts),) = S.load_original(p)
    assert text == "hi"
    np.testing.assert_allclose(pts, [[0, 0.5, 1], [0.2, 0.6, 0]])
    with pytest.raises(ValueError, match="local copy"):
        S.load_original(tmp_path / "missing.json.zip")


@pytest.mark.parametrize("call, match", [
    (lambda: S.render_word("two words"), "outside the alphabet"),
    (lambda: S.render_word("naïve"), "outside the alphabet"),
    (lambda: S.render_word(""), "non-empty"),
    (lambda: S.split_strokes(np.zeros((4, 2))), r"shape \(any, 3\)"),
    (lambda: S.split_strokes(np.zeros((0, 3))), "at least one point"),
    (lambda: S.split_strokes(np.array([[0, 0, 2.0]])), "pen state"),
    (lambda: S.split_strokes(np.array([[np.nan, 0, 1.0]])), "finite"),
    (lambda: S.downsample(S.render_word("a"), 0.0), "keep"),
    (lambda: S.downsample(S.render_word("a"), 0.5, drop_prob=1.0), "drop_prob"),
    (lambda: S.resample(S.render_word("a"), -1), "step"),
    (lambda: S.random_words(3, np.random.default_rng(0), min_len=4, max_len=2), "max_len"),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_plot_words_lays_out_a_row_or_draws_in_place():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    a, b = S.render_word("ab"), S.render_word("i")
    fig, ax = plt.subplots()
    S.plot_words(ax, [a, b], gap=0.2)
    xs = np.concatenate([line.get_xdata() for line in ax.lines])
    assert xs.max() == pytest.approx(a[:, 0].max() + 0.2 + b[:, 0].max() - b[:, 0].min())
    ax.clear()
    S.plot_words(ax, [a, b])      # in place: both start at x = 0
    assert np.concatenate([line.get_xdata() for line in ax.lines]).max() == pytest.approx(a[:, 0].max())
    plt.close(fig)


def test_check_points_fast_path_returns_what_the_full_checks_return():
    """A float64 (N, 3) array comes back as itself (np.asarray's answer); anything else takes the full
    checks, and a bad array still raises the same errors."""
    pts = S.render_word("ab")
    assert S.check_points("points", pts) is pts
    f32 = S.check_points("points", pts.astype(np.float32))
    assert f32.dtype == np.float64 and np.array_equal(f32, pts.astype(np.float32))
    bad_pen, not_finite = pts.copy(), pts.copy()
    bad_pen[0, 2] = 0.5
    not_finite[1, 0] = np.nan
    with pytest.raises(ValueError, match="pen state"):
        S.check_points("points", bad_pen)
    with pytest.raises(ValueError, match="finite"):
        S.check_points("points", not_finite)
    with pytest.raises(ValueError, match="at least one point"):
        S.check_points("points", np.zeros((0, 3)))
    with pytest.raises(ValueError, match="shape"):
        S.check_points("points", np.zeros((4, 2)))
