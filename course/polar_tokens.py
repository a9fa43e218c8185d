"""The Cursive Transformer's polar pen tokenizer and character vocabulary (13_cursive, eq. 1-2).

Each pen offset (dx, dy, pen) becomes two tokens, "point, then shoot": first an angle token
(theta = atan2(dy, dx) in one of 220 equal bins over [-pi, pi]), then a distance token whose bin
also carries the pen state (151 radius bins for pen down, the same 151 shifted for pen up).
Layout of the final code of the paper: tokens 0-301 distance+pen, 302-521 angle, PAD = 522,
END = 523, WORD = 524: a vocabulary of 525. Values map to the LOWER edge of their bin
(`digitize - 1`), as in the original; two WORD tokens separate words, and the first offset of
a word is measured from the previous word's right edge.

The notebook builds the encoding itself (a graded exercise, `polar_encode`) and hands it to
`PolarTokenizer(encoder=polar_encode)`, so every token the notebook makes comes from the
student's function; without `encoder` this module is the reference the tests use.

Angle bins: the 220 lower edges -pi + 2*pi*k/220 (k = 0..219), i.e. 220 equal intervals of
width 2*pi/220 covering [-pi, pi], theta = pi itself in the last one. (Until 2026-12 the edges
were `linspace(-pi, pi, 220)`: 219 intervals of width 2*pi/219 and a 220th bin that held only
theta = pi exactly.)
"""
from __future__ import annotations

import numpy as np

from . import validate
from .strokes import ALPHABET, check_points, check_text


