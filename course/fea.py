"""Finite elements for structural optimization: SIMP, displacements and compliance with their
adjoint gradients, and the cone filter, as torch functions.

07_topopt_180 builds this pipeline from scratch in its cells (a test proves the two agree on
the MBB beam); this module is the fast shared version 08_neural_reparam runs (and 07 uses for
its large problems). Everything a student differentiates is a torch function in float64; the
linear algebra underneath (the Q4 element, the assembly, the banded Cholesky solve) lives in
`course.fea_solver`, and the element and assembly are re-exported here. Problems (supports, loads, grids) live in `course.fea_problems`; the OC and MMA
drivers in `course.fea_optimizers`. Density filters: the cone (hat) filter of the 88-line code
and Hoyer et al. 2019 (08_neural_reparam) is `cone_filter` here; the Gaussian blur of the
180-line tutorial (07_topopt_180) is the course-wide `course.blur.gaussian_blur`. Both are
linear, so their gradient is their transpose; autograd handles it.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from . import validate
from .fea_problems import Problem
from .fea_solver import KE, element_dofs, element_stiffness, stiffness_matrix   # re-exported: the taught API
from .fea_solver import assembly as _assembly, solve as _solve

__all__ = ["KE", "element_stiffness", "element_dofs", "stiffness_matrix", "simp", "displacements",
           "compliance", "element_energies", "cone_filter"]


def _check_density(x, problem: Problem, name="x_phys") -> None:
    if not torch.is_tensor(x):
        raise ValueError(f"{name} must be a torch tensor, got {type(x).__name__}")
    if tuple(x.shape) != problem.shape:
        raise ValueError(f"{name} must have shape (nely, nelx)={problem.shape}, got {tuple(x.shape)}")


def _check_penalty(penal, e_min):
    validate.number("penal", penal, lo=1)
    validate.fraction("e_min", e_min)


def element_energies(u: np.ndarray, problem: Problem) -> np.ndarray:
    """u_e^T K0 u_e for every element, as a (nely, nelx) array (strain energy at E = 1)."""
    ue = np.asarray(u)[element_dofs(problem.nelx, problem.nely)]
    return _element_products(ue, ue).reshape(problem.nelx, problem.nely).T


def _element_products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a_e^T K0 b_e for every row e of the (nel, 8) arrays a and b: the bits of
    np.einsum("ei,ij,ej->e", a, KE, b), which sums (a_ei K0_ij) b_ej over i, then j, from 0.0;
    here as 64 passes over contiguous rows (2-3x faster from ~2,000 elements on)."""
    if a.shape[0] < 2048:
        return np.einsum("ei,ij,ej->e", a, KE, b)
    rows_a, rows_b = a.T.copy(), b.T.copy()
    total, term = np.zeros(a.shape[0]), np.empty(a.shape[0])
    for i in range(8):
        for j in range(8):
            np.multiply(rows_a[i], KE[i, j], out=term)
            term *= rows_b[j]
            total += term
    return total


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
        grad_e = -_element_products(lam[edof], ctx.u[edof])
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


def cone_filter(x, radius: float):
    """Cone (hat) density filter of the 88-line code and Hoyer et al. 2019 (used in 08):
    x~_e = sum_i w_ei x_i / sum_i w_ei with w_ei = max(0, radius - dist(e, i)).

    Args:
        x: (nely, nelx) tensor.
        radius: filter radius in elements, > 0 (radius <= 1 leaves x unchanged).
    Returns:
        (nely, nelx) tensor (differentiable; a convolution normalised at the borders).
    """
    validate.tensor_2d("x", x, "(nely, nelx)")
    validate.positive("radius", radius)
    if not x.is_contiguous():       # the cache below is keyed on contiguous grids
        return _cone_filter_uncached(x, radius)
    reach, kernel, weight_sums = _cone_constants(tuple(x.shape), radius, x.dtype, x.device)
    return torch.nn.functional.conv2d(x[None, None], kernel, padding=reach)[0, 0] / weight_sums


def _cone_kernel(radius, dtype, device):
    reach = math.ceil(radius) - 1
    offsets = torch.arange(-reach, reach + 1, dtype=dtype, device=device)
    dist = torch.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2)
    return reach, (radius - dist).clamp(min=0)[None, None]


def _cone_filter_uncached(x, radius):
    """The cone filter computed from scratch (the reference `cone_filter` equals, bit for bit)."""
    reach, kernel = _cone_kernel(radius, x.dtype, x.device)
    blur = lambda t: torch.nn.functional.conv2d(t[None, None], kernel, padding=reach)[0, 0]
    return blur(x) / blur(torch.ones_like(x))


@functools.lru_cache(maxsize=32)
def _cone_constants(shape, radius, dtype, device):
    """(reach, kernel, sum of the weights at each element) for one contiguous grid: constants an
    optimiser's bisection would otherwise rebuild at every volume evaluation. Read-only."""
    with torch.inference_mode(False), torch.no_grad():   # plain tensors, usable by autograd later
        reach, kernel = _cone_kernel(radius, dtype, device)
        ones = torch.ones(shape, dtype=dtype, device=device)
        return reach, kernel, torch.nn.functional.conv2d(ones[None, None], kernel, padding=reach)[0, 0]
