"""course.fast_attention: the fused twin of 13_cursive's attention gives the reference's exact bits;
outputs_only (torch's fused kernel, no weights) its outputs to rounding."""
import math

import pytest
import torch

from course import fast_attention
from course.fast_attention import attention, outputs_only, pick, reference_attention


def _heads(x, H):
    B, T, C = x.shape
    return x.view(B, T, H, C // H).transpose(1, 2)


def _run(fn, x, ctx, causal, H, seed=5):
    """q, k, v as the notebook makes them (views of one projection), a loss through merged heads;
    returns outputs, weights and the gradients of both inputs."""
    B, T, _ = x.shape
    q, k, v = (_heads(t, H) for t in x.chunk(3, -1))
    if not causal:
        k, v = (_heads(t, H) for t in ctx.chunk(2, -1))
    y, w = fn(q, k, v, causal)
    out = y.transpose(1, 2).reshape(B, T, -1)
    g = torch.Generator().manual_seed(seed)
    x.grad = ctx.grad = None
    (out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum().backward()
    gc = ctx.grad if ctx.grad is not None else torch.zeros(1, dtype=x.dtype)
    return y.detach(), w.detach(), x.grad.clone(), gc.clone()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("d_h", [16, 12, 4])          # sqrt 4 and 2: q is scaled; sqrt 12: the scores are
def test_fast_attention_is_bit_identical_to_the_reference(dtype, causal, d_h):
    H, B, T, S = 4, 3, 41, 13
    g = torch.Generator().manual_seed(d_h)
    x = torch.randn(B, T, 3 * H * d_h, generator=g, dtype=dtype, requires_grad=True)
    ctx = torch.randn(B, S, 2 * H * d_h, generator=g, dtype=dtype, requires_grad=True)
    ref = _run(reference_attention, x, ctx, causal, H)
    got = _run(attention, x, ctx, causal, H)
    for name, a, b in zip(["outputs", "weights", "grad of q/k/v", "grad of the keys' source"], ref, got):
        assert torch.equal(a, b), f"{name} differ by up to {(a - b).abs().max():.3g}"


def test_fast_attention_at_the_notebook_s_full_size():
    """One 13_cursive FULL self-attention (batch 16, 4 heads, T 320, d_h 16), float32."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 320, 192, generator=g, requires_grad=True)
    ctx = torch.randn(16, 50, 128, generator=g, requires_grad=True)
    for causal in (True, False):
        for a, b in zip(_run(reference_attention, x, ctx, causal, 4), _run(attention, x, ctx, causal, 4)):
            assert torch.equal(a, b)


def test_a_causal_output_does_not_see_the_future():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 2, 7, 4, generator=g) for _ in range(3))
    later = v.clone()
    later[:, :, 4:] += 100.0
    assert torch.equal(attention(q, k, v, True)[0][:, :, :4], attention(q, k, later, True)[0][:, :, :4])
    w = attention(q, k, v, True)[1]
    assert torch.all(w.triu(1) == 0) and torch.allclose(w.sum(-1), torch.ones(2, 2, 7))


@pytest.mark.parametrize("fn", [attention, outputs_only])
def test_fast_attention_refuses_bad_shapes(fn):
    q = torch.zeros(2, 4, 5, 8)
    with pytest.raises(ValueError, match="4-D"):
        fn(q[0], q[0], q[0], True)
    with pytest.raises(ValueError, match="do not fit"):
        fn(q, torch.zeros(2, 4, 5, 6), torch.zeros(2, 4, 5, 6), False)
    with pytest.raises(ValueError, match="as many keys"):
        fn(q, torch.zeros(2, 4, 3, 8), torch.zeros(2, 4, 3, 8), True)


def test_pick_takes_the_twin_only_for_the_reference_s_bits():
    def copy_of_reference(q, k, v, causal):
        return reference_attention(q, k, v, causal)

    def no_scale(q, k, v, causal):
        scores = q @ k.transpose(-2, -1)
        if causal:
            scores = scores.masked_fill(~torch.ones(scores.shape[-2:], dtype=torch.bool).tril(), float("-inf"))
        w = scores.softmax(-1)
        return w @ v, w

    def broken(q, k, v, causal):
        raise RuntimeError("not written yet")

    assert pick(copy_of_reference) is attention
    assert pick(reference_attention) is attention
    assert pick(no_scale) is no_scale          # a wrong attention keeps training wrong
    assert pick(broken) is broken
    assert pick(no_scale) is no_scale          # cached, and still right
    with pytest.raises(TypeError):
        pick("attention")


def test_the_power_of_two_test():
    assert fast_attention._power_of_two(math.sqrt(16)) and fast_attention._power_of_two(0.5)
    assert not fast_attention._power_of_two(math.sqrt(12)) and not fast_attention._power_of_two(3.0)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("causal", [True, False])
def test_outputs_only_is_the_reference_to_rounding(dtype, tol, causal):
    """torch's fused kernel: the reference's outputs and gradients up to rounding, and no weights."""
    H, B, T, S, d_h = 4, 3, 41, 13, 16
    g = torch.Generator().manual_seed(7)
    x = torch.randn(B, T, 3 * H * d_h, generator=g, dtype=dtype, requires_grad=True)
    ctx = torch.randn(B, S, 2 * H * d_h, generator=g, dtype=dtype, requires_grad=True)
    ref = _run(reference_attention, x, ctx, causal, H)
    q, k, v = (_heads(t, H) for t in x.detach().chunk(3, -1))
    assert outputs_only(q, k, v, causal)[1] is None
    got = _run(lambda *a: (outputs_only(*a)[0], torch.zeros(1, dtype=dtype)), x, ctx, causal, H)
    for name, a, b in [("outputs", ref[0], got[0]), ("grad of q/k/v", ref[2], got[2]),
                       ("grad of the keys' source", ref[3], got[3])]:
        scale = a.abs().max()
        assert (a - b).abs().max() <= tol * scale, f"{name} differ by up to {(a - b).abs().max():.3g}"


def test_pick_without_weights_takes_the_fused_kernel_only_for_the_reference():
    def no_scale(q, k, v, causal):
        w = (q @ k.transpose(-2, -1)).softmax(-1)
        return w @ v, w

    assert pick(reference_attention, weights=False) is outputs_only
    assert pick(reference_attention, weights=True) is attention
    assert pick(no_scale, weights=False) is no_scale          # a wrong attention keeps training wrong
    with pytest.raises(ValueError, match="weights"):
        pick(reference_attention, weights="no")
