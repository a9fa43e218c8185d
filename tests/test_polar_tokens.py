"""course/polar_tokens.py: the polar tokenizer (vocabulary 525) and the character vocabulary."""
import numpy as np
import pytest

from course import strokes as S
from course.polar_tokens import CharVocab, PolarTokenizer

TOK = PolarTokenizer()


def test_paper_layout():
    assert TOK.vocab_size == 525 and (TOK.PAD, TOK.END, TOK.WORD) == (522, 523, 524)
    assert TOK.n_r == 151 and TOK.angle0 == 302 and TOK.n_angle == 220
    assert TOK.r_bins[0] == 0 and TOK.r_bins[-1] == pytest.approx(0.9)


def test_angle_bins_are_220_equal_intervals_over_the_circle():
    # the lower edges -pi + 2 pi k / 220: no bin may hold only theta = pi (the old linspace(-pi, pi, 220))
    np.testing.assert_allclose(np.diff(TOK.theta_bins), 2 * np.pi / 220)
    assert TOK.theta_bins[0] == -np.pi and TOK.theta_bins[-1] == pytest.approx(np.pi - 2 * np.pi / 220)
    theta = np.linspace(-np.pi, np.pi, 220 * 50, endpoint=False) + np.pi / 220 / 50   # uniform directions
    off = np.column_stack([np.cos(theta), np.sin(theta), np.ones_like(theta)]) * [0.05, 0.05, 1]
    counts = np.bincount(TOK.encode_offsets(off)[::2] - TOK.angle0, minlength=220)
    assert len(counts) == 220 and (counts == 50).all()
    left = TOK.encode_offsets(np.array([[-0.05, 0.0, 1.0], [-0.05, -1e-12, 1.0]]))[::2] - TOK.angle0
    assert left.tolist() == [219, 0]        # theta = pi closes the last bin, just below -pi opens the first


def test_encoder_hook_routes_the_encoding():
    calls = []

    def mine(offsets, theta_bins, r_bins):
        calls.append(len(offsets))
        return TOK.encode_offsets(offsets)

    words = [S.render_word("ab"), S.render_word("cd")]
    assert PolarTokenizer(encoder=mine).encode(words).tolist() == TOK.encode(words).tolist() and calls
    flipped = PolarTokenizer(encoder=lambda o, t, r: TOK.encode_offsets(np.c_[o[:, :2], 1 - o[:, 2]]))
    back = flipped.decode(flipped.encode(words))
    assert not np.array_equal(back[0][:, 2], words[0][:, 2])          # a wrong encoder shows downstream
    with pytest.raises(ValueError, match="encoder must return"):
        PolarTokenizer(encoder=lambda o, t, r: np.zeros(3, dtype=int)).encode(words)
    with pytest.raises(ValueError, match="encoder must be a function"):
        PolarTokenizer(encoder=3)


def test_angle_first_then_distance_with_pen_state():
    off = np.array([[0.0, 0.05, 1.0], [-0.05, 0.0, 0.0]])  # up with the pen down, left lifting it
    t = TOK.encode_offsets(off)
    assert t[0] >= 302 and t[1] < 151      # angle token, then pen-down distance token
    assert t[2] >= 302 and 151 <= t[3] < 302  # pen-up distances are the shifted copy
    assert TOK.theta_bins[t[0] - 302] <= np.pi / 2 < TOK.theta_bins[t[0] - 301]
    assert TOK.r_bins[t[1]] <= 0.05 < TOK.r_bins[t[1] + 1]   # lower bin edge (digitize - 1)


def test_round_trip_keeps_pen_states_and_positions():
    rng = np.random.default_rng(0)
    bank = S.word_bank(20, seed=0, step=0.024)
    for i in range(0, 20, 2):
        words = [S.augment(bank[i][1], rng), S.augment(bank[i + 1][1], rng)]
        tokens = TOK.encode(words)
        assert (tokens == TOK.WORD).sum() == 2
        back = TOK.decode(tokens)
        assert len(back) == 2
        for a, b in zip(words, back):
            np.testing.assert_array_equal(a[:, 2], b[:, 2])
            # shapes survive: each word's points within 0.06 of the original (letter height 0.35)
            da = a[:, :2] - a[0, :2]
            db = b[:, :2] - b[0, :2]
            assert np.abs(da - db).max() < 0.06


def test_decoded_offsets_lie_below_the_true_radius():
    off = np.column_stack([np.random.default_rng(1).uniform(-0.5, 0.5, (100, 2)), np.ones(100)])
    dec = TOK.decode_offsets(TOK.encode_offsets(off))
    assert (np.hypot(*dec[:, :2].T) <= np.hypot(*off[:, :2].T) + 1e-12).all()


def test_second_word_starts_at_the_previous_right_edge():
    a, b = S.render_word("ab"), S.render_word("cd")
    off = TOK.offsets(b, prev=a)
    assert off[0, 0] == pytest.approx(a[:, 0].max() - a[-1, 0] + b[0, 0] - b[:, 0].min())
    assert off[0, 1] == pytest.approx(b[0, 1] - a[-1, 1])


def test_split_and_lenient_decode_of_samples():
    t = np.r_[TOK.encode([S.render_word("ab")]), TOK.WORD, TOK.WORD, 310, 5, 311, TOK.END, 7, 8]
    words = TOK.split_words(t)
    assert len(words) == 2 and len(words[1]) == 2  # the dangling token is dropped, END stops
    bad = np.array([310, 5, 5, 310, 311, 6])
    with pytest.raises(ValueError, match="pairs"):
        TOK.decode(bad)
    assert len(TOK.decode(bad, strict=False)[0]) == 2


def test_char_vocab():
    cv = CharVocab()
    assert cv.size == 72 and cv.max_len == 50
    ids = cv.encode("Hi there!")
    assert ids.shape == (50,) and ids[9:].sum() == 0 and cv.decode(ids) == "Hi there!"


@pytest.mark.parametrize("call, match", [
    (lambda: CharVocab().encode("héllo"), "outside the alphabet"),
    (lambda: CharVocab().encode("a" * 51), "at most 50"),
    (lambda: CharVocab("aa"), "distinct"),
    (lambda: CharVocab().decode([99]), "character ids"),
    (lambda: PolarTokenizer(n_angle=0), "n_angle"),
    (lambda: PolarTokenizer(n_linear=2.5), "n_linear"),
    (lambda: PolarTokenizer(r_linear=(0.1, 0.05)), "increase"),
    (lambda: TOK.encode_offsets(np.zeros((3, 2))), r"shape \(any, 3\)"),
    (lambda: TOK.encode_offsets(np.array([[0.1, 0, 0.5]])), "pen state"),
    (lambda: TOK.decode_offsets(np.array([310])), "even number"),
    (lambda: TOK.decode_offsets(np.array([5, 310])), "pairs"),
    (lambda: TOK.decode(np.array([600])), r"\[0, 525\)"),
    (lambda: TOK.decode(np.zeros((2, 2), dtype=int)), "1-D"),
    (lambda: TOK.encode(np.zeros((3, 3))), "list"),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
