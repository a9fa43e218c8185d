"""The MNIST-1D generator (Greydanus & Kobak, arXiv:2011.14439), written from scratch.

Taught in 01_mnist1d, which shows every step below with a figure; later notebooks can
reuse the data. Ten hand-made 12-point "digits" go through eight steps:

    pad -> dilate (resample to 72) -> scale -> translate -> correlated noise
        -> i.i.d. noise -> shear -> resample to 40

Each step is a small pure function of arrays, and all of them work on a whole batch
(rows are examples). The randomness is drawn separately, one example at a time in the
original order (`draw_random_numbers`), so the batch version reproduces the official
frozen dataset exactly while running about ten times faster than a per-example loop
(benchmarks/mnist1d_speed.py times it against the `mnist1d` package).

One concern, a little over 350 lines: each of the eight steps is a small public function
with its own docstring, because 01_mnist1d displays them one by one as the lesson.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import validate

#: The ten raw digit templates (12 values each), before normalisation.
RAW_TEMPLATES = np.array([
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],        # 0
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],      # 1
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],    # 2
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],          # 3
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],        # 4
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],            # 5
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],        # 6
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],      # 7
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],          # 8
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],          # 9
])

#: Added to the template before padding, so that template values that are exactly zero
#: (its two ends) still count as signal when the noise step fills the zeros.
EPS = 1e-8
#: Width (in samples of the 72-point signal) of the Gaussian that correlates the noise.
CORR_NOISE_SIGMA = 2.0


@dataclass(frozen=True)
class Args:
    """The generator's settings; the defaults make the official MNIST-1D dataset.

    One object shared by the notebook's parameters, its panel and FULL runs.
    `Args(max_translation=0)` raises: every field is checked when the object is built.
    """

    num_samples: int = 5000
    train_split: float = 0.8
    template_len: int = 12
    padding: tuple = (36, 60)
    scale_coeff: float = 0.4
    max_translation: int = 48
    corr_noise_scale: float = 0.25
    iid_noise_scale: float = 0.02
    shear_scale: float = 0.75
    shuffle_seq: bool = False
    final_seq_length: int = 40
    seed: int = 42

    def __post_init__(self):
        if isinstance(self.padding, list):  # accept [36, 60] as the original's args do
            object.__setattr__(self, "padding", tuple(self.padding))
        validate.integer("num_samples", self.num_samples, lo=10)
        if self.num_samples % len(RAW_TEMPLATES):
            raise ValueError(f"num_samples must be a multiple of {len(RAW_TEMPLATES)} (one block per digit), "
                             f"got {self.num_samples}")
        validate.number("train_split", self.train_split, lo=0, hi=1, lo_open=True, hi_open=True)
        n_train = int(self.num_samples * self.train_split)
        if not 0 < n_train < self.num_samples:
            raise ValueError(f"train_split={self.train_split} leaves an empty train or test set "
                             f"for num_samples={self.num_samples}")
        validate.integer("template_len", self.template_len, lo=2)
        if not (isinstance(self.padding, tuple) and len(self.padding) == 2):
            raise ValueError(f"padding must be a (low, high) pair, got {self.padding!r}")
        validate.integer("padding[0]", self.padding[0], lo=0)
        validate.integer("padding[1]", self.padding[1], lo=self.padding[0])
        validate.number("scale_coeff", self.scale_coeff, lo=0, hi=2, hi_open=True)
        validate.integer("max_translation", self.max_translation, lo=1, hi=self.dilated_length)
        for name in ("corr_noise_scale", "iid_noise_scale", "shear_scale"):
            validate.number(name, getattr(self, name), lo=0)
        validate.boolean("shuffle_seq", self.shuffle_seq)
        validate.integer("final_seq_length", self.final_seq_length, lo=2)
        validate.integer("seed", self.seed, lo=0, hi=2**32 - 1)

    @property
    def dilated_length(self) -> int:
        """Length of the working signal: template plus the longest padding (12 + 60 = 72)."""
        return self.template_len + self.padding[1]


def default_args(**overrides) -> Args:
    """The paper's defaults (01_mnist1d), with any field overridden: `default_args(seed=0)`."""
    return _override(Args(), overrides)