class PolarTokenizer:
    """Polar tokens for pen offsets (13_cursive, eq. 1).

    Args:
        n_angle: angle bins over [-pi, pi] (paper: 220).
        n_linear: linear radius bins in `r_linear` (paper: 30 in [1e-4, 0.06]).
        n_geometric: geometric radius bins in `r_geometric` (paper: 120 in [0.06001, 0.9]).
        encoder: optional `f(offsets, theta_bins, r_bins) -> tokens` used by `encode_offsets`
            instead of the reference encoding (13_cursive passes the student's `polar_encode`).
    """

    def __init__(self, n_angle: int = 220, n_linear: int = 30, n_geometric: int = 120,
                 r_linear=(1e-4, 0.06), r_geometric=(0.06001, 0.9), encoder=None):
        if encoder is not None and not callable(encoder):
            raise ValueError(f"encoder must be a function (offsets, theta_bins, r_bins) -> tokens, got {encoder!r}")
        self.encoder = encoder
        self.n_angle = validate.integer("n_angle", n_angle, lo=2)
        n_linear = validate.integer("n_linear", n_linear, lo=1)
        n_geometric = validate.integer("n_geometric", n_geometric, lo=1)
        lo1, hi1 = (validate.positive("r_linear", r) for r in r_linear)
        lo2, hi2 = (validate.positive("r_geometric", r) for r in r_geometric)
        if not lo1 < hi1 < lo2 < hi2:
            raise ValueError(f"radius ranges must increase: r_linear {r_linear}, r_geometric {r_geometric}")
        # n_angle equal intervals over [-pi, pi]: the lower edges, pi itself falls in the last bin
        self.theta_bins = np.linspace(-np.pi, np.pi, self.n_angle + 1)[:-1]
        self.r_bins = np.concatenate([[0.0], np.linspace(lo1, hi1, n_linear), np.geomspace(lo2, hi2, n_geometric)])
        self.n_r = len(self.r_bins)               # 151 per pen state
        self.angle0 = 2 * self.n_r                # first angle token (302)
        self.PAD = self.angle0 + self.n_angle     # 522
        self.END, self.WORD = self.PAD + 1, self.PAD + 2
        self.vocab_size = self.PAD + 3            # 525

    # -- one word ------------------------------------------------------------------------
    @staticmethod
    def offsets(points, prev=None) -> np.ndarray:
        """(N, 3) offsets (dx, dy, pen) of a word's points; the first is measured from the
        origin, or from `prev`'s right edge and last height when a previous word is given."""
        pts = check_points("points", points)
        off = np.zeros_like(pts)
        off[1:, :2] = np.diff(pts[:, :2], axis=0)
        off[0, :2] = pts[0, :2]
        if prev is not None:
            prv = check_points("prev", prev)
            off[0, 0] = (prv[:, 0].max() - prv[-1, 0]) + (pts[0, 0] - pts[:, 0].min())
            off[0, 1] = pts[0, 1] - prv[-1, 1]
        off[:, 2] = pts[:, 2]
        return off

    def encode_offsets(self, offsets) -> np.ndarray:
        """(N, 3) offsets -> 2N tokens [angle, distance+pen, angle, distance+pen, ...] (eq. 1),
        by `encoder` when one was given (its output is checked for shape and range)."""
        off = check_points("offsets", offsets)
        if self.encoder is not None:
            out = np.asarray(self.encoder(off, self.theta_bins.copy(), self.r_bins.copy()))
            if out.shape != (2 * len(off),) or not np.issubdtype(out.dtype, np.integer) \
                    or (out.size and (out.min() < 0 or out.max() >= self.PAD)):
                raise ValueError(f"encoder must return {2 * len(off)} integer pen tokens in [0, {self.PAD}), "
                                 f"got shape {out.shape}, dtype {out.dtype}")
            return out.astype(np.int64)
        r, theta = np.hypot(off[:, 0], off[:, 1]), np.arctan2(off[:, 1], off[:, 0])
        r_idx = np.clip(np.digitize(r, self.r_bins) - 1, 0, self.n_r - 1)
        r_idx = r_idx + self.n_r * (off[:, 2] == 0)            # pen up: the shifted copy
        t_idx = np.clip(np.digitize(theta, self.theta_bins) - 1, 0, self.n_angle - 1)
        return np.column_stack([self.angle0 + t_idx, r_idx]).ravel()

    def decode_offsets(self, tokens) -> np.ndarray:
        """Tokens of one word (no specials) -> (N, 3) offsets at the bins' lower edges (eq. 2).
        A dangling last token or an ill-ordered pair raises a ValueError."""
        tok = self._check_tokens(tokens)
        if len(tok) % 2:
            raise ValueError(f"a word needs an even number of pen tokens, got {len(tok)}")
        pairs = tok.reshape(-1, 2)
        if not ((pairs[:, 0] >= self.angle0) & (pairs[:, 0] < self.PAD)).all() or \
                not (pairs[:, 1] < self.angle0).all():
            raise ValueError("pen tokens must come in (angle, distance) pairs")
        theta = self.theta_bins[pairs[:, 0] - self.angle0]
        pen = (pairs[:, 1] < self.n_r).astype(float)
        r = self.r_bins[pairs[:, 1] % self.n_r]
        return np.column_stack([r * np.cos(theta), r * np.sin(theta), pen])

    # -- sequences of words --------------------------------------------------------------
    def encode(self, words) -> np.ndarray:
        """A list of words' points -> one token sequence, words joined by two WORD tokens."""
        if isinstance(words, np.ndarray) or not len(words):
            raise ValueError("words must be a non-empty list of (N, 3) points arrays")
        parts = []
        for i, w in enumerate(words):
            if i:
                parts.append([self.WORD, self.WORD])
            parts.append(self.encode_offsets(self.offsets(w, words[i - 1] if i else None)))
        return np.concatenate(parts).astype(np.int64)

    def split_words(self, tokens) -> list[np.ndarray]:
        """Pen tokens of each word: split at WORD tokens, stop at END, drop PAD; a word left
        with an odd number of tokens (an unfinished sample) loses its last token."""
        tok = self._check_tokens(tokens)
        end = np.flatnonzero(tok == self.END)
        tok = tok[: end[0]] if len(end) else tok
        words, cur = [], []
        for t in tok:
            if t == self.WORD:
                if cur:
                    words.append(np.array(cur))
                cur = []
            elif t != self.PAD:
                cur.append(t)
        if cur:
            words.append(np.array(cur))
        return [w[: len(w) // 2 * 2] for w in words]

    def decode(self, tokens, strict: bool = True) -> list[np.ndarray]:
        """Token sequence -> each word's absolute points, laid out from left to right.
        strict=False skips pairs out of order (a sampled sequence) instead of raising."""
        out, start = [], np.zeros(2)
        for w in self.split_words(tokens):
            if not strict:
                pairs = w.reshape(-1, 2)
                ok = (pairs[:, 0] >= self.angle0) & (pairs[:, 0] < self.PAD) & (pairs[:, 1] < self.angle0)
                w = pairs[ok].ravel()
            if len(w) == 0:
                continue
            off = self.decode_offsets(w)
            pts = np.column_stack([start + np.cumsum(off[:, :2], axis=0), off[:, 2]])
            out.append(pts)
            start = pts[-1, :2]  # the next word's first offset starts from the last point
        return out

    def _check_tokens(self, tokens) -> np.ndarray:
        tok = np.asarray(tokens.detach().cpu() if hasattr(tokens, "detach") else tokens)
        if tok.ndim != 1 or (tok.size and not np.issubdtype(tok.dtype, np.integer)):
            raise ValueError(f"tokens must be a 1-D integer array, got shape {tok.shape} dtype {tok.dtype}")
        if tok.size and (tok.min() < 0 or tok.max() >= self.vocab_size):
            raise ValueError(f"tokens must lie in [0, {self.vocab_size}), got [{tok.min()}, {tok.max()}]")
        return tok.astype(np.int64)


class CharVocab:
    """Characters of the prompt -> ids 1..len(alphabet), 0 = pad (paper: 71 + 1 = 72)."""

    def __init__(self, alphabet: str = ALPHABET, max_len: int = 50):
        if not isinstance(alphabet, str) or not alphabet or len(set(alphabet)) != len(alphabet):
            raise ValueError(f"alphabet must be a non-empty string of distinct characters, got {alphabet!r}")
        self.alphabet = alphabet
        self.max_len = validate.positive_int("max_len", max_len)
        self.size = len(alphabet) + 1
        self.stoi = {ch: i + 1 for i, ch in enumerate(alphabet)}

    def encode(self, text: str, pad: bool = True) -> np.ndarray:
        """Ids of `text`, padded with 0 to max_len; unknown characters raise a ValueError."""
        check_text("text", text, self.alphabet)
        if len(text) > self.max_len:
            raise ValueError(f"text must have at most {self.max_len} characters, got {len(text)}")
        ids = np.array([self.stoi[ch] for ch in text], dtype=np.int64)
        return np.pad(ids, (0, self.max_len - len(ids))) if pad else ids

    def decode(self, ids) -> str:
        """Ids back to text, stopping at the first pad."""
        out = []
        for i in np.asarray(ids).tolist():
            if i == 0:
                break
            if not 1 <= i <= len(self.alphabet):
                raise ValueError(f"character ids must lie in [0, {self.size}), got {i}")
            out.append(self.alphabet[i - 1])
        return "".join(out)
