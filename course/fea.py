"""Finite elements for structural optimization: grids of Q4 elements, SIMP, filters, solves.

Taught in 07_topopt_180 (the physics, SIMP, filters and the adjoint gradient) and reused by
08_neural_reparam (which adds a CNN in front of the same physics). Everything a student
differentiates is a torch function in float64; the linear algebra underneath is SciPy's
sparse LU with index arrays precomputed once per problem.

Conventions (those of Andreassen et al.'s 88-line code and of Hoyer et al. 2019):
- densities `x` have shape (nely, nelx); row 0 is the *top* of the domain;
- node (ix, iy) has number (nely+1)*ix + iy (column-major), its dofs are 2*node (x) and
  2*node+1 (y);
- boundary conditions are built on arrays of shape (nelx+1, nely+1, 2) ("normals": 1 where
  a dof is fixed; "forces"), whose flattening gives the dof order above.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage
import scipy.sparse
import scipy.sparse.linalg
import torch

X, Y = 0, 1  # index of the x and y component in the last axis of normals/forces

__all__ = [
    "Problem", "element_stiffness", "mbb_beam", "cantilever", "causeway_bridge",
    "multistory_building", "michell", "l_shape", "staggered_points", "PROBLEMS", "get_problem",
    "simp", "displacements", "compliance", "element_energies", "gaussian_filter", "cone_filter",
    "sigmoid_with_volume", "oc_update", "mirrored", "DesignHistory", "optimize_mma", "optimize_oc",
]


# ----------------------------------------------------------------------------------------
# Problems
# ----------------------------------------------------------------------------------------
def _check_grid(nelx, nely):
    for name, value in (("nelx", nelx), ("nely", nely)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_volfrac(volfrac):
    if not isinstance(volfrac, (int, float, np.floating)) or not 0 < float(volfrac) < 1:
        raise ValueError(f"volfrac must be a number in (0, 1), got {volfrac!r}")


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
        _check_volfrac(self.volfrac)
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


def _from_grids(name, normals, forces, volfrac, mask=None) -> Problem:
    """A Problem from (nelx+1, nely+1, 2) arrays of fixed flags and loads."""
    nelx, nely = normals.shape[0] - 1, normals.shape[1] - 1
    roller = lambda edge: bool(edge[:, X].all() and not edge[:, Y].all())
    mirror = "left" if roller(normals[0]) else "right" if roller(normals[-1]) else None
    return Problem(name=name, nelx=nelx, nely=nely, volfrac=volfrac,
                   fixed_dofs=np.flatnonzero(normals.ravel()), forces=forces.ravel(),
                   mask=mask, mirror=mirror)


def _empty_grids(nelx, nely, volfrac):
    _check_grid(nelx, nely)
    _check_volfrac(volfrac)
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
    return _from_grids("mbb_beam", normals, forces, volfrac)


def cantilever(nelx: int = 96, nely: int = 32, volfrac: float = 0.4,
               force_position: float = 0.0) -> Problem:
    """Cantilever clamped along the left edge, unit downward load on the right edge.

    `force_position` is the height of the load as a fraction from the bottom (0 = bottom
    corner, 0.5 = mid-height), as in Hoyer et al.'s `cantilever_beam_full`.
    """
    if not 0 <= force_position <= 1:
        raise ValueError(f"force_position must be in [0, 1], got {force_position!r}")
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[0, :, :] = 1
    forces[-1, round((1 - force_position) * nely), Y] = -1
    return _from_grids("cantilever", normals, forces, volfrac)


def causeway_bridge(nelx: int = 128, nely: int = 128, volfrac: float = 0.08,
                    deck_level: float = 0.2) -> Problem:
    """Half of a bridge span: a deck at `deck_level` (fraction of the height from the bottom)
    carrying a uniform load of total 1, rollers on both sides, one support bottom-right."""
    if not 0 <= deck_level <= 1:
        raise ValueError(f"deck_level must be in [0, 1], got {deck_level!r}")
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[-1, -1, Y] = 1
    normals[-1, :, X] = 1
    normals[0, :, X] = 1
    forces[:, round(nely * (1 - deck_level)), Y] = -1 / nelx
    return _from_grids("causeway_bridge", normals, forces, volfrac)


def multistory_building(nelx: int = 32, nely: int = 64, volfrac: float = 0.2,
                        interval: int = 16) -> Problem:
    """Half of a building: floors every `interval` rows loaded uniformly, standing on the
    ground (bottom y fixed), symmetry on the right edge."""
    if not isinstance(interval, (int, np.integer)) or interval < 1:
        raise ValueError(f"interval must be a positive integer, got {interval!r}")
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[:, -1, Y] = 1
    normals[-1, :, X] = 1
    forces[:, ::interval, Y] = -1 / nelx
    return _from_grids("multistory_building", normals, forces, volfrac)


def staggered_points(nelx: int = 64, nely: int = 256, volfrac: float = 0.3,
                     interval: int = 16) -> Problem:
    """Downward point loads on a staggered lattice, supported from the ground."""
    if not isinstance(interval, (int, np.integer)) or interval < 2:
        raise ValueError(f"interval must be an integer >= 2, got {interval!r}")
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[:, -1, Y] = 1
    normals[0, :, X] = 1
    normals[-1, :, X] = 1
    f = interval ** 2 / (nelx * nely)
    forces[interval // 2::interval, ::interval, Y] = -f
    forces[::interval, interval // 2::interval, Y] = -f
    return _from_grids("staggered_points", normals, forces, volfrac)


def michell(nelx: int = 64, nely: int = 64, volfrac: float = 0.12,
            position: float = 0.05) -> Problem:
    """Michell-type structure: a load at mid-height on the right (symmetry) edge carried to a
    single pin at `position` of the width on the left (Hoyer et al.'s michell_centered_both)."""
    if not 0 <= position < 1:
        raise ValueError(f"position must be in [0, 1), got {position!r}")
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[round(position * nelx), round(nely / 2), Y] = 1
    normals[-1, :, X] = 1
    forces[-1, round(nely / 2), Y] = -1
    return _from_grids("michell", normals, forces, volfrac)


def l_shape(nelx: int = 64, nely: int = 64, volfrac: float = 0.3, aspect: float = 0.4,
            force_position: float = 0.5) -> Problem:
    """L-shaped bracket: clamped along part of the top edge, loaded at the tip of the arm;
    the top-right block is outside the design region (`mask` = 0 there)."""
    if not 0 < aspect < 1:
        raise ValueError(f"aspect must be in (0, 1), got {aspect!r}")
    normals, forces = _empty_grids(nelx, nely, volfrac)
    normals[:round(aspect * nelx), 0, :] = 1
    forces[-1, round((1 - aspect * force_position) * nely), Y] = -1
    mask = np.ones((nely, nelx))
    mask[:round(nely * (1 - aspect)), round(nelx * aspect):] = 0
    return _from_grids("l_shape", normals, forces, volfrac, mask=mask)


PROBLEMS = {
    "mbb_beam": mbb_beam,
    "cantilever": cantilever,
    "causeway_bridge": causeway_bridge,
    "multistory_building": multistory_building,
    "staggered_points": staggered_points,
    "michell": michell,
    "l_shape": l_shape,
}


def get_problem(name: str, **kwargs) -> Problem:
    """Build a named problem, e.g. `get_problem('mbb_beam', nelx=60, nely=20, volfrac=0.5)`."""
    if name not in PROBLEMS:
        raise ValueError(f"name must be one of {sorted(PROBLEMS)}, got {name!r}")
    return PROBLEMS[name](**kwargs)


def mirrored(x, problem: Problem) -> np.ndarray:
    """The full structure for display: a half-domain design mirrored about its symmetry edge."""
    x = np.asarray(x.detach().cpu() if torch.is_tensor(x) else x)
    if problem.mirror == "left":
        return np.concatenate([x[:, ::-1], x], axis=1)
    if problem.mirror == "right":
        return np.concatenate([x, x[:, ::-1]], axis=1)
    return x


# ----------------------------------------------------------------------------------------
# Element, assembly and solve
# ----------------------------------------------------------------------------------------
def element_stiffness(E: float = 1.0, nu: float = 0.3) -> np.ndarray:
    """The 8x8 stiffness matrix of a unit-square bilinear (Q4) plane-stress element.

    Dof order: (x, y) at the corners n1, n2, n3, n4 listed by `_element_dofs` (top-left,
    top-right, bottom-right, bottom-left on screen), the order of the 88-line code.

    Args:
        E: Young's modulus (> 0).
        nu: Poisson's ratio in (-1, 0.5).
    Returns:
        (8, 8) float64 array, symmetric positive semi-definite with 3 rigid-body zero modes.
    """
    if not E > 0:
        raise ValueError(f"E must be positive, got {E!r}")
    if not -1 < nu < 0.5:
        raise ValueError(f"nu must be in (-1, 0.5), got {nu!r}")
    k = np.array([1/2 - nu/6, 1/8 + nu/8, -1/4 - nu/12, -1/8 + 3*nu/8,
                  -1/4 + nu/12, -1/8 - nu/8, nu/6, 1/8 - 3*nu/8])
    pattern = np.array([[0, 1, 2, 3, 4, 5, 6, 7],
                        [1, 0, 7, 6, 5, 4, 3, 2],
                        [2, 7, 0, 5, 6, 3, 4, 1],
                        [3, 6, 5, 0, 7, 2, 1, 4],
                        [4, 5, 6, 7, 0, 1, 2, 3],
                        [5, 4, 3, 2, 1, 0, 7, 6],
                        [6, 3, 4, 1, 2, 7, 0, 5],
                        [7, 2, 1, 4, 3, 6, 5, 0]])
    return E / (1 - nu ** 2) * k[pattern]


KE = element_stiffness()  # the unit-modulus element every solve scales by E_e


@functools.lru_cache(maxsize=16)
def _element_dofs(nelx: int, nely: int) -> np.ndarray:
    """(nelx*nely, 8) global dofs of every element, elements ordered column-major
    (element e = nely*elx + ely, i.e. the order of `x.T.ravel()`)."""
    elx, ely = np.meshgrid(np.arange(nelx), np.arange(nely), indexing="ij")
    n1 = ((nely + 1) * elx + ely).ravel()          # top-left corner (row 0 is the top)
    n2 = ((nely + 1) * (elx + 1) + ely).ravel()
    n3, n4 = n2 + 1, n1 + 1
    return np.stack([2*n1, 2*n1 + 1, 2*n2, 2*n2 + 1, 2*n3, 2*n3 + 1, 2*n4, 2*n4 + 1], axis=1)


class _Assembly:
    """Index arrays that turn per-element moduli into the reduced CSC matrix K_ff directly.

    Built once per problem: the COO triplets (element e, local i, local j) that touch two
    free dofs are mapped to the position of their (row, col) in a CSC pattern, so each solve
    is one `np.bincount` (which sums duplicates) instead of COO->CSC conversion.
    """

    def __init__(self, problem: Problem):
        edof = _element_dofs(problem.nelx, problem.nely)
        n = problem.n_dofs
        free = problem.free_dofs
        reduced = np.full(n, -1, dtype=np.int64)
        reduced[free] = np.arange(free.size)
        rows = reduced[np.repeat(edof, 8, axis=1)].ravel()   # (nel*64,) element-major, i-major
        cols = reduced[np.tile(edof, (1, 8))].ravel()
        self.keep = np.flatnonzero((rows >= 0) & (cols >= 0))
        nf = free.size
        key = cols[self.keep] * nf + rows[self.keep]          # column-major order = CSC order
        unique, self.slot = np.unique(key, return_inverse=True)
        self.indices = (unique % nf).astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(unique // nf, minlength=nf))]).astype(np.int32)
        self.nnz, self.n_free, self.free, self.edof = unique.size, nf, free, edof

    def matrix(self, young: np.ndarray) -> scipy.sparse.csc_matrix:
        values = (young[:, None, None] * KE[None]).ravel()[self.keep]
        data = np.bincount(self.slot, weights=values, minlength=self.nnz)
        return scipy.sparse.csc_matrix((data, self.indices, self.indptr), shape=(self.n_free,) * 2)


def _assembly(problem: Problem) -> _Assembly:
    if "assembly" not in problem._cache:
        fixed = problem.fixed_dofs
        n_x, n_y = np.sum(fixed % 2 == 0), np.sum(fixed % 2 == 1)
        if fixed.size < 3 or n_x == 0 or n_y == 0:
            raise ValueError(f"problem {problem.name!r} is not supported against rigid motion: "
                             f"fixed_dofs must fix at least 3 dofs including both an x and a y dof "
                             f"(got {n_x} x and {n_y} y); K would be singular")
        problem._cache["assembly"] = _Assembly(problem)
    return problem._cache["assembly"]


def _check_density(x, problem: Problem, name="x_phys") -> None:
    if not torch.is_tensor(x):
        raise ValueError(f"{name} must be a torch tensor, got {type(x).__name__}")
    if tuple(x.shape) != problem.shape:
        raise ValueError(f"{name} must have shape (nely, nelx)={problem.shape}, got {tuple(x.shape)}")


def _check_penalty(penal, e_min):
    if not penal >= 1:
        raise ValueError(f"penal must be >= 1, got {penal!r}")
    if not 0 < e_min < 1:
        raise ValueError(f"e_min must be in (0, 1), got {e_min!r}")


def _solve(young_flat: np.ndarray, problem: Problem):
    """Solve K(E) u = f on the free dofs. Returns (u (n_dofs,), factorisation solve fn)."""
    asm = _assembly(problem)
    K = asm.matrix(young_flat)
    f = problem.forces[asm.free]
    try:
        lu = scipy.sparse.linalg.splu(K, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                      options={"SymmetricMode": True})
    except RuntimeError as err:  # "Factor is exactly singular"
        raise ValueError(f"stiffness matrix of problem {problem.name!r} is singular: the supports "
                         f"(fixed_dofs) do not prevent rigid motion ({err})") from err
    u_free = lu.solve(f)
    residual = np.linalg.norm(K @ u_free - f)
    # With E_min = 1e-9 a nearly void design (which line searches do try) has a condition
    # number near 1e9-1e10, so round-off alone leaves relative residuals of ~1e-5; a truly
    # singular K leaves ~1 or non-finite values. 1e-3 tells the two apart.
    if not np.all(np.isfinite(u_free)) or residual > 1e-3 * max(np.linalg.norm(f), 1e-30):
        raise ValueError(f"solve for problem {problem.name!r} failed (relative residual "
                         f"{residual / max(np.linalg.norm(f), 1e-30):.1e}): K is singular or too "
                         f"ill-conditioned; check fixed_dofs and that densities are finite")
    u = np.zeros(problem.n_dofs)
    u[asm.free] = u_free
    return u, lu


def element_energies(u: np.ndarray, problem: Problem) -> np.ndarray:
    """u_e^T K0 u_e for every element, as a (nely, nelx) array (strain energy at E = 1)."""
    ue = np.asarray(u)[_element_dofs(problem.nelx, problem.nely)]
    energies = np.einsum("ei,ij,ej->e", ue, KE, ue)
    return energies.reshape(problem.nelx, problem.nely).T


def simp(x, penal: float = 3.0, e_min: float = 1e-9):
    """Modified SIMP interpolation: Young's modulus E = e_min + x^p (1 - e_min), with E0 = 1.

    Args:
        x: densities in [0, 1], a torch tensor of any shape.
        penal: the exponent p >= 1 (3 makes grey densities uneconomical).
        e_min: modulus of void, keeps K non-singular.
    Returns:
        a tensor shaped like x, differentiable.
    """
    _check_penalty(penal, e_min)
    if not torch.is_tensor(x):
        raise ValueError(f"x must be a torch tensor, got {type(x).__name__}")
    return e_min + x.clamp(min=0) ** penal * (1 - e_min)


class _Displacements(torch.autograd.Function):
    """u = K(E)^-1 f with the adjoint rule dL/dE_e = -lambda_e^T K0 u_e, K lambda = dL/du."""

    @staticmethod
    def forward(ctx, young, problem):
        young_flat = young.detach().cpu().double().numpy().T.ravel()
        u, lu = _solve(young_flat, problem)
        ctx.problem, ctx.lu, ctx.u = problem, lu, u
        ctx.device = young.device
        return torch.as_tensor(u, dtype=torch.float64, device=young.device)

    @staticmethod
    def backward(ctx, grad_u):
        problem, asm = ctx.problem, _assembly(ctx.problem)
        g = grad_u.detach().cpu().double().numpy()
        lam = np.zeros(problem.n_dofs)
        lam[asm.free] = ctx.lu.solve(g[asm.free])   # K is symmetric: the same factor serves
        edof = asm.edof
        grad_e = -np.einsum("ei,ij,ej->e", lam[edof], KE, ctx.u[edof])
        grad = grad_e.reshape(problem.nelx, problem.nely).T
        return torch.as_tensor(grad, dtype=torch.float64, device=ctx.device), None


def displacements(x_phys, problem: Problem, penal: float = 3.0, e_min: float = 1e-9):
    """Nodal displacements of a design: solve K(x) u = f (differentiable via the adjoint).

    Args:
        x_phys: (nely, nelx) float64 tensor of physical densities in [0, 1].
        problem: the Problem (supports and loads).
        penal, e_min: SIMP parameters (see `simp`).
    Returns:
        (n_dofs,) float64 tensor, zero at fixed dofs.
    """
    _check_density(x_phys, problem)
    return _Displacements.apply(simp(x_phys.double(), penal, e_min), problem)


class _Compliance(torch.autograd.Function):
    """c = f^T u = sum_e E_e u_e^T K0 u_e, with the hand-written adjoint gradient
    dc/dx_e = -p x_e^(p-1) (E0 - Emin) u_e^T K0 u_e (compliance is self-adjoint: lambda = -u)."""

    @staticmethod
    def forward(ctx, x_phys, problem, penal, e_min):
        x = x_phys.detach().cpu().double().numpy()
        young = e_min + np.clip(x, 0, None) ** penal * (1 - e_min)
        u, _ = _solve(young.T.ravel(), problem)
        energy = element_energies(u, problem)
        ctx.save_for_backward(x_phys)
        ctx.energy, ctx.penal, ctx.e_min = energy, penal, e_min
        return torch.as_tensor(np.sum(young * energy), dtype=torch.float64, device=x_phys.device)

    @staticmethod
    def backward(ctx, grad_c):
        (x_phys,) = ctx.saved_tensors
        x = np.clip(x_phys.detach().cpu().double().numpy(), 0, None)
        dc_dx = -ctx.penal * x ** (ctx.penal - 1) * (1 - ctx.e_min) * ctx.energy
        grad = torch.as_tensor(dc_dx, dtype=torch.float64, device=x_phys.device)
        return grad_c * grad, None, None, None


def compliance(x_phys, problem: Problem, penal: float = 3.0, e_min: float = 1e-9):
    """Compliance f^T u of a design (the work done by the loads; lower = stiffer).

    Differentiable: backward is the adjoint sensitivity -p x^(p-1) (E0-Emin) u_e^T K0 u_e,
    written out (no second solve needed). Taught in 07_topopt_180.

    Args:
        x_phys: (nely, nelx) float64 tensor of physical densities in [0, 1].
        problem: the Problem.
        penal, e_min: SIMP parameters.
    Returns:
        a float64 scalar tensor.
    """
    _check_density(x_phys, problem)
    _check_penalty(penal, e_min)
    return _Compliance.apply(x_phys.double(), problem, float(penal), float(e_min))


# ----------------------------------------------------------------------------------------
# Filters and the volume constraint
# ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _gaussian_matrix(n: int, width: float) -> np.ndarray:
    """The (n, n) matrix of scipy's 1-D Gaussian blur in 'reflect' mode (applied to I)."""
    return scipy.ndimage.gaussian_filter1d(np.eye(n), width, axis=0, mode="reflect")


def gaussian_filter(x, width: float):
    """2-D Gaussian blur (std `width` elements, scipy 'reflect' borders) used as a density
    filter in 07 (the tutorial's filter). Separable: G_y @ x @ G_x^T, so torch
    differentiates it exactly, on any device.

    Args:
        x: (nely, nelx) tensor.
        width: standard deviation in elements, >= 0 (0 = no filtering).
    Returns:
        (nely, nelx) tensor.
    """
    if not torch.is_tensor(x) or x.ndim != 2:
        raise ValueError(f"x must be a 2-D torch tensor (nely, nelx), got {getattr(x, 'shape', type(x))}")
    if not width >= 0:
        raise ValueError(f"width must be >= 0, got {width!r}")
    if width == 0:
        return x
    gy = torch.as_tensor(_gaussian_matrix(x.shape[0], float(width)), dtype=x.dtype, device=x.device)
    gx = torch.as_tensor(_gaussian_matrix(x.shape[1], float(width)), dtype=x.dtype, device=x.device)
    return gy @ x @ gx.T


def cone_filter(x, radius: float):
    """Cone (hat) density filter of the 88-line code and Hoyer et al. 2019 (used in 08):
    x~_e = sum_i w_ei x_i / sum_i w_ei with w_ei = max(0, radius - dist(e, i)).

    Args:
        x: (nely, nelx) tensor.
        radius: filter radius in elements, > 0 (radius <= 1 leaves x unchanged).
    Returns:
        (nely, nelx) tensor (differentiable; a convolution normalised at the borders).
    """
    if not torch.is_tensor(x) or x.ndim != 2:
        raise ValueError(f"x must be a 2-D torch tensor (nely, nelx), got {getattr(x, 'shape', type(x))}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius!r}")
    reach = math.ceil(radius) - 1
    offsets = torch.arange(-reach, reach + 1, dtype=x.dtype, device=x.device)
    dist = torch.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2)
    kernel = (radius - dist).clamp(min=0)[None, None]
    blur = lambda t: torch.nn.functional.conv2d(t[None, None], kernel, padding=reach)[0, 0]
    return blur(x) / blur(torch.ones_like(x))


class _VolumeOffset(torch.autograd.Function):
    """b(z) with mean(sigmoid(z + b)) = volfrac: bisection forward, implicit-function backward
    db/dz_i = -sigmoid'(z_i + b) / sum_j sigmoid'(z_j + b)."""

    @staticmethod
    def forward(ctx, logits, volfrac):
        z = logits.detach().double()
        target = math.log(volfrac / (1 - volfrac))
        lo, hi = target - z.max().item(), target - z.min().item()   # mean <= v at lo, >= v at hi
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            if torch.sigmoid(z + mid).mean().item() > volfrac:
                hi = mid
            else:
                lo = mid
            if hi - lo < 1e-12:
                break
        b = 0.5 * (lo + hi)
        ctx.save_for_backward(logits)
        ctx.b = b
        return torch.tensor(b, dtype=logits.dtype, device=logits.device)

    @staticmethod
    def backward(ctx, grad_b):
        (logits,) = ctx.saved_tensors
        s = torch.sigmoid(logits.detach() + ctx.b)
        ds = s * (1 - s)
        return -grad_b * ds / ds.sum(), None


def sigmoid_with_volume(logits, volfrac: float):
    """Densities sigmoid(logits + b) whose mean is exactly `volfrac` (Hoyer et al. 2019, used
    in 08). The offset b is found by bisection and differentiated implicitly.

    Args:
        logits: (nely, nelx) tensor of unconstrained design variables.
        volfrac: target mean density in (0, 1).
    Returns:
        (nely, nelx) tensor with values in (0, 1) and mean volfrac.
    """
    if not torch.is_tensor(logits) or logits.ndim != 2:
        raise ValueError(f"logits must be a 2-D torch tensor (nely, nelx), got {getattr(logits, 'shape', type(logits))}")
    _check_volfrac(volfrac)
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite")
    b = _VolumeOffset.apply(logits, float(volfrac))
    return torch.sigmoid(logits + b)


# ----------------------------------------------------------------------------------------
# Optimality criteria
# ----------------------------------------------------------------------------------------
def _check_oc_step(move, eta):
    if not 0 < move <= 1:
        raise ValueError(f"move must be in (0, 1], got {move!r}")
    if not 0 < eta <= 1:
        raise ValueError(f"eta must be in (0, 1], got {eta!r}")


def oc_update(x: np.ndarray, dc: np.ndarray, dv: np.ndarray, volume, volfrac: float,
              move: float = 0.2, eta: float = 0.5, lam_bounds=(1e-9, 1e9)) -> np.ndarray:
    """One optimality-criteria step (Bendsoe 1995; the 88-line code). Taught in 07, used in 08.

    Each density is scaled by B_e^eta with B_e = -dc_e / (lambda dv_e), then clipped to a
    move limit and to [0, 1]; the Lagrange multiplier lambda is found by bisection (in log
    space) so that the new design meets the volume budget.

    Args:
        x: (nely, nelx) current design variables in [0, 1].
        dc: (nely, nelx) gradient of compliance w.r.t. x (<= 0).
        dv: (nely, nelx) gradient of the volume w.r.t. x (> 0).
        volume: function design -> volume (e.g. the mean filtered density), a float.
        volfrac: the volume budget in (0, 1).
        move: largest change of a density per step, in (0, 1].
        eta: damping exponent in (0, 1].
        lam_bounds: bracket for lambda.
    Returns:
        the new (nely, nelx) design, with volume(x_new) <= volfrac.
    """
    _check_volfrac(volfrac)
    _check_oc_step(move, eta)
    x, dc, dv = (np.asarray(a, dtype=np.float64) for a in (x, dc, dv))
    if dc.shape != x.shape or dv.shape != x.shape:
        raise ValueError(f"dc and dv must have the shape of x {x.shape}, got {dc.shape}, {dv.shape}")
    ratio = np.maximum(-dc, 0) / np.maximum(dv, 1e-30)
    lower, upper = np.maximum(x - move, 0), np.minimum(x + move, 1)
    step = lambda lam: np.clip(x * (ratio / lam) ** eta, lower, upper)
    lo, hi = np.log(lam_bounds[0]), np.log(lam_bounds[1])
    while hi - lo > 1e-10:          # larger lambda -> less material
        mid = 0.5 * (lo + hi)
        if volume(step(np.exp(mid))) > volfrac:
            lo = mid
        else:
            hi = mid
    return step(np.exp(hi))


# ----------------------------------------------------------------------------------------
# Optimizers on the design variables: MMA (NLopt) and optimality criteria
# ----------------------------------------------------------------------------------------
@dataclass
class DesignHistory:
    """What `optimize_mma` and `optimize_oc` record: one entry per objective evaluation.

    Attributes:
        losses: (n,) float array, the objective at each evaluation (its last entry is the
            final design's for OC; for MMA an evaluation can be a trial point MMA rejects).
        designs: list of n arrays shaped like x0, the design variables evaluated.
        volumes: (n,) float array, `volume(design)` at each evaluation.
    """

    losses: np.ndarray
    designs: list
    volumes: np.ndarray


def _check_optimizer_args(objective, volume, volfrac, x0, steps, steps_name, callback):
    for name, fn in (("objective", objective), ("volume", volume)):
        if not callable(fn):
            raise ValueError(f"{name} must be a callable taking a torch tensor, got {type(fn).__name__}")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be None or callable, got {type(callback).__name__}")
    _check_volfrac(volfrac)
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"{steps_name} must be an integer >= 1, got {steps!r}")
    if torch.is_tensor(x0):
        x0 = x0.detach().cpu().numpy()
    x0 = np.array(x0, dtype=np.float64)   # a copy: the caller's array is never changed
    if x0.ndim < 1 or x0.size == 0:
        raise ValueError(f"x0 must be a non-empty array of design variables, got shape {x0.shape}")
    if not np.all((x0 >= 0) & (x0 <= 1)):
        raise ValueError(f"x0 must lie in [0, 1] (finite), got values in [{x0.min()}, {x0.max()}]")
    return x0


