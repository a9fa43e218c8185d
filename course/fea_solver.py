"""The linear algebra under `course.fea`: the Q4 element, the assembly of the reduced stiffness
matrix K_ff (CSC and LAPACK band storage, index maps computed once per problem), and the solve
K u = f by banded Cholesky (K is symmetric positive definite; the free dofs renumbered once per
problem to the narrowest band), with SciPy's sparse LU for very wide bands and as the fallback
that reports a singular K. Split from `course.fea` (the differentiable compliance and filters),
which re-exports the element and the assembly; 07_topopt_180 teaches both in its own cells.
"""
from __future__ import annotations

import functools

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg

from . import validate
from .fea_problems import Problem

__all__ = ["KE", "element_stiffness", "element_dofs", "stiffness_matrix", "assembly", "solve", "BAND_LIMIT"]


def element_stiffness(E: float = 1.0, nu: float = 0.3) -> np.ndarray:
    """The 8x8 stiffness matrix of a unit-square bilinear (Q4) plane-stress element.

    Dof order: (x, y) at the corners n1, n2, n3, n4 listed by `element_dofs` (top-left,
    top-right, bottom-right, bottom-left on screen), the order of the 88-line code.

    Args:
        E: Young's modulus (> 0).
        nu: Poisson's ratio in (-1, 0.5).
    Returns:
        (8, 8) float64 array, symmetric positive semi-definite with 3 rigid-body zero modes.
    """
    validate.positive("E", E)
    validate.number("nu", nu, lo=-1, hi=0.5, lo_open=True, hi_open=True)
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
def element_dofs(nelx: int, nely: int) -> np.ndarray:
    """(nelx*nely, 8) global dofs of every element, elements ordered column-major
    (element e = nely*elx + ely, i.e. the order of `x.T.ravel()`); 07's index map.
    Cached: treat the result as read-only."""
    elx, ely = np.meshgrid(np.arange(nelx), np.arange(nely), indexing="ij")
    n1 = ((nely + 1) * elx + ely).ravel()          # top-left corner (row 0 is the top)
    n2 = ((nely + 1) * (elx + 1) + ely).ravel()
    n3, n4 = n2 + 1, n1 + 1
    return np.stack([2*n1, 2*n1 + 1, 2*n2, 2*n2 + 1, 2*n3, 2*n3 + 1, 2*n4, 2*n4 + 1], axis=1)


class Assembly:
    """Index arrays that turn per-element moduli into the reduced matrix K_ff directly.

    Built once per problem: the COO triplets (element e, local i, local j) that touch two
    free dofs are mapped to the position of their (row, col) in a CSC pattern (`matrix`) and,
    on first use, in LAPACK's band storage of K_ff renumbered to a narrow band (`band`,
    `band_matrix`), so each solve is one `np.bincount` (which sums duplicates).
    """

    def __init__(self, problem: Problem):
        edof = element_dofs(problem.nelx, problem.nely)
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
        self.problem_shape, self.n_dofs = (problem.nelx, problem.nely), n
        self._band = None

    def matrix(self, young: np.ndarray) -> scipy.sparse.csc_matrix:
        values = (young[:, None, None] * KE[None]).ravel()[self.keep]
        data = np.bincount(self.slot, weights=values, minlength=self.nnz)
        return scipy.sparse.csc_matrix((data, self.indices, self.indptr), shape=(self.n_free,) * 2)

    def band(self):
        """The banded form of K_ff: (order, u, element, value, position). The free dofs are
        renumbered by `order` (`band_order`) to a half-bandwidth u; the COO triplet k of the
        upper triangle (renumbered row <= column) adds young[element[k]] * value[k] at the flat
        position[k] of LAPACK's upper band storage ab[u + i - j, j] = K[i, j], a Fortran-ordered
        (u+1, n_free) array. Computed on first use, once per problem; read-only."""
        if self._band is None:
            cols = np.repeat(np.arange(self.n_free), np.diff(self.indptr))
            order, u = band_order(self.problem_shape, self.free, self.indices, cols)
            position = np.full(self.free.size, -1, dtype=np.int64)
            position[order] = np.arange(self.n_free)
            reduced = np.full(self.n_dofs, -1, dtype=np.int64)
            reduced[self.free] = position
            i = reduced[np.repeat(self.edof, 8, axis=1)].ravel()   # the triplets of __init__
            j = reduced[np.tile(self.edof, (1, 8))].ravel()
            upper = np.flatnonzero((i >= 0) & (j >= 0) & (i <= j))
            self._band = (order, u, upper // 64, KE.ravel()[upper % 64],
                          (u + i[upper] - j[upper]) + j[upper] * (u + 1))
        return self._band

    def band_matrix(self, young: np.ndarray) -> np.ndarray:
        """K_ff renumbered by band()'s order, in LAPACK's upper band storage ((u+1, n_free), F order)."""
        order, u, element, value, position = self.band()
        ab = np.bincount(position, weights=young[element] * value, minlength=(u + 1) * self.n_free)
        return ab.reshape(self.n_free, u + 1).T

    def apply(self, young: np.ndarray, u: np.ndarray) -> np.ndarray:
        """K u for a full displacement vector u (n_dofs,), summed element by element."""
        forces = (u[self.edof] @ KE) * young[:, None]
        return np.bincount(self.edof.ravel(), weights=forces.ravel(), minlength=self.n_dofs)