def _override(args: Args, overrides: dict) -> Args:
    if not isinstance(args, Args):
        raise ValueError(f"args must be an Args object (see default_args()), got {type(args).__name__}")
    unknown = set(overrides) - {f.name for f in fields(Args)}
    if unknown:
        raise ValueError(f"unknown MNIST-1D argument(s) {sorted(unknown)}; allowed: {[f.name for f in fields(Args)]}")
    return replace(args, **overrides) if overrides else args


def _as_signals(x, name="x") -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim not in (1, 2) or x.shape[-1] < 2:
        raise ValueError(f"{name} must be a signal (L,) or a batch (N, L) with L >= 2, got shape {x.shape}")
    return x


def _per_row(values, x, name) -> np.ndarray:
    """A scalar or one value per row, shaped to broadcast against x (column for a batch)."""
    v = np.asarray(values, dtype=float)
    if v.ndim == 0:
        return v
    if x.ndim != 2 or v.shape != (x.shape[0],):
        raise ValueError(f"{name} must be a scalar or have one value per row ({x.shape[0] if x.ndim == 2 else 1}), "
                         f"got shape {v.shape}")
    return v[:, None]


# ---------------------------------------------------------------- the templates

def make_templates() -> dict:
    """The ten digit templates (01_mnist1d): zero mean, unit std, starting and ending at 0, /6.

    Returns:
        {'x': (10, 12) template values, 't': (12,) time axis linspace(-5, 5, 12)/6,
         'y': (10,) labels 0..9}.
    """
    x = RAW_TEMPLATES.copy()
    x -= x.mean(axis=1, keepdims=True)
    x /= x.std(axis=1, keepdims=True)
    x -= x[:, :1]  # each template now starts (and ends) at exactly 0
    return {"x": x / 6.0, "t": np.linspace(-5, 5, x.shape[1]) / 6.0, "y": np.arange(len(x))}


# ---------------------------------------------------------------- the eight steps

def pad(x, n_zeros: int) -> np.ndarray:
    """Step 1 (01_mnist1d): append `n_zeros` zeros on the right, room for the digit to move.

    Args:
        x: (L,) or (N, L) signals.
        n_zeros: how many zeros to append (>= 0).
    Returns:
        (L + n_zeros,) or (N, L + n_zeros).
    """
    x = _as_signals(x)
    validate.integer("n_zeros", n_zeros, lo=0)
    return np.concatenate([x, np.zeros(x.shape[:-1] + (n_zeros,))], axis=-1)


def resample(x, length: int) -> np.ndarray:
    """Steps 2 and 8 (01_mnist1d): linear interpolation onto `length` evenly spaced points.

    Stretches a padded signal to 72 points (dilation: the shorter the padding, the wider
    the digit) and shrinks the final signal to 40. Both grids span [0, 1], so the first and
    last samples are kept. The arithmetic is that of `np.interp` (which scipy's `interp1d`
    uses for linear 1-D data), applied to a whole batch at once.

    Args:
        x: (L,) or (N, L) signals, L >= 2.
        length: number of output points, >= 2.
    Returns:
        (length,) or (N, length).
    """
    x = _as_signals(x)
    validate.integer("length", length, lo=2)
    src = np.linspace(0.0, 1.0, x.shape[-1])
    dst = np.linspace(0.0, 1.0, length)
    lo = np.clip(np.searchsorted(src, dst, side="right") - 1, 0, len(src) - 2)
    hi = lo + 1
    slope = (x[..., hi] - x[..., lo]) / (src[hi] - src[lo])
    out = slope * (dst - src[lo]) + x[..., lo]
    # on a grid node, take the sample itself (as np.interp does): exact zeros stay zeros
    on_lo, on_hi = dst == src[lo], dst == src[hi]
    out[..., on_lo] = x[..., lo[on_lo]]
    out[..., on_hi] = x[..., hi[on_hi]]
    return out


def scale(x, factor) -> np.ndarray:
    """Step 3 (01_mnist1d): multiply each signal by its factor (1 + 0.4 (u - 1/2) in the paper).

    Args:
        x: (L,) or (N, L); factor: a scalar or (N,) one per row.
    Returns:
        same shape as x.
    """
    x = _as_signals(x)
    return x * _per_row(factor, x, "factor")