def _value_and_grad(fn, x: np.ndarray, name: str):
    """NumPy in (what the optimizers speak), torch autograd in the middle, NumPy out."""
    x_t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = fn(x_t)
    if not torch.is_tensor(value) or value.numel() != 1:
        raise ValueError(f"{name} must return a scalar torch tensor, got {type(value).__name__} "
                         f"of shape {tuple(getattr(value, 'shape', ()))}")
    (grad,) = torch.autograd.grad(value, x_t)
    return value.item(), grad.numpy()


def _volume_of(volume, x: np.ndarray) -> float:
    with torch.no_grad():
        return float(volume(torch.tensor(x, dtype=torch.float64)))


def optimize_mma(objective, volume, volfrac: float, x0, evals: int, callback=None) -> DesignHistory:
    """Minimise objective(x) subject to volume(x) <= volfrac and 0 <= x <= 1 with the Method of
    Moving Asymptotes (Svanberg 1987; NLopt's LD_MMA, as the 180-line tutorial does).
    Taught in 07_topopt_180; 08_neural_reparam uses it as a baseline (with a cone filter).

    Gradients come from torch autograd: both functions receive x as a float64 tensor shaped
    like x0 and return a scalar tensor. The constraint tolerance is 1e-8. The budget counts
    function evaluations (MMA may evaluate a trial point, reject it and try again), and every
    evaluation is recorded.

    Args:
        objective: torch function x -> scalar to minimise, e.g. the compliance of filter(x).
        volume: torch function x -> scalar, e.g. the mean filtered density.
        volfrac: the volume budget in (0, 1).
        x0: starting design variables, an array (e.g. (nely, nelx)) with values in [0, 1].
        evals: number of objective evaluations, >= 1.
        callback: optional callback(losses, designs), called with the lists so far after
            every evaluation (e.g. to redraw a live plot).
    Returns:
        a DesignHistory with at most `evals` entries.
    """
    import nlopt   # a declared dependency; imported here so that `course.fea` loads without it

    x0 = _check_optimizer_args(objective, volume, volfrac, x0, evals, "evals", callback)
    shape = x0.shape
    losses, designs, volumes = [], [], []

    def objective_for_nlopt(x_flat, grad):
        x = x_flat.reshape(shape).copy()
        value, dvalue = _value_and_grad(objective, x, "objective")
        if grad.size:
            grad[:] = dvalue.ravel()
        losses.append(value)
        designs.append(x)
        volumes.append(_volume_of(volume, x))
        if callback is not None:
            callback(losses, designs)
        return value

    def constraint_for_nlopt(x_flat, grad):   # volume(x) - volfrac <= 0
        value, dvalue = _value_and_grad(lambda t: volume(t) - volfrac, x_flat.reshape(shape), "volume")
        if grad.size:
            grad[:] = dvalue.ravel()
        return value

    opt = nlopt.opt(nlopt.LD_MMA, x0.size)
    opt.set_lower_bounds(0.0)
    opt.set_upper_bounds(1.0)
    opt.set_min_objective(objective_for_nlopt)
    opt.add_inequality_constraint(constraint_for_nlopt, 1e-8)
    opt.set_maxeval(int(evals))
    opt.optimize(x0.ravel())
    return DesignHistory(np.array(losses[:evals]), designs[:evals], np.array(volumes[:evals]))


