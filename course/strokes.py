"""Synthetic handwriting as pen strokes, for 13_cursive (The Cursive Transformer, section 4).

The paper's data (3,500 words written on a trackpad by one person) ships without a license,
so the course does not redistribute it. Instead this module renders words with the Hershey
'scripts' font (a single-stroke script face; glyphs in data/hershey_script.json, extracted
from the MIT-licensed PyPI package `hershey-fonts` by tools/extract_hershey_script.py) and
writes them as pen strokes: an (N, 3) array of points (x, y, pen). y grows upwards, the
baseline is y = 0 and a capital is 0.35 high (the paper's letter height). pen = 1 means the
pen stays down to the next point; pen = 0 marks the last point of a stroke (the pen lifts),
as in the original data. Per-word jitter and the paper's stroke-preserving downsampler give
every training example its own shape.

What is lost against the original: real handwriting varies a letter with its neighbours
(contextual joins); a Hershey glyph is the same everywhere. A user with a local copy of the
original data can load it with `load_original` (nothing is downloaded).
"""
from __future__ import annotations

import functools
import json
import zipfile
from pathlib import Path

import numpy as np

from . import validate

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?'-:;"
UNIT = 0.35 / 21  # one Hershey unit: the font's cap height (21 units) becomes 0.35
GLYPH_FILE = Path(__file__).resolve().parent.parent / "data" / "hershey_script.json"
# English letter frequencies (percent), for word-like random strings
_FREQ = dict(zip("etaoinshrdlcumwfgypbvkjxqz",
                 [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2,
                  2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]))


@functools.lru_cache(maxsize=2)
def load_glyphs(path: str | None = None) -> dict:
    """The Hershey glyphs {char: {"left", "width", "strokes"}} in font units (y down)."""
    p = Path(path) if path is not None else GLYPH_FILE
    if not p.exists():
        raise ValueError(f"glyph file {p} not found (see tools/extract_hershey_script.py)")
    return json.loads(p.read_text())


def check_points(name: str, points) -> np.ndarray:
    """An (N, 3) finite float array of (x, y, pen) with N >= 1 and pen in {0, 1}."""
    if type(points) is np.ndarray and points.dtype == np.float64 and points.ndim == 2 and points.shape[1] == 3 \
            and len(points) and np.isfinite(points).all():     # the common case in a few us (make_batch: ~90 calls)
        pen = points[:, 2]
        if ((pen == 0.0) | (pen == 1.0)).all():
            return points                                      # what np.asarray(points, dtype=float) returns
    validate.shape(name, points, (None, 3))
    pts = np.asarray(points, dtype=float)
    if len(pts) == 0:
        raise ValueError(f"{name} must hold at least one point, got shape {pts.shape}")
    validate.finite(name, pts)
    pen = pts[:, 2]
    if not ((pen == 0.0) | (pen == 1.0)).all():          # np.isin's answer, without its set machinery
        raise ValueError(f"{name}[:, 2] (pen state) must be 0 or 1")
    return pts