def translate(x, shift) -> np.ndarray:
    """Step 4 (01_mnist1d): circular shift right by `shift` samples; what falls off the end wraps round.

    Args:
        x: (L,) or (N, L); shift: an integer or (N,) integers, one per row.
    Returns:
        same shape as x, with out[..., i] = x[..., (i - shift) mod L].
    """
    x = _as_signals(x)
    shift = np.asarray(shift)
    if not np.issubdtype(shift.dtype, np.integer):
        raise ValueError(f"shift must be integer(s), got dtype {shift.dtype}")
    s = _per_row(shift, x, "shift").astype(int)
    idx = (np.arange(x.shape[-1]) - s) % x.shape[-1]
    return np.take_along_axis(x, np.broadcast_to(idx, x.shape), axis=-1) if x.ndim == 2 else x[idx]


def correlated_noise(white, noise_scale: float, sigma: float = CORR_NOISE_SIGMA) -> np.ndarray:
    """Smooth noise for step 5 (01_mnist1d): scale white noise, then blur it with a Gaussian.

    Args:
        white: (L,) or (N, L) standard normal draws.
        noise_scale: std of the noise before blurring (0.25 in the paper).
        sigma: Gaussian width in samples; SciPy's default 'reflect' edges.
    Returns:
        same shape as white.
    """
    white = _as_signals(white, "white")
    validate.number("noise_scale", noise_scale, lo=0)
    validate.number("sigma", sigma, lo=0)
    return gaussian_filter1d(noise_scale * white, sigma, axis=-1, mode="reflect")


def fill_background(x, noise) -> np.ndarray:
    """Step 5 (01_mnist1d): put `noise` wherever the signal is exactly zero (the background).

    Args:
        x: (L,) or (N, L) signals; noise: same shape (e.g. from `correlated_noise`).
    Returns:
        same shape as x.
    """
    x, noise = _as_signals(x), _as_signals(noise, "noise")
    if noise.shape != x.shape:
        raise ValueError(f"noise must have the shape of x {x.shape}, got {noise.shape}")
    return np.where(x == 0, noise, x)


def add_iid_noise(x, white, noise_scale: float) -> np.ndarray:
    """Step 6 (01_mnist1d): add independent Gaussian noise of std `noise_scale` to every sample.

    Args:
        x: (L,) or (N, L); white: same shape, standard normal draws; noise_scale >= 0.
    Returns:
        same shape as x.
    """
    x, white = _as_signals(x), _as_signals(white, "white")
    if white.shape != x.shape:
        raise ValueError(f"white must have the shape of x {x.shape}, got {white.shape}")
    validate.number("noise_scale", noise_scale, lo=0)
    return x + noise_scale * white


def shear(x, coeff) -> np.ndarray:
    """Step 7 (01_mnist1d): subtract the ramp coeff * linspace(-1/2, 1/2, L), tilting the signal.

    Args:
        x: (L,) or (N, L); coeff: a scalar or (N,), one slope per row.
    Returns:
        same shape as x.
    """
    x = _as_signals(x)
    return x - _per_row(coeff, x, "coeff") * np.linspace(-0.5, 0.5, x.shape[-1])


def shuffle_positions(x, permutation) -> np.ndarray:
    """The ablation of 01_mnist1d: reorder the positions of every signal by one fixed permutation.

    Destroys the spatial order (neighbours are no longer neighbours) while keeping every
    value, so only models that rely on locality (CNN, GRU) should suffer.

    Args:
        x: (L,) or (N, L); permutation: (L,) a permutation of 0..L-1.
    Returns:
        x[..., permutation].
    """
    x = _as_signals(x)
    perm = np.asarray(permutation)
    if perm.shape != (x.shape[-1],) or not np.array_equal(np.sort(perm), np.arange(x.shape[-1])):
        raise ValueError(f"permutation must be a permutation of 0..{x.shape[-1] - 1}, got {perm!r}")
    return x[..., perm]


# ---------------------------------------------------------------- randomness, then arrays

