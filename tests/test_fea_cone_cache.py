"""course.fea.cone_filter caches its kernel and the weight sums per grid (08's OC bisection calls it
about 40 times a step); the cached filter equals the formula it replaced bit for bit: values and
gradients, float64 and float32, cache hits and misses, non-contiguous inputs, inference mode."""
import math

import numpy as np
import pytest
import torch

from course import fea


def _reference(x, radius):
    """cone_filter as it was before the cache (course/fea.py at 03fd7e2), rebuilt at every call."""
    reach = math.ceil(radius) - 1
    offsets = torch.arange(-reach, reach + 1, dtype=x.dtype, device=x.device)
    dist = torch.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2)
    kernel = (radius - dist).clamp(min=0)[None, None]
    blur = lambda t: torch.nn.functional.conv2d(t[None, None], kernel, padding=reach)[0, 0]
    return blur(x) / blur(torch.ones_like(x))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape", [(1, 1), (5, 6), (20, 60), (64, 192), (3, 17)])
@pytest.mark.parametrize("radius", [1.0, 1.5, 2, 2.0, 3.5])
def test_cached_cone_filter_equals_the_reference_bit_for_bit(shape, radius, dtype):
    rng = np.random.default_rng(sum(shape))
    x = torch.tensor(rng.uniform(0, 1, shape), dtype=dtype, requires_grad=True)
    w = torch.tensor(rng.normal(size=shape), dtype=dtype)
    ref = _reference(x, radius)
    (ref_grad,) = torch.autograd.grad((w * ref).sum(), x)
    for _ in range(2):                                   # a cache miss, then a hit
        got = fea.cone_filter(x, radius)
        assert torch.equal(got, ref)
        (grad,) = torch.autograd.grad((w * got).sum(), x)
        assert torch.equal(grad, ref_grad)


def test_non_contiguous_inputs_and_inference_mode_give_the_reference():
    x = torch.rand(12, 7, dtype=torch.float64).t()        # (7, 12), not contiguous
    assert torch.equal(fea.cone_filter(x, 2.0), _reference(x, 2.0))
    inp = torch.rand(9, 13, dtype=torch.float64)
    with torch.inference_mode():                         # constants first built in inference mode ...
        y = fea.cone_filter(inp, 2.5)
    assert torch.equal(y, _reference(inp, 2.5))
    z = torch.rand(9, 13, dtype=torch.float64, requires_grad=True)
    out = fea.cone_filter(z, 2.5)                        # ... still serve autograd afterwards
    out.sum().backward()
    assert torch.equal(out, _reference(z, 2.5)) and torch.isfinite(z.grad).all()


def test_the_output_never_aliases_the_cached_constants():
    x = torch.ones(4, 5, dtype=torch.float64)
    first = fea.cone_filter(x, 2.0)
    first.mul_(0)                                        # a caller scribbling on its result
    np.testing.assert_allclose(fea.cone_filter(x, 2.0).numpy(), 1.0, atol=1e-15)


def test_bad_inputs_still_raise_before_the_cache():
    with pytest.raises(ValueError, match="radius"):
        fea.cone_filter(torch.ones(3, 3), -1.0)
    with pytest.raises(ValueError, match="2-D torch tensor"):
        fea.cone_filter(torch.ones(2, 3, 3), 2.0)
