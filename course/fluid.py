"""Plumbing for the differentiable wind tunnel of 09_wings.

The simulation itself (advection, pressure projection, the soft obstacle, the lift/drag
objective and the gradient ascent) is the lesson and lives in the notebook. Here are
the parts that are not: a Gaussian blur written as a matrix (so autograd can go through
it), a measuring tape for the shapes the optimizer grows, and an animation helper that
turns frames into a small HTML player.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy import ndimage


@lru_cache(maxsize=64)
def _cached_blur_matrix(n: int, sigma: float, truncate: float, device: str, dtype: torch.dtype) -> torch.Tensor:
    # Blurring the identity column by column gives the matrix of the (linear) filter.
    matrix = ndimage.gaussian_filter1d(np.eye(n), sigma, axis=0, mode="reflect", truncate=truncate)
    return torch.tensor(matrix, dtype=dtype, device=device)


def blur_matrix(n: int, sigma: float = 1.0, truncate: float = 4.0, device=None,
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The (n, n) matrix B of SciPy's 1-D Gaussian blur with mode='reflect'.

    Why: the wing notebook (09_wings) needs a blur that autograd can differentiate and
    that matches `scipy.ndimage.gaussian_filter(f, sigma, mode='reflect')` exactly,
    edges included. A blur is linear, so along each axis it is a matrix, and a 2-D
    blur of a (rows, cols) field f is `B_rows @ f @ B_cols.T`.

    Args:
        n: length of the axis (>= 1).
        sigma: standard deviation of the Gaussian in cells (> 0).
        truncate: the kernel is cut at `truncate * sigma` cells (> 0; SciPy's default 4
            gives a 9-tap kernel for sigma = 1).
        device, dtype: of the returned tensor (float64 by default: the wing's gradients
            are tiny).
    Returns:
        B, shape (n, n), with `B @ x == gaussian_filter1d(x, sigma, mode='reflect')`
        for any x of shape (n,) or (n, k); each row sums to 1, and B is symmetric (so the
        blur is its own adjoint: its backward pass is the same blur). The matrix is cached
        (a simulation blurs thousands of times): treat it as read-only.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number of cells, got {sigma!r}")
    if not np.isfinite(truncate) or truncate <= 0:
        raise ValueError(f"truncate must be positive, got {truncate!r}")
    device = str(torch.device(device)) if device is not None else "cpu"
    return _cached_blur_matrix(int(n), float(sigma), float(truncate), device, dtype)


def wing_shape(mask, threshold: float = 0.5, min_cells: int = 3) -> dict:
    """Measure the solid part of an obstacle mask: blades, inclination, thickness, camber.

    Why: 09_wings turns "a thin cambered blade at an angle of attack" into numbers for its
    reproduction cards. Image coordinates: rows grow downward, the wind blows left to right.

    Args:
        mask: (rows, cols) array or tensor with values in [0, 1].
        threshold: a cell is solid when mask > threshold (0 < threshold < 1).
        min_cells: connected groups of solid cells smaller than this are specks, not blades.
    Returns:
        dict with
        `n_cells`: solid cells; `n_blades`: connected groups (8-neighbour) of >= min_cells;
        and for the largest blade: `area`, `angle_deg` (inclination of its principal axis,
        positive when it slopes down from left to right, i.e. trailing edge downstream and
        down), `elongation` (ratio of principal-axis lengths, sqrt of the eigenvalue ratio),
        `chord` (extent along the axis, cells), `thickness` (largest extent across it,
        cells), `thickness_ratio` (= thickness / chord) and `camber` (largest distance of
        the mid-line from the straight chord line, over the chord; positive when the
        mid-line bulges upward, to the suction side). With no blade, the blade entries are NaN.
    """
    m = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask, dtype=float)
    if m.ndim != 2 or min(m.shape) < 2:
        raise ValueError(f"mask must be a 2-D (rows, cols) array with both sides >= 2, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("mask must be finite")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    if isinstance(min_cells, bool) or not isinstance(min_cells, (int, np.integer)) or min_cells < 1:
        raise ValueError(f"min_cells must be a positive integer, got {min_cells!r}")
    solid = m > threshold
    labels, n = ndimage.label(solid, structure=np.ones((3, 3), dtype=int))
    sizes = np.bincount(labels.ravel())[1:] if n else np.array([], dtype=int)
    blades = [i + 1 for i, s in enumerate(sizes) if s >= min_cells]
    out = {"n_cells": int(solid.sum()), "n_blades": len(blades)}
    nan_keys = ("area", "angle_deg", "elongation", "chord", "thickness", "thickness_ratio", "camber")
    if not blades:
        return {**out, **{k: float("nan") for k in nan_keys}}
    largest = max(blades, key=lambda i: sizes[i - 1])
    rows, cols = np.nonzero(labels == largest)
    pts = np.stack([cols, rows], axis=1).astype(float)        # (x right, y down)
    centred = pts - pts.mean(axis=0)
    evals, evecs = np.linalg.eigh(np.cov(centred.T) if len(pts) > 1 else np.eye(2))
    major = evecs[:, 1] * (1 if evecs[0, 1] >= 0 else -1)    # points downstream (x > 0)
    up = np.array([major[1], -major[0]])                      # perpendicular, pointing up
    u, w = centred @ major, centred @ up
    bins = np.round(u - u.min()).astype(int)
    mids, thick = [], []
    for b in np.unique(bins):
        wb = w[bins == b]
        mids.append((wb.max() + wb.min()) / 2)
        thick.append(wb.max() - wb.min() + 1)
    mids = np.array(mids)
    chord = float(u.max() - u.min() + 1)
    line = np.linspace(mids[0], mids[-1], len(mids))
    bulge = mids - line
    camber = float(bulge[np.argmax(np.abs(bulge))] / chord)
    return {**out, "area": int(len(pts)),
            "angle_deg": float(np.degrees(np.arctan2(major[1], major[0]))),
            "elongation": float(np.sqrt(max(evals[1], 0) / max(evals[0], 1e-12))),
            "chord": chord, "thickness": float(max(thick)),
            "thickness_ratio": float(max(thick) / chord), "camber": camber}


def animation_html(frames, interval: int = 120, dpi: int = 50, title: str | None = None,
                   size: float = 3.6) -> str:
    """A small HTML/JavaScript player of image frames (matplotlib's `to_jshtml`).

    Why: 09_wings shows the flow around the starting and the optimized shapes; keep
    notebooks light with few frames and a low dpi. Display with
    `IPython.display.HTML(animation_html(frames))`.

    Args:
        frames: (T, rows, cols, 3) RGB images in [0, 1] or (T, rows, cols) scalar images.
        interval: milliseconds between frames (> 0).
        dpi: resolution of the embedded PNGs (10..200).
        title: optional title above the picture.
        size: figure width in inches (> 0); the height follows the aspect ratio.
    Returns:
        the HTML of the player, as a string.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib import animation

    arr = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames, dtype=float)
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
        raise ValueError(f"frames must have shape (T, rows, cols) or (T, rows, cols, 3), got {arr.shape}")
    if arr.shape[0] < 1:
        raise ValueError("frames must hold at least one frame")
    if not np.all(np.isfinite(arr)):
        raise ValueError("frames must be finite")
    if not interval > 0:
        raise ValueError(f"interval must be > 0 milliseconds, got {interval!r}")
    if not 10 <= dpi <= 200:
        raise ValueError(f"dpi must be in [10, 200], got {dpi!r}")
    if not size > 0:
        raise ValueError(f"size must be > 0 inches, got {size!r}")
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