def check_text(name: str, text: str, alphabet: str = ALPHABET, spaces: bool = True) -> str:
    """A non-empty string whose characters are all in `alphabet` (and no space unless allowed)."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"{name} must be a non-empty string, got {text!r}")
    bad = sorted({ch for ch in text if ch not in alphabet or (ch == " " and not spaces)})
    if bad:
        raise ValueError(f"{name} has characters outside the alphabet: {bad!r} (allowed: {alphabet!r})")
    return text


def render_word(word: str, join: float = 2.0) -> np.ndarray:
    """A word written in Hershey script as pen strokes (13_cursive, section 'Data').

    Args:
        word: characters of ALPHABET, no space.
        join: a glyph's first stroke continues the previous stroke when the pen is within
            `join` font units of where it was lifted (the script font's joins).
    Returns:
        (N, 3) array of (x, y, pen); x starts at 0, baseline y = 0, y up.
    """
    check_text("word", word, spaces=False)
    join = validate.number("join", join, lo=0)
    glyphs = load_glyphs()
    base = glyphs["base_line"]
    strokes, cursor = [], 0.0
    for ch in word:
        g = glyphs["glyphs"][ch]
        for i, s in enumerate(g["strokes"]):
            xy = np.array(s, dtype=float)
            xy[:, 0] += cursor - g["left"]
            xy[:, 1] = base - xy[:, 1]
            if i == 0 and strokes and np.hypot(*(strokes[-1][-1] - xy[0])) <= join:
                strokes[-1] = np.vstack([strokes[-1], xy[1:]])
            else:
                strokes.append(xy)
        cursor += g["width"]
    pts = np.vstack([np.column_stack([s, np.r_[np.ones(len(s) - 1), 0.0]]) for s in strokes])
    pts[:, :2] *= UNIT
    pts[:, 0] -= pts[:, 0].min()
    return pts


def split_strokes(points) -> list[np.ndarray]:
    """The (M, 2) polylines of a points array: a stroke ends at each point with pen = 0."""
    pts = check_points("points", points)
    ends = np.flatnonzero(pts[:, 2] == 0) + 1
    return [s[:, :2] for s in np.split(pts, ends) if len(s)]


def _join(strokes: list[np.ndarray]) -> np.ndarray:
    return np.vstack([np.column_stack([s, np.r_[np.ones(len(s) - 1), 0.0]]) for s in strokes])


def resample(points, step: float = 0.012) -> np.ndarray:
    """Points every `step` of arc length along each stroke (a trackpad-like sampling);
    stroke endpoints and single-point strokes (dots) are kept."""
    step = validate.positive("step", step)
    out = []
    for s in split_strokes(points):
        seg = np.hypot(*np.diff(s, axis=0).T) if len(s) > 1 else np.zeros(0)
        arc = np.r_[0.0, np.cumsum(seg)]
        if arc[-1] == 0:
            out.append(s[:1])
            continue
        t = np.linspace(0, arc[-1], max(2, int(np.ceil(arc[-1] / step)) + 1))
        out.append(np.column_stack([np.interp(t, arc, s[:, 0]), np.interp(t, arc, s[:, 1])]))
    return _join(out)


def downsample(points, keep: float, drop_prob: float = 0.05, rng=None) -> np.ndarray:
    """The paper's stroke-preserving downsampler (section 4, `downsample` of the original).

    Each stroke keeps max(2, int(len * keep)) evenly spaced points including both ends,
    then loses each interior point with probability `drop_prob`; dots stay. (All strokes at
    once: the same points and random draws as a loop over the strokes, several times faster.)
    """
    keep = validate.number("keep", keep, lo=0, hi=1, lo_open=True)
    drop_prob = validate.number("drop_prob", drop_prob, lo=0, hi=1, hi_open=True)
    rng = np.random.default_rng() if rng is None else rng
    pts = check_points("points", points)
    bounds = np.unique(np.concatenate([[0], np.flatnonzero(pts[:, 2] == 0) + 1, [len(pts)]]))
    first, n = bounds[:-1], np.diff(bounds)                     # each stroke's first point and length
    long = n > 2
    m = np.where(long, np.maximum(2, (n * keep).astype(int)), n)   # points each stroke keeps
    step = np.where(long, (n - 1) / np.maximum(m - 1, 1), 1.0)     # as np.linspace(0, n - 1, m)
    stroke = np.repeat(np.arange(len(n)), m)
    start = np.cumsum(m) - m
    i = np.arange(len(stroke)) - start[stroke]
    idx = (i * step[stroke]).astype(int)
    last = i == m[stroke] - 1
    idx[last] = (n - 1)[stroke[last]]                            # linspace ends exactly on the last point
    kept = np.ones(len(idx), bool)
    inner = long[stroke] & (i > 0) & ~last
    kept[inner] = rng.random(int(inner.sum())) >= drop_prob    # one draw per interior point, stroke by stroke
    out = pts[first[stroke] + idx][kept]
    out[:, 2] = 1.0
    out[last[kept], 2] = 0.0                                     # the pen lifts after each stroke's last point
    return out


def jitter(points, rng, shear=(-0.1, 0.1), scale=(0.9, 1.1), noise: float = 0.0005) -> np.ndarray:
    """Per-word affine jitter (slant x += s*y, x- and y-scale) plus Gaussian noise per point."""
    pts = check_points("points", points).copy()
    noise = validate.number("noise", noise, lo=0)
    s, sx, sy = rng.uniform(*shear), rng.uniform(*scale), rng.uniform(*scale)
    pts[:, 0] = sx * (pts[:, 0] + s * pts[:, 1])
    pts[:, 1] = sy * pts[:, 1]
    pts[:, :2] += noise * rng.standard_normal((len(pts), 2))
    pts[:, 0] -= pts[:, 0].min()
    return pts


def augment(points, rng, keep=(0.3, 0.4), drop_prob: float = 0.05, **jitter_args) -> np.ndarray:
    """One training view of a word: jitter, then downsample keeping U(keep) of each stroke."""
    return downsample(jitter(points, rng, **jitter_args), rng.uniform(*keep), drop_prob, rng)


def random_words(n: int, rng, min_len: int = 3, max_len: int = 6, p_capital: float = 0.1,
                 p_digits: float = 0.05, p_punct: float = 0.05) -> list[str]:
    """`n` word-like strings: letters drawn by English frequency, sometimes capitalised,
    sometimes a number, sometimes ending in punctuation; all characters in ALPHABET."""
    n = validate.positive_int("n", n)
    min_len = validate.integer("min_len", min_len, lo=1)
    max_len = validate.integer("max_len", max_len, lo=min_len)
    letters, p = np.array(list(_FREQ)), np.array(list(_FREQ.values()))
    words = []
    for _ in range(n):
        k = int(rng.integers(min_len, max_len + 1))
        if rng.random() < p_digits:
            w = "".join(rng.choice(list("0123456789"), size=min(k, 4)))
        else:
            w = "".join(rng.choice(letters, size=k, p=p / p.sum()))
            if rng.random() < p_capital:
                w = w[0].upper() + w[1:]
        if rng.random() < p_punct:
            w += str(rng.choice(list(".,!?'-:;")))
        words.append(w)
    return words


def word_bank(n: int, seed: int = 0, step: float = 0.012, **word_args) -> list[tuple[str, np.ndarray]]:
    """`n` (word, points) pairs: random words rendered and resampled every `step`."""
    rng = np.random.default_rng(validate.integer("seed", seed, lo=0))
    return [(w, resample(render_word(w), step)) for w in random_words(n, rng, **word_args)]


def load_original(path) -> list[tuple[str, np.ndarray]]:
    """(word, points) pairs from a LOCAL copy of the original data (a `.json.zip` of the
    cursivetransformer repository, e.g. bigbank.json.zip): x scaled by the aspect ratio and
    shifted to start at 0, as the original loader does. Nothing is downloaded."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"no file {p}: point ORIGINAL_DATA at a local copy of the original data")
    with zipfile.ZipFile(p) as z, z.open(z.namelist()[0]) as f:
        items = json.load(f)
    out = []
    for item in items:
        pts = np.array(item["points"], dtype=float)
        pts[:, 0] = (pts[:, 0] - pts[0, 0]) * item["metadata"]["aspectRatio"]
        out.append((item["metadata"]["asciiSequence"], check_points("points", pts)))
    return out


def plot_words(ax, words, gap: float | None = None, dots: bool = True, **style):
    """Draw one or more points arrays. gap=None draws them where they are (a decoded sequence);
    a number lays them out in a row, each starting `gap` right of the previous one's right edge."""
    style = {"color": "k", "lw": 1.5, **style}
    right = None
    for pts in [words] if isinstance(words, np.ndarray) else words:
        if len(pts) == 0:
            continue
        shift = 0.0
        if gap is not None:
            shift = 0.0 if right is None else right + gap - pts[:, 0].min()
            right = pts[:, 0].max() + shift
        for s in split_strokes(pts):
            if len(s) == 1 and dots:
                ax.plot(s[0, 0] + shift, s[0, 1], "o", ms=2, color=style["color"])
            else:
                ax.plot(s[:, 0] + shift, s[:, 1], **style)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
