"""A small handwriting reader for 13_cursive: how legible are the samples?

The paper judges legibility by eye. To put a number on it, this module trains a reader that
has never seen the transformer: a CNN with a CTC output (Graves et al. 2006) over images of
words rendered in the course's Hershey script font (`course.strokes`), with the same jitter
and stroke-preserving downsampling as the training words and a round trip through the polar
tokenizer, so that it reads what a decoded sample looks like. It reads one word at a time;
`char_accuracy` compares its reading with the prompt (1 - edit distance / prompt length).

Its own accuracy on held-out rendered words (words it never saw) says how far to trust it: a
sample it cannot read may be illegible, or written in a way the font never writes. It knows
only this font, so it measures "reads like Hershey script", not human legibility.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import validate
from .strokes import ALPHABET, check_points, split_strokes

HEIGHT, WIDTH = 32, 96   # image size in pixels
PIXEL = 0.02             # pen units per pixel (a capital, 0.35, is 17 pixels)


def rasterize(points, height: int = HEIGHT, width: int = WIDTH, pixel: float = PIXEL) -> np.ndarray:
    """A word's (N, 3) pen points as a (height, width) float32 image of its strokes.

    The word is centred vertically on its bounding box and starts 2 pixels from the left;
    strokes are drawn about 2 pixels wide, dots as 2x2 squares; what lies outside is cut.
    """
    pts = check_points("points", points)
    img = np.zeros((height, width), np.float32)
    x0 = pts[:, 0].min() - 2 * pixel
    yc = 0.5 * (pts[:, 1].min() + pts[:, 1].max())
    for s in split_strokes(pts):
        if len(s) > 1:
            seg = np.hypot(*np.diff(s, axis=0).T)
            n = np.maximum(1, np.ceil(seg / (0.3 * pixel))).astype(int)
            t = np.concatenate([np.arange(k) / k for k in n])
            i = np.repeat(np.arange(len(seg)), n)
            xy = s[i] + t[:, None] * (s[i + 1] - s[i])
            xy = np.vstack([xy, s[-1:]])
        else:
            xy = s
        col = ((xy[:, 0] - x0) / pixel).astype(int)
        row = (height / 2 - (xy[:, 1] - yc) / pixel).astype(int)
        for dr in (0, 1):
            for dc in (0, 1):
                r, c = row + dr, col + dc
                ok = (r >= 0) & (r < height) & (c >= 0) & (c < width)
                img[r[ok], c[ok]] = 1.0
    return img


class GlyphReader(nn.Module):
    """CNN over a (B, 1, 32, 96) word image -> (B, 24, 1 + len(alphabet)) CTC logits; class 0 is
    the CTC blank, class i the alphabet's i-th character (the ids of `CharVocab`)."""

    def __init__(self, n_classes: int = len(ALPHABET) + 1, width: int = 32):
        super().__init__()
        w = validate.positive_int("width", width)
        self.features = nn.Sequential(
            nn.Conv2d(1, w // 2, 3, padding=1), nn.BatchNorm2d(w // 2), nn.ReLU(), nn.MaxPool2d(2),  # 16 x 48
            nn.Conv2d(w // 2, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),      # 8 x 24
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d((2, 1)),  # 4 x 24
            nn.Conv2d(2 * w, 3 * w, (4, 1)), nn.BatchNorm2d(3 * w), nn.ReLU())       # 1 x 24
        self.context = nn.Conv1d(3 * w, 3 * w, 5, padding=2)
        self.out = nn.Linear(3 * w, n_classes)

    def forward(self, images):
        h = self.features(images).squeeze(2)                 # (B, C, T)
        h = h + F.relu(self.context(h))
        return self.out(h.transpose(1, 2))                    # (B, T, classes)


def ctc_loss(logits, targets: list[np.ndarray]) -> torch.Tensor:
    """CTC loss of (B, T, C) logits against each word's character ids (1..C-1)."""
    log_probs = logits.log_softmax(-1).transpose(0, 1)        # (T, B, C)
    flat = torch.as_tensor(np.concatenate(targets), dtype=torch.long)
    lengths = torch.as_tensor([len(t) for t in targets], dtype=torch.long)
    frames = torch.full((logits.size(0),), logits.size(1), dtype=torch.long)
    return F.ctc_loss(log_probs, flat, frames, lengths, blank=0, zero_infinity=True)


def greedy_decode(logits, alphabet: str = ALPHABET) -> list[str]:
    """Best path: the most likely class per frame, repeats merged, blanks dropped."""
    out = []
    for row in logits.argmax(-1).cpu().numpy():
        keep = row[np.r_[True, row[1:] != row[:-1]]]
        out.append("".join(alphabet[i - 1] for i in keep if i > 0))
    return out


@torch.no_grad()
def read_words(reader: nn.Module, words: list) -> list[str]:
    """The reader's text for each word's (N, 3) points ('' for an empty word)."""
    reader.eval()
    texts = [""] * len(words)
    idx = [i for i, w in enumerate(words) if len(w)]
    if idx:
        images = torch.as_tensor(np.stack([rasterize(words[i]) for i in idx]))[:, None]
        for i, t in zip(idx, greedy_decode(reader(images))):
            texts[i] = t
    return texts


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, each 1."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(read: str, truth: str) -> float:
    """1 - edit distance / len(truth), at least 0: 1 is a perfect reading."""
    if not isinstance(truth, str) or not truth:
        raise ValueError(f"truth must be a non-empty string, got {truth!r}")
    return max(0.0, 1.0 - edit_distance(read, truth) / len(truth))



def make_pool(bank: list, view, n: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """`n` (image, word) training examples: views of the (word, points) pairs of `bank` in turn.

    Args:
        bank: (word, points) pairs of single words (no spaces).
        view: `view(points, rng) -> points`, one view of a word (jitter, downsampling, the
            tokenizer's round trip: what a decoded sample looks like).
    Returns:
        (n, HEIGHT, WIDTH) uint8 images and their n words.
    """
    n = validate.positive_int("n", n)
    if not len(bank):
        raise ValueError("bank must hold at least one (word, points) pair")
    rng = np.random.default_rng(validate.integer("seed", seed, lo=0))
    words = [bank[i % len(bank)][0] for i in range(n)]
    images = np.stack([rasterize(view(bank[i % len(bank)][1], rng)) for i in range(n)]).astype(np.uint8)
    return images, words


def train_reader(reader: nn.Module, images: np.ndarray, words: list[str], steps: int, batch: int = 32,
                 lr: float = 3e-3, seed: int = 0, alphabet: str = ALPHABET) -> list[float]:
    """Train `reader` with the CTC loss on a pool of word images (`make_pool`), each batch
    shifted up or down by up to 2 pixels; Adam, the learning rate falling linearly to 10 %.
    Returns the loss of every step."""
    steps = validate.positive_int("steps", steps)
    batch = validate.positive_int("batch", batch)
    if len(images) != len(words) or not len(words):
        raise ValueError(f"images and words must be equally long and non-empty, got {len(images)} and {len(words)}")
    stoi = {ch: i + 1 for i, ch in enumerate(alphabet)}
    targets = [np.array([stoi[ch] for ch in w]) for w in words]
    rng = np.random.default_rng(validate.integer("seed", seed, lo=0))
    opt = torch.optim.Adam(reader.parameters(), lr=lr, foreach=True)   # on the CPU: the default loop's kernels, its bits
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - 0.9 * s / steps)
    losses = []
    reader.train()
    for _ in range(steps):
        pick = rng.integers(0, len(words), batch)
        x = np.stack([np.roll(images[i], int(rng.integers(-2, 3)), axis=0) for i in pick]).astype(np.float32)
        loss = ctc_loss(reader(torch.as_tensor(x)[:, None]), [targets[i] for i in pick])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    reader.eval()
    return losses