def assembly(problem: Problem) -> Assembly:
    if "assembly" not in problem._cache:
        fixed = problem.fixed_dofs
        n_x, n_y = np.sum(fixed % 2 == 0), np.sum(fixed % 2 == 1)
        if fixed.size < 3 or n_x == 0 or n_y == 0:
            raise ValueError(f"problem {problem.name!r} is not supported against rigid motion: "
                             f"fixed_dofs must fix at least 3 dofs including both an x and a y dof "
                             f"(got {n_x} x and {n_y} y); K would be singular")
        problem._cache["assembly"] = Assembly(problem)
    return problem._cache["assembly"]


def stiffness_matrix(young: np.ndarray, problem: Problem) -> scipy.sparse.csc_matrix:
    """The reduced stiffness matrix K_ff (free dofs only) for per-element moduli `young`
    (nelx*nely,) in column-major element order. Taught in 07_topopt_180 (assembly)."""
    young = np.asarray(young, dtype=np.float64)
    validate.shape("young", young, (problem.nelx * problem.nely,))
    return assembly(problem).matrix(young)


def band_order(shape, free, rows, cols):
    """A numbering of the free dofs with a narrow band, and its half-bandwidth.

    Candidates: the natural numbering (nodes column by column, as `element_dofs` numbers them),
    the same grid numbered row by row (narrower when the grid is taller than wide), and reverse
    Cuthill-McKee on K's pattern; the narrowest wins (ties: the first). `rows`, `cols` are the
    pattern's entries in the free-dof numbering."""
    nelx, nely = shape
    node, comp = free // 2, free % 2
    x, y = node // (nely + 1), node % (nely + 1)
    by_rows = np.argsort((y * (nelx + 1) + x) * 2 + comp, kind="stable")
    pattern = scipy.sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(free.size,) * 2)
    rcm = scipy.sparse.csgraph.reverse_cuthill_mckee(pattern, symmetric_mode=True).astype(np.int64)
    best = None
    for order in (np.arange(free.size), by_rows, rcm):
        position = np.empty(free.size, dtype=np.int64)
        position[order] = np.arange(free.size)
        width = int(np.max(np.abs(position[rows] - position[cols]), initial=0))
        if best is None or width < best[1]:
            best = (order, width)
    return best


# Banded Cholesky (LAPACK dpbtrf) is used when the half-bandwidth is at most this; wider bands
# (large square grids) go to SuperLU with its fill-reducing ordering. Factor + solve, one thread,
# random SIMP designs: the band won at every size 07, 08 and the benchmarks use (MBB 80x25, u = 55:
# 17 -> 4.5 ms; MBB 192x64, u = 133: 179 -> 69 ms; causeway 128x128, u = 259: 397 -> 225 ms) and
# still at 192x192 (u = 387, 0.6-1.3 s against 1.2 s), where the band array is already 230 MB;
# 256x256 (u = 515, 540 MB) is left to SuperLU.
BAND_LIMIT = 300


class BandedCholesky:
    """K = U^T U in LAPACK's upper band storage, of K renumbered by `order`; `solve` as SuperLU's."""

    def __init__(self, factor: np.ndarray, order: np.ndarray):
        self.factor, self.order = factor, order

    def solve(self, b: np.ndarray) -> np.ndarray:
        x = np.empty(self.order.size)
        x[self.order] = scipy.linalg.cho_solve_banded((self.factor, False), b[self.order],
                                                      overwrite_b=True, check_finite=False)
        return x


def factor(asm: Assembly, young: np.ndarray, problem: Problem):
    """A factorisation of K_ff with a `solve(b)` method: the banded Cholesky when the band is
    narrow enough, else (or when Cholesky finds K not positive definite, or a modulus is not
    finite) SuperLU's LU, which raises the ValueError of a singular K."""
    order, u = asm.band()[:2]
    if u <= BAND_LIMIT and np.all(np.isfinite(young)):
        try:
            factor = scipy.linalg.cholesky_banded(asm.band_matrix(young), lower=False,
                                                  overwrite_ab=True, check_finite=False)
            return BandedCholesky(factor, order)
        except np.linalg.LinAlgError:
            pass   # not positive definite in floating point: SuperLU decides (and reports) below
    try:
        return scipy.sparse.linalg.splu(asm.matrix(young), permc_spec="MMD_AT_PLUS_A",
                                        diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    except RuntimeError as err:  # "Factor is exactly singular"
        raise ValueError(f"stiffness matrix of problem {problem.name!r} is singular: the supports "
                         f"(fixed_dofs) do not prevent rigid motion ({err})") from err


def solve(young_flat: np.ndarray, problem: Problem):
    """Solve K(E) u = f on the free dofs. Returns (u (n_dofs,), factorisation with .solve(b))."""
    asm = assembly(problem)
    f = problem.forces[asm.free]
    lu = factor(asm, young_flat, problem)
    u = np.zeros(problem.n_dofs)
    u[asm.free] = u_free = lu.solve(f)
    finite = np.all(np.isfinite(u_free))
    residual = np.linalg.norm(asm.apply(young_flat, u)[asm.free] - f) if finite else np.inf
    # With E_min = 1e-9 a nearly void design (which line searches do try) has a condition
    # number near 1e9-1e10, so round-off alone leaves relative residuals of ~1e-5; a truly
    # singular K leaves ~1 or non-finite values. 1e-3 tells the two apart.
    if not finite or residual > 1e-3 * max(np.linalg.norm(f), 1e-30):
        raise ValueError(f"solve for problem {problem.name!r} failed (relative residual "
                         f"{residual / max(np.linalg.norm(f), 1e-30):.1e}): K is singular or too "
                         f"ill-conditioned; check fixed_dofs and that densities are finite")
    return u, lu
