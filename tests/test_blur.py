import numpy as np
import pytest
import scipy.ndimage
import torch

from course import blur


@pytest.mark.parametrize("sigma,shape", [(1.0, (25, 80)), (1.5, (7, 5)), (2.5, (64, 64))])
def test_matches_scipy_reflect_mode_to_round_off(sigma, shape):
    x = np.random.default_rng(0).random(shape)
    ours = blur.gaussian_blur(torch.tensor(x), sigma).numpy()
    np.testing.assert_allclose(ours, scipy.ndimage.gaussian_filter(x, sigma, mode="reflect"), atol=1e-14)


def test_matrix_is_symmetric_rows_sum_to_one_and_is_its_own_adjoint():
    b = blur.blur_matrix(30, 1.0).numpy()
    np.testing.assert_allclose(b, b.T, atol=1e-15)
    np.testing.assert_allclose(b.sum(axis=1), 1.0, atol=1e-12)
    x = torch.randn(12, 9, dtype=torch.float64, requires_grad=True)
    w = torch.randn(12, 9, dtype=torch.float64)
    (blur.gaussian_blur(x, 1.3) * w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), blur.gaussian_blur(w, 1.3).numpy(), atol=1e-13)


def test_sigma_zero_is_the_identity_and_dtype_follows_the_input():
    x = torch.rand(4, 6, dtype=torch.float32)
    assert blur.gaussian_blur(x, 0) is x
    assert blur.gaussian_blur(x, 1.0).dtype == torch.float32


@pytest.mark.parametrize("call,match", [
    (lambda: blur.gaussian_blur(torch.ones(3), 1.0), "2-D torch tensor"),
    (lambda: blur.gaussian_blur(np.ones((3, 3)), 1.0), "2-D torch tensor"),
    (lambda: blur.gaussian_blur(torch.ones(3, 3), -1), "sigma must be a number >= 0"),
    (lambda: blur.blur_matrix(0), "n must be an integer >= 1"),
    (lambda: blur.blur_matrix(5, 0), "sigma must be a number > 0"),
    (lambda: blur.blur_matrix(5, 1.0, truncate=float("inf")), "truncate"),
])
def test_bad_input_is_rejected_with_a_sentence(call, match):
    with pytest.raises(ValueError, match=match):
        call()
