"""House style and the figure kinds that recur across notebooks: learning curves (01),
small multiples of signals (01), bars against the paper's bands (01) and a small HTML
animation player (09)."""
from __future__ import annotations

from typing import Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from . import validate

#: One colour per model family, so a CNN is the same colour in every figure of the course.
PALETTE = {"linear": "#7f7f7f", "mlp": "#1f77b4", "cnn": "#d62728", "gru": "#2ca02c",
           "baseline": "#1f77b4", "hnn": "#d62728", "lnn": "#2ca02c", "truth": "#000000"}


def use_style() -> None:
    """The course's matplotlib defaults: readable sizes, light grid, no top/right spines."""
    matplotlib.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 150, "figure.figsize": (6, 3.5),
        "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10,
        "axes.spines.top": False, "axes.spines.right": False,
        "axes.grid": True, "grid.alpha": 0.3, "legend.frameon": False,
    })


def color(name: str) -> str | None:
    """The house colour of a model family (None lets matplotlib choose)."""
    return PALETTE.get(name.lower())


def learning_curves(histories: dict, metric: str = "acc", ax=None, percent: bool = True,
                    title: str | None = None):
    """Train (dashed) and test (solid) curves of `metric` for several runs.

    Args:
        histories: {label: course.fitting.History}.
        metric: 'acc', 'loss' or another metric the histories hold as train_/test_<metric>.
        percent: show accuracies in percent.
    Returns:
        the matplotlib Axes.
    """
    if not histories:
        raise ValueError("histories must hold at least one run")
    ax = ax or plt.gca()
    scale = 100.0 if (percent and metric == "acc") else 1.0
    for label, h in histories.items():
        c = color(label.split()[0])
        ax.plot(h.steps, np.asarray(h[f"test_{metric}"]) * scale, color=c, label=f"{label}")
        if f"train_{metric}" in h.metrics:
            ax.plot(h.steps, np.asarray(h[f"train_{metric}"]) * scale, color=c, ls="--", alpha=0.5)
    ax.set_xlabel("step")
    ax.set_ylabel(("test accuracy (%)" if scale == 100 else f"{metric}") + "  (dashed: train)")
    if metric == "loss":
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def signal_grid(x: np.ndarray, labels: Sequence[int] | None = None, t: np.ndarray | None = None,
                rows: int = 2, cols: int = 5, horizontal: bool = False, fig=None, title: str | None = None):
    """Small multiples of 1-D signals (one per panel), e.g. MNIST-1D examples.

    Args:
        x: (N, L) signals; the first rows*cols are drawn.
        labels: per-signal titles (e.g. digit class).
        t: (L,) x-axis; default 0..L-1.
        horizontal: draw signal value on x and position on y, as the MNIST-1D paper does.
    Returns:
        the Figure.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (N, L), got shape {x.shape}")
    n = min(len(x), rows * cols)
    if n == 0:
        raise ValueError("x has no rows to draw")
    t = np.arange(x.shape[1]) if t is None else np.asarray(t)
    fig = fig or plt.figure(figsize=(1.5 * cols, 1.8 * rows))
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        if horizontal:
            ax.plot(x[i], t, "k-", lw=1.5)
            ax.invert_yaxis()
        else:
            ax.plot(t, x[i], "k-", lw=1.5)
        ax.set_xticks([]), ax.set_yticks([])
        ax.grid(False)
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def bar_compare(values: dict[str, float], targets: dict[str, tuple[float, float]] | None = None,
                ax=None, ylabel: str = "test accuracy (%)"):
    """Bars of measured values with the paper's target ranges drawn as grey bands."""
    if not values:
        raise ValueError("values must not be empty")
    ax = ax or plt.gca()
    names = list(values)
    ax.bar(names, [values[n] for n in names], color=[color(n.split()[0]) or "C0" for n in names], zorder=2)
    for i, n in enumerate(names):
        ax.text(i, values[n], f"{values[n]:.1f}", ha="center", va="bottom", fontsize=8)
        if targets and n in targets:
            lo, hi = targets[n]
            ax.fill_between([i - 0.45, i + 0.45], lo, hi, color="k", alpha=0.15, lw=0, zorder=1)
    ax.set_ylabel(ylabel)
    return ax


def animation_html(frames, interval: int = 120, dpi: int = 50, title: str | None = None,
                   size: float = 3.6) -> str:
    """A small HTML/JavaScript player of image frames (matplotlib's `to_jshtml`).

    Why: 09_wings shows the flow around the starting and the optimised shapes; keep
    notebooks light with few frames and a low dpi. Display with
    `IPython.display.HTML(animation_html(frames))`.

    Args:
        frames: (T, rows, cols, 3) RGB images in [0, 1] or (T, rows, cols) scalar images
            (array or tensor).
        interval: milliseconds between frames (> 0).
        dpi: resolution of the embedded PNGs (10..200).
        title: optional title above the picture.
        size: figure width in inches (> 0); the height follows the aspect ratio.
    Returns:
        the HTML of the player, as a string.
    """
    from matplotlib import animation

    arr = frames.detach().cpu().numpy() if hasattr(frames, "detach") else np.asarray(frames, dtype=float)
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
        raise ValueError(f"frames must have shape (T, rows, cols) or (T, rows, cols, 3), got {arr.shape}")
    if arr.shape[0] < 1:
        raise ValueError("frames must hold at least one frame")
    validate.finite("frames", arr)
    validate.positive("interval", interval)
    validate.number("dpi", dpi, lo=10, hi=200)
    validate.positive("size", size)
    arr = np.clip(arr, 0.0, 1.0) if arr.ndim == 4 else arr
    rows, cols = arr.shape[1:3]
    fig, ax = plt.subplots(figsize=(size, size * rows / cols + (0.3 if title else 0.05)), dpi=dpi)
    image = ax.imshow(arr[0], interpolation="bilinear", vmin=arr.min(), vmax=arr.max())
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout(pad=0.1)

    def draw(i):
        image.set_data(arr[i])
        return (image,)

    anim = animation.FuncAnimation(fig, draw, frames=len(arr), interval=interval, blit=True)
    try:
        # to_jshtml saves its frames at savefig.dpi, not at the figure's dpi
        with matplotlib.rc_context({"savefig.dpi": dpi}):
            return anim.to_jshtml(default_mode="loop")
    finally:
        plt.close(fig)
