"""Topology-optimisation problems: a grid, a material budget, supports and loads.

Taught in 07_topopt_180 (the MBB beam is built there as boundary-condition arrays) and used by
08_neural_reparam. The problem zoo follows Hoyer et al. 2019 (the 116-problem benchmark) and
Greydanus 2022; the physics that solves them is `course.fea`.

Conventions (those of Andreassen et al.'s 88-line code and of Hoyer et al. 2019):
- densities `x` have shape (nely, nelx); row 0 is the *top* of the domain;
- node (ix, iy) has number (nely+1)*ix + iy (column-major), its dofs are 2*node (x) and
  2*node+1 (y);
- boundary conditions are built on arrays of shape (nelx+1, nely+1, 2) ("normals": 1 where
  a dof is fixed; "forces"), whose flattening gives the dof order above.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from . import validate

X, Y = 0, 1  # index of the x and y component in the last axis of normals/forces

__all__ = ["Problem", "from_grids", "mbb_beam", "cantilever", "causeway_bridge", "multistory_building",
           "michell", "l_shape", "staggered_points", "staircase", "PROBLEMS", "get_problem", "mirrored"]


def _check_grid(nelx, nely):
    validate.positive_int("nelx", nelx)
    validate.positive_int("nely", nely)


@dataclass(eq=False)
class Problem:
    """A topology-optimization problem: grid, material budget, supports and loads.

    Treat a Problem as immutable: the first solve caches its assembly index arrays.

    Attributes:
        name: short label, e.g. 'mbb_beam'.
        nelx, nely: number of elements along x (width) and y (height).
        volfrac: fraction of the (design) domain that may hold material, in (0, 1).
        fixed_dofs: sorted int array of dofs held at zero displacement.
        forces: float array (n_dofs,) of nodal loads.
        mask: None (whole domain is design region) or (nely, nelx) array, 1 where material
            may go and 0 where it must not. The physics ignores it: the caller applies it
            when turning design variables into physical densities (07's `physical_density`).
        mirror: 'left' or 'right' when the domain is half of a symmetric structure whose
            symmetry line is that edge (rollers along it); None otherwise. Display only.
    """

    name: str
    nelx: int
    nely: int
    volfrac: float
    fixed_dofs: np.ndarray
    forces: np.ndarray
    mask: np.ndarray | None = None
    mirror: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        _check_grid(self.nelx, self.nely)
        validate.fraction("volfrac", self.volfrac)
        n_dofs = self.n_dofs
        self.fixed_dofs = np.unique(np.asarray(self.fixed_dofs, dtype=np.int64))
        self.forces = np.asarray(self.forces, dtype=np.float64).ravel()
        if self.forces.shape != (n_dofs,):
            raise ValueError(f"forces must have length n_dofs={n_dofs}, got {self.forces.size}")
        if self.fixed_dofs.size and (self.fixed_dofs[0] < 0 or self.fixed_dofs[-1] >= n_dofs):
            raise ValueError(f"fixed_dofs must lie in [0, {n_dofs}), got {self.fixed_dofs}")
        if self.mask is not None:
            self.mask = np.asarray(self.mask, dtype=np.float64)
            if self.mask.shape != (self.nely, self.nelx):
                raise ValueError(f"mask must have shape (nely, nelx)={(self.nely, self.nelx)}, "
                                 f"got {self.mask.shape}")

    @property
    def n_dofs(self) -> int:
        return 2 * (self.nelx + 1) * (self.nely + 1)

    @property
    def free_dofs(self) -> np.ndarray:
        return np.setdiff1d(np.arange(self.n_dofs), self.fixed_dofs)

    @property
    def shape(self) -> tuple[int, int]:
        """(nely, nelx): the shape of a density field."""
        return (self.nely, self.nelx)


def from_grids(name, normals, forces, volfrac, mask=None) -> Problem:
    """A Problem from (nelx+1, nely+1, 2) arrays of fixed flags (`normals`) and loads, the
    form in which 07_topopt_180 writes its MBB beam."""
    validate.shape("normals", normals, (None, None, 2))
    validate.shape("forces", forces, tuple(normals.shape))
    nelx, nely = normals.shape[0] - 1, normals.shape[1] - 1
    roller = lambda edge: bool(edge[:, X].all() and not edge[:, Y].all())
    mirror = "left" if roller(normals[0]) else "right" if roller(normals[-1]) else None
    return Problem(name=name, nelx=nelx, nely=nely, volfrac=volfrac,
                   fixed_dofs=np.flatnonzero(normals.ravel()), forces=forces.ravel(),
                   mask=mask, mirror=mirror)


def _empty_grids(nelx, nely, volfrac):
    _check_grid(nelx, nely)
    validate.fraction("volfrac", volfrac)
    return np.zeros((nelx + 1, nely + 1, 2)), np.zeros((nelx + 1, nely + 1, 2))


def mbb_beam(nelx: int = 80, nely: int = 25, volfrac: float = 0.4) -> Problem:
    """Half of the Messerschmitt-Bolkow-Blohm beam (07's main example).

    Symmetry line on the left edge (x fixed), a roller at the bottom-right node (y fixed),
    a unit downward load at the top-left node.
    """
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[-1, -1, Y] = 1
    normals[0, :, X] = 1
    forces[0, 0, Y] = -1
    return from_grids("mbb_beam", normals, forces, volfrac)


def cantilever(nelx: int = 96, nely: int = 32, volfrac: float = 0.4,
               force_position: float = 0.0) -> Problem:
    """Cantilever clamped along the left edge, unit downward load on the right edge.

    `force_position` is the height of the load as a fraction from the bottom (0 = bottom
    corner, 0.5 = mid-height), as in Hoyer et al.'s `cantilever_beam_full`.
    """
    validate.number("force_position", force_position, lo=0, hi=1)
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[0, :, :] = 1
    forces[-1, round((1 - force_position) * nely), Y] = -1
    return from_grids("cantilever", normals, forces, volfrac)


def causeway_bridge(nelx: int = 128, nely: int = 128, volfrac: float = 0.08,
                    deck_level: float = 0.2) -> Problem:
    """Half of a bridge span: a deck at `deck_level` (fraction of the height from the bottom)
    carrying a uniform load of total 1, rollers on both sides, one support bottom-right."""
    validate.number("deck_level", deck_level, lo=0, hi=1)
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[-1, -1, Y] = 1
    normals[-1, :, X] = 1
    normals[0, :, X] = 1
    forces[:, round(nely * (1 - deck_level)), Y] = -1 / nelx
    return from_grids("causeway_bridge", normals, forces, volfrac)


def multistory_building(nelx: int = 32, nely: int = 64, volfrac: float = 0.2,
                        interval: int = 16) -> Problem:
    """Half of a building: floors every `interval` rows loaded uniformly, standing on the
    ground (bottom y fixed), symmetry on the right edge."""
    validate.positive_int("interval", interval)
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[:, -1, Y] = 1
    normals[-1, :, X] = 1
    forces[:, ::interval, Y] = -1 / nelx
    return from_grids("multistory_building", normals, forces, volfrac)


def staggered_points(nelx: int = 64, nely: int = 256, volfrac: float = 0.3,
                     interval: int = 16) -> Problem:
    """Downward point loads on a staggered lattice, supported from the ground."""
    validate.integer("interval", interval, lo=2)
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[:, -1, Y] = 1
    normals[0, :, X] = 1
    normals[-1, :, X] = 1
    f = interval ** 2 / (nelx * nely)
    forces[interval // 2::interval, ::interval, Y] = -f
    forces[::interval, interval // 2::interval, Y] = -f
    return from_grids("staggered_points", normals, forces, volfrac)


def michell(nelx: int = 64, nely: int = 64, volfrac: float = 0.12,
            position: float = 0.05) -> Problem:
    """Michell-type structure: a load at mid-height on the right (symmetry) edge carried to a
    single pin at `position` of the width on the left (Hoyer et al.'s michell_centered_both)."""
    validate.number("position", position, lo=0, hi=1, hi_open=True)
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[round(position * nelx), round(nely / 2), Y] = 1
    normals[-1, :, X] = 1
    forces[-1, round(nely / 2), Y] = -1
    return from_grids("michell", normals, forces, volfrac)


def l_shape(nelx: int = 64, nely: int = 64, volfrac: float = 0.3, aspect: float = 0.4,
            force_position: float = 0.5) -> Problem:
    """L-shaped bracket: clamped along part of the top edge, loaded at the tip of the arm;
    the top-right block is outside the design region (`mask` = 0 there)."""
    validate.number("aspect", aspect, lo=0, hi=1, lo_open=True, hi_open=True)
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[:round(aspect * nelx), 0, :] = 1
    forces[-1, round((1 - aspect * force_position) * nely), Y] = -1
    mask = np.ones((nely, nelx))
    mask[:round(nely * (1 - aspect)), round(nelx * aspect):] = 0
    return from_grids("l_shape", normals, forces, volfrac, mask=mask)


def staircase(nelx: int = 256, nely: int = 256, volfrac: float = 0.15, stories: int = 3) -> Problem:
    """A ramp that zig-zags upward `stories` times, loaded along its (anti-aliased) flights and
    standing on the ground (Hoyer et al.'s `staircase`; the tutorial's 256x256 staircase)."""
    validate.positive_int("stories", stories)
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[:, -1, :] = 1
    for story in range(stories):
        parity = story % 2
        start = (0, (story + parity) * nely // stories)
        stop = (nelx, (story + 1 - parity) * nely // stories)
        i, j, value = _line_aa(*start, *stop)
        forces[i, j, Y] = np.minimum(forces[i, j, Y], -value / (nelx * stories))
    return from_grids("staircase", normals, forces, volfrac)


def _line_aa(r0: int, c0: int, r1: int, c1: int):
    """Anti-aliased line from (r0, c0) to (r1, c1): (rows, cols, coverage), as scikit-image's
    `draw.line_aa` computes it (Zingl's anti-aliased Bresenham: the error term gives each
    pixel beside the ideal line its share), so the staircase loads match Hoyer et al.'s."""
    rows, cols, dist = [], [], []
    dc, dr = abs(c0 - c1), abs(r0 - r1)
    err = float(dc - dr)
    sign_c, sign_r = (1 if c0 < c1 else -1), (1 if r0 < r1 else -1)
    ed = 1.0 if dc + dr == 0 else float(np.float32(np.sqrt(dc * dc + dr * dr)))
    c, r = c0, r0
    while True:
        rows.append(r), cols.append(c), dist.append(abs(err - dc + dr) / ed)
        err_prime, c_prime = err, c
        if 2 * err_prime >= -dc:
            if c == c1:
                break
            if err_prime + dr < ed:
                rows.append(r + sign_r), cols.append(c), dist.append(abs(err_prime + dr) / ed)
            err -= dr
            c += sign_c
        if 2 * err_prime <= dr:
            if r == r1:
                break
            if dc - err_prime < ed:
                rows.append(r), cols.append(c_prime + sign_c), dist.append(abs(dc - err_prime) / ed)
            err += dc
            r += sign_r
    return np.array(rows), np.array(cols), 1.0 - np.array(dist)

PROBLEMS = {
    "mbb_beam": mbb_beam,
    "cantilever": cantilever,
    "causeway_bridge": causeway_bridge,
    "multistory_building": multistory_building,
    "staggered_points": staggered_points,
    "michell": michell,
    "l_shape": l_shape,
    "staircase": staircase,
}


def get_problem(name: str, **kwargs) -> Problem:
    """Build a named problem, e.g. `get_problem('mbb_beam', nelx=60, nely=20, volfrac=0.5)`."""
    validate.one_of("name", name, sorted(PROBLEMS))
    return PROBLEMS[name](**kwargs)


def mirrored(x, problem: Problem) -> np.ndarray:
    """The full structure for display: a half-domain design mirrored about its symmetry edge."""
    x = np.asarray(x.detach().cpu() if torch.is_tensor(x) else x)
    if problem.mirror == "left":
        return np.concatenate([x[:, ::-1], x], axis=1)
    if problem.mirror == "right":
        return np.concatenate([x, x[:, ::-1]], axis=1)
    return x
