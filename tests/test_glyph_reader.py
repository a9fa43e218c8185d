"""course/glyph_reader.py: the legibility reader of 13_cursive (rasterizer, CNN + CTC, accuracy)."""
import numpy as np
import pytest
import torch

from course import glyph_reader as G
from course import strokes as S


def test_rasterize_draws_the_strokes_inside_the_image():
    img = G.rasterize(S.resample(S.render_word("hello"), 0.024))
    assert img.shape == (G.HEIGHT, G.WIDTH) and img.dtype == np.float32
    assert set(np.unique(img)) == {0.0, 1.0} and 100 < img.sum() < 0.5 * img.size
    cols = np.flatnonzero(img.any(0))
    assert cols[0] <= 3 and cols[-1] < G.WIDTH - 1                 # starts at the left, fits
    dot = G.rasterize(np.array([[0.0, 0.0, 0.0]]))
    assert dot.sum() == 4                                           # a dot is a 2x2 square


def test_edit_distance_and_char_accuracy():
    assert G.edit_distance("kitten", "sitting") == 3 and G.edit_distance("", "abc") == 3
    assert G.char_accuracy("hello world", "hello world") == 1.0
    assert G.char_accuracy("hel", "hello world") == pytest.approx(3 / 11)
    assert G.char_accuracy("completely different text", "ab") == 0.0
    with pytest.raises(ValueError, match="truth"):
        G.char_accuracy("a", "")


def test_greedy_decode_merges_repeats_and_drops_blanks():
    path = [1, 1, 0, 1, 2, 2, 0, 0, 3]       # a a _ a b b _ _ c -> "aabc"
    logits = torch.full((1, len(path), len(S.ALPHABET) + 1), -5.0)
    logits[0, torch.arange(len(path)), torch.tensor(path)] = 5.0
    assert G.greedy_decode(logits) == ["aabc"]


def test_reader_shapes_and_a_few_steps_lower_the_loss():
    torch.manual_seed(0)
    bank = S.word_bank(12, seed=0, step=0.024, min_len=2, max_len=4)
    images, words = G.make_pool(bank, lambda p, rng: S.augment(p, rng), 24, seed=0)
    assert images.shape == (24, G.HEIGHT, G.WIDTH) and images.dtype == np.uint8 and words[12] == bank[0][0]
    reader = G.GlyphReader(width=8)
    assert reader(torch.zeros(2, 1, G.HEIGHT, G.WIDTH)).shape == (2, 24, len(S.ALPHABET) + 1)
    losses = G.train_reader(reader, images, words, 30, batch=8, seed=0)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    reads = G.read_words(reader, [bank[0][1], np.zeros((0, 3))])
    assert len(reads) == 2 and reads[1] == "" and set(reads[0]) <= set(S.ALPHABET)


@pytest.mark.parametrize("call, match", [
    (lambda: G.make_pool([], lambda p, r: p, 3), "bank"),
    (lambda: G.make_pool([("a", S.render_word("a"))], lambda p, r: p, 0), "n"),
    (lambda: G.train_reader(G.GlyphReader(width=8), np.zeros((2, 32, 96)), ["a"], 1), "equally long"),
    (lambda: G.rasterize(np.zeros((3, 2))), "shape"),
    (lambda: G.GlyphReader(width=0), "width"),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()
