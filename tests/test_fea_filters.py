"""Tests of course.fea_filters: the cone filter (the Gaussian one is course.blur, tested there)."""
import numpy as np
import pytest
import torch

from course import blur
from course import fea_filters as F

torch.set_num_threads(1)


def _design(seed=6):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.uniform(0.3, 1.0, (5, 6)), dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("filt, size", [(blur.gaussian_blur, 1.0), (blur.gaussian_blur, 2.5),
                                        (F.cone_filter, 2.0), (F.cone_filter, 3.5)])
def test_filters_preserve_constants_and_pass_gradcheck(filt, size):
    const = torch.full((7, 11), 0.37, dtype=torch.float64)
    np.testing.assert_allclose(filt(const, size).numpy(), 0.37, atol=1e-14)
    x = _design()
    assert torch.autograd.gradcheck(lambda t: filt(t, size), (x,))
    assert not torch.allclose(filt(x, size), x)  # it does smooth


def test_cone_filter_weights_match_the_88_line_definition():
    x = torch.zeros((5, 5), dtype=torch.float64)
    x[2, 2] = 1.0
    out = F.cone_filter(x, 1.5)
    # interior element: neighbours at distance 1 weigh 0.5, diagonals 1.5 - sqrt(2), centre 1.5
    total = 1.5 + 4 * 0.5 + 4 * (1.5 - np.sqrt(2))
    np.testing.assert_allclose(out[2, 2].item(), 1.5 / total)
    np.testing.assert_allclose(out[2, 3].item(), 0.5 / total)
    np.testing.assert_array_equal(F.cone_filter(x, 1.0).numpy(), x.numpy())   # radius 1: identity


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="radius"):
        F.cone_filter(torch.ones(3, 3), 0)
    with pytest.raises(ValueError, match="radius"):
        F.cone_filter(torch.ones(3, 3), float("nan"))
    with pytest.raises(ValueError, match="2-D torch tensor"):
        F.cone_filter(np.ones((3, 3)), 2.0)
