"""One Gaussian blur for the course, written as matrices so autograd goes through it.

A blur is linear, so along each axis it is a matrix B, and a 2-D blur of a (rows, cols)
field f is `B_rows @ f @ B_cols.T`: exact gradients on any device, and B is symmetric, so
the blur is its own adjoint. It matches `scipy.ndimage.gaussian_filter(f, sigma,
mode='reflect')` to round-off, edges included. Used as the density filter of
07_topopt_180 / 08_neural_reparam and as the obstacle blur of 09_wings' wind tunnel.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy import ndimage

from . import validate


@lru_cache(maxsize=64)
def _cached_matrix(n: int, sigma: float, truncate: float, device: str, dtype: torch.dtype) -> torch.Tensor:
    # Blurring the identity column by column gives the matrix of the (linear) filter.
    matrix = ndimage.gaussian_filter1d(np.eye(n), sigma, axis=0, mode="reflect", truncate=truncate)
    return torch.tensor(matrix, dtype=dtype, device=device)


def blur_matrix(n: int, sigma: float = 1.0, truncate: float = 4.0, device=None,
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The (n, n) matrix B of SciPy's 1-D reflect-mode Gaussian blur: B @ x blurs x.

    Args:
        n: length of the axis (>= 1).
        sigma: standard deviation in cells (> 0).
        truncate: the kernel stops at truncate * sigma cells (SciPy's default 4: 9 taps at sigma 1).
        device, dtype: of the returned tensor.
    Returns:
        B, shape (n, n), rows summing to 1, symmetric; cached (a simulation blurs thousands
        of times): treat it as read-only.
    """
    validate.positive_int("n", n)
    validate.positive("sigma", sigma)
    validate.positive("truncate", truncate)
    device = str(torch.device(device)) if device is not None else "cpu"
    return _cached_matrix(int(n), float(sigma), float(truncate), device, dtype)


def gaussian_blur(x: torch.Tensor, sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """2-D Gaussian blur of a (rows, cols) tensor: B_rows @ x @ B_cols^T (sigma 0: x itself).

    Args:
        x: (rows, cols) tensor, any float dtype and device.
        sigma: standard deviation in cells, >= 0.
        truncate: as in `blur_matrix`.
    Returns:
        (rows, cols) tensor, differentiable with respect to x.
    """
    validate.tensor_2d("x", x, "(rows, cols)")
    if validate.number("sigma", sigma, lo=0) == 0:
        return x
    rows = blur_matrix(x.shape[0], sigma, truncate, device=x.device, dtype=x.dtype)
    cols = blur_matrix(x.shape[1], sigma, truncate, device=x.device, dtype=x.dtype)
    return rows @ x @ cols.T