def optimize_oc(objective, volume, volfrac: float, x0, iterations: int, move: float = 0.2,
                eta: float = 0.5, callback=None) -> DesignHistory:
    """Minimise objective(x) subject to volume(x) <= volfrac and 0 <= x <= 1 with optimality
    criteria: `iterations` steps of `oc_update`. Taught in 07_topopt_180; 08_neural_reparam uses
    it as a baseline (with a cone filter).

    Each iteration evaluates the objective and the volume with their autograd gradients,
    records them, then takes one OC step. OC assumes dobjective/dx <= 0 (more material is
    stiffer) and dvolume/dx > 0.

    Args:
        objective: torch function x -> scalar to minimise, e.g. the compliance of filter(x).
        volume: torch function x -> scalar, e.g. the mean filtered density.
        volfrac: the volume budget in (0, 1).
        x0: starting design variables, an array (e.g. (nely, nelx)) with values in [0, 1].
        iterations: number of evaluations (= OC steps), >= 1.
        move: largest change of a design variable per step, in (0, 1].
        eta: damping exponent in (0, 1].
        callback: optional callback(losses, designs), called with the lists so far after
            every evaluation.
    Returns:
        a DesignHistory with `iterations` entries (the design *before* each step).
    """
    x = _check_optimizer_args(objective, volume, volfrac, x0, iterations, "iterations", callback)
    _check_oc_step(move, eta)
    volume_of = functools.partial(_volume_of, volume)
    losses, designs, volumes = [], [], []
    for _ in range(iterations):
        value, dvalue = _value_and_grad(objective, x, "objective")
        vol, dvol = _value_and_grad(volume, x, "volume")
        losses.append(value)
        designs.append(x.copy())
        volumes.append(vol)
        if callback is not None:
            callback(losses, designs)
        x = oc_update(x, dvalue, dvol, volume_of, volfrac, move, eta)
    return DesignHistory(np.array(losses), designs, np.array(volumes))