def draw_random_numbers(args: Args, rng: np.random.RandomState) -> dict:
    """Every random number of the generator (01_mnist1d), drawn per example in the original order.

    The original generator interleaves random draws and array work per example. Drawing
    the same numbers in the same order first, then doing the arrays in batch, gives the
    identical dataset. Per example: rand (padding), rand (scale), choice (shift),
    randn(72) (correlated noise), randn(72) (i.i.d. noise), rand (shear).

    Args:
        args: the settings; rng: a legacy RandomState (seeded like `np.random.seed`).
    Returns:
        {'n_zeros', 'shift': (N,) ints; 'factor', 'shear': (N,) floats;
         'corr', 'iid': (N, 72) standard normal draws}.
    """
    if not isinstance(args, Args):
        raise ValueError(f"args must be an Args object (see default_args()), got {type(args).__name__}")
    if not isinstance(rng, np.random.RandomState):
        raise ValueError(f"rng must be a np.random.RandomState (the legacy stream), got {type(rng).__name__}")
    n, length = args.num_samples, args.dilated_length
    lo, hi = args.padding
    n_zeros, shift = np.empty(n, dtype=int), np.empty(n, dtype=int)
    u_scale, u_shear = np.empty(n), np.empty(n)
    corr, iid = np.empty((n, length)), np.empty((n, length))
    for i in range(n):
        n_zeros[i] = lo + int(rng.rand() * (hi - lo + 1))
        u_scale[i] = rng.rand()
        shift[i] = rng.randint(args.max_translation)  # the very draw np.random.choice(n) makes
        corr[i] = rng.randn(length)
        iid[i] = rng.randn(length)
        u_shear[i] = rng.rand()
    return {"n_zeros": n_zeros, "factor": 1 + args.scale_coeff * (u_scale - 0.5), "shift": shift,
            "corr": corr, "iid": iid, "shear": args.shear_scale * (u_shear - 0.5)}


def transform(x, draws: dict, args: Args) -> np.ndarray:
    """Steps 1-8 (01_mnist1d) on a batch of templates, given the random numbers already drawn.

    Args:
        x: (N, template_len) one template per example.
        draws: the dict `draw_random_numbers` returns (N rows).
        args: the settings.
    Returns:
        (N, final_seq_length) signals.
    """
    x = _as_signals(x) + EPS
    if x.ndim != 2 or any(len(draws[k]) != len(x) for k in ("n_zeros", "factor", "shift", "corr", "iid", "shear")):
        raise ValueError(f"x must be (N, template_len) with one row of draws per example; got x {x.shape}, "
                         f"draws for {len(draws['n_zeros'])} examples")
    length = args.dilated_length
    stretched = np.empty((len(x), length))
    for n_zeros in np.unique(draws["n_zeros"]):  # one batch per padding length (at most 25)
        rows = draws["n_zeros"] == n_zeros
        stretched[rows] = resample(pad(x[rows], int(n_zeros)), length)
    x = scale(stretched, draws["factor"])
    x = translate(x, draws["shift"])
    x = fill_background(x, correlated_noise(draws["corr"], args.corr_noise_scale))
    x = add_iid_noise(x, draws["iid"], args.iid_noise_scale)
    x = shear(x, draws["shear"])
    return resample(x, args.final_seq_length)


def make_dataset(args: Args | None = None, **overrides) -> dict:
    """Generate MNIST-1D (01_mnist1d): `make_dataset()` is the official dataset, bit for bit.

    Args:
        args: an `Args`; default `default_args()`. Keyword overrides change single fields,
            e.g. `make_dataset(shuffle_seq=True)` or `make_dataset(max_translation=1)`.
    Returns:
        {'x': (n_train, 40), 'x_test': (n_test, 40) standardised signals,
         'y', 'y_test': int labels, 't': (40,) time axis, 'templates': make_templates(),
         'permutation': the (40,) position shuffle when shuffle_seq, else None}.
        With the defaults n_train = 4000, n_test = 1000.
    """
    args = _override(Args() if args is None else args, overrides)
    rng = np.random.RandomState(args.seed)  # the same stream as np.random.seed(seed), kept local
    templates = make_templates()
    n_classes = len(templates["y"])
    y = np.repeat(templates["y"], args.num_samples // n_classes)  # 500 zeros, then 500 ones, ...
    draws = draw_random_numbers(args, rng)
    x = transform(templates["x"][y], draws, args)
    t = resample(resample(templates["t"], args.dilated_length), args.final_seq_length)

    order = rng.permutation(len(y))  # shuffle the examples
    x, y = x[order], y[order]
    permutation = None
    if args.shuffle_seq:
        permutation = rng.permutation(args.final_seq_length)
        x = shuffle_positions(x, permutation)
    t = t / x.std()
    x = (x - x.mean()) / x.std()  # global statistics over train and test (as the original)
    split = int(len(y) * args.train_split)
    return {"x": x[:split], "x_test": x[split:], "y": y[:split], "y_test": y[split:],
            "t": t, "templates": templates, "permutation": permutation}
