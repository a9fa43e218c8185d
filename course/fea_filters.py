"""Density filters for topology optimisation: each element's physical density is a local
average of the design variables, which keeps checkerboards and mesh-size details out.

Two filters are in use: the Gaussian blur of the 180-line tutorial (07_topopt_180), which is
the one course-wide blur `course.blur.gaussian_blur`, and the cone (hat) filter of the 88-line
code and Hoyer et al. 2019 (08_neural_reparam), here. Both are linear, so their gradient is
their transpose; autograd handles it.
"""
from __future__ import annotations

import math

import torch

from . import validate
__all__ = ["cone_filter"]


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
    validate.positive("radius", radius)
    reach = math.ceil(radius) - 1
    offsets = torch.arange(-reach, reach + 1, dtype=x.dtype, device=x.device)
    dist = torch.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2)
    kernel = (radius - dist).clamp(min=0)[None, None]
    blur = lambda t: torch.nn.functional.conv2d(t[None, None], kernel, padding=reach)[0, 0]
    return blur(x) / blur(torch.ones_like(x))
