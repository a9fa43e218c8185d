"""A measuring tape for solid shapes in a soft mask: blades, inclination, thickness, camber.

09_wings grows a wing by gradient ascent; its reproduction cards need numbers for "a
thin, slightly cambered blade at an angle of attack", "two wings" and "a shattered
wing". Image coordinates: rows grow downward, the wind blows left to right.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from . import validate

_BLADE_KEYS = ("area", "angle_deg", "elongation", "chord", "thickness", "thickness_ratio", "camber")


def _as_mask(mask) -> np.ndarray:
    m = mask.detach().cpu().numpy() if hasattr(mask, "detach") else np.asarray(mask, dtype=float)
    if m.ndim != 2 or min(m.shape) < 2:
        raise ValueError(f"mask must be a 2-D (rows, cols) array with both sides >= 2, got shape {m.shape}")
    validate.finite("mask", m)
    return m


def blades(mask, threshold: float = 0.5, min_cells: int = 3) -> list[np.ndarray]:
    """The blades of a mask: connected (8-neighbour) groups of solid cells, largest first.

    Args:
        mask: (rows, cols) array or tensor with values in [0, 1].
        threshold: a cell is solid when mask > threshold (0 < threshold < 1).
        min_cells: groups smaller than this are specks, not blades.
    Returns:
        a list of boolean (rows, cols) arrays, one per blade, sorted by size (largest first).
    """
    m = _as_mask(mask)
    validate.number("threshold", threshold, lo=0, hi=1, lo_open=True, hi_open=True)
    validate.positive_int("min_cells", min_cells)
    labels, n = ndimage.label(m > threshold, structure=np.ones((3, 3), dtype=int))
    sizes = np.bincount(labels.ravel())[1:] if n else np.array([], dtype=int)
    keep = sorted((i + 1 for i, s in enumerate(sizes) if s >= min_cells), key=lambda i: -sizes[i - 1])
    return [labels == i for i in keep]


def wing_shape(mask, threshold: float = 0.5, min_cells: int = 3) -> dict:
    """Measure the solid part of an obstacle mask (09_wings, section 4).

    Args:
        mask: (rows, cols) array or tensor with values in [0, 1].
        threshold, min_cells: as in `blades`.
    Returns:
        dict with
        `n_cells`: solid cells; `n_blades`: blades (see `blades`); `stacking`: for two or more
        blades, the overlap of the column spans of the two largest, over the shorter span
        (1: one above the other, a biplane; 0: one behind the other, in tandem), NaN otherwise;
        and for the largest blade: `area`, `angle_deg` (inclination of its principal axis,
        positive when it slopes down from left to right, i.e. trailing edge downstream and
        down), `elongation` (ratio of principal-axis lengths, sqrt of the eigenvalue ratio),
        `chord` (extent along the axis, cells), `thickness` (largest extent across it,
        cells), `thickness_ratio` (= thickness / chord) and `camber` (largest distance of
        the mid-line from the straight chord line, over the chord; positive when the
        mid-line bulges upward, to the suction side). With no blade, these are NaN.
    """
    m = _as_mask(mask)
    found = blades(m, threshold, min_cells)
    out = {"n_cells": int((m > threshold).sum()), "n_blades": len(found), "stacking": float("nan")}
    if len(found) >= 2:
        spans = [np.nonzero(b.any(axis=0))[0] for b in found[:2]]
        overlap = min(s.max() for s in spans) - max(s.min() for s in spans) + 1
        out["stacking"] = float(max(overlap, 0) / min(len(s) for s in spans))
    if not found:
        return {**out, **{k: float("nan") for k in _BLADE_KEYS}}
    rows, cols = np.nonzero(found[0])
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
    bulge = mids - np.linspace(mids[0], mids[-1], len(mids))
    return {**out, "area": int(len(pts)),
            "angle_deg": float(np.degrees(np.arctan2(major[1], major[0]))),
            "elongation": float(np.sqrt(max(evals[1], 0) / max(evals[0], 1e-12))),
            "chord": chord, "thickness": float(max(thick)),
            "thickness_ratio": float(max(thick) / chord),
            "camber": float(bulge[np.argmax(np.abs(bulge))] / chord)}
