"""Notebook 11's own code, where it lives (tests/nbimport.py): the three graded exercises pass with
their reference solutions and their checks fail on plausible wrong answers (a mask normalised to sum 1
or missing the 2 in 2 sigma^2 or with row and column swapped; a perturbation by a constant fill, by the
frame's mean or with the mix reversed; a score on softmax-normalised outputs, without the 1/2 or
averaged); the batched saliency equals one pass per mask, is zero far from every object and keeps the
recurrent memory; the upsampling puts each score at its mask centre; the distance map; the Explore
panel's function."""
import numpy as np
import pytest
import torch

from course import a2c, blur, catch
from tests.nbimport import definitions, run_check

NB = "11_atari_saliency"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return a2c.ActorCritic().eval()


# ---------------------------------------------------------------- exercise 1: the mask
def test_mask_check_passes_with_the_reference_solution(ns):
    run_check(NB, "11_gaussian_mask_check", ns)


def _normalised_mask(center, sigma=5.0, size=80):
    m = _plain_mask(center, sigma, size)
    return m / m.sum()


def _plain_mask(center, sigma=5.0, size=80, two=2.0, swap=False):
    r = torch.arange(size, dtype=torch.float32)[:, None]
    c = torch.arange(size, dtype=torch.float32)[None, :]
    i, j = (center[1], center[0]) if swap else center
    return torch.exp(-((r - i) ** 2 + (c - j) ** 2) / (two * sigma ** 2))


@pytest.mark.parametrize("wrong", [
    _normalised_mask,                                                  # a probability, not a mixing weight
    lambda center, sigma=5.0, size=80: _plain_mask(center, sigma, size, two=1.0),   # exp(-d^2 / sigma^2)
    lambda center, sigma=5.0, size=80: _plain_mask(center, sigma, size, swap=True),  # (x, y) for (row, column)
    lambda center, sigma=5.0, size=80: _plain_mask(center, 5.0, size),                # sigma ignored
])
def test_mask_check_fails_on_wrong_masks(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "11_gaussian_mask_check", ns, overrides={"gaussian_mask": wrong})


# ---------------------------------------------------------------- exercise 2: the perturbed frame
def test_perturb_check_passes_with_the_reference_solution(ns):
    run_check(NB, "11_perturb_check", ns)


@pytest.mark.parametrize("wrong", [
    lambda frame, mask, sigma_a=3.0: frame * (1 - mask),                           # constant fill 0
    lambda frame, mask, sigma_a=3.0: frame * (1 - mask) + frame.mean() * mask,     # constant fill: the mean
    lambda frame, mask, sigma_a=3.0: frame * (1 - mask) + 0.5 * mask,              # constant fill: grey
    lambda frame, mask, sigma_a=3.0: frame * mask + blur.gaussian_blur(frame, sigma_a) * (1 - mask),  # mix reversed
    lambda frame, mask, sigma_a=3.0: frame * (1 - mask) + blur.gaussian_blur(frame, 1.0) * mask,     # sigma_A ignored
])
def test_perturb_check_fails_on_wrong_perturbations(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "11_perturb_check", ns, overrides={"perturb": wrong})


def test_perturb_check_fails_with_a_mask_not_of_peak_1(ns):
    with pytest.raises(AssertionError):
        run_check(NB, "11_perturb_check", ns, overrides={"gaussian_mask": _normalised_mask})


# ---------------------------------------------------------------- exercise 3: the score
def test_score_check_passes_with_the_reference_solution(ns):
    run_check(NB, "11_saliency_score_check", ns)


@pytest.mark.parametrize("wrong", [
    lambda out, out_p: 0.5 * ((out.softmax(-1) - out_p.softmax(-1)) ** 2).sum(-1),   # normalised outputs
    lambda out, out_p: ((out - out_p) ** 2).sum(-1),                                   # no 1/2
    lambda out, out_p: 0.5 * ((out - out_p) ** 2).mean(-1),                            # mean, not sum
    lambda out, out_p: 0.5 * (out - out_p).abs().sum(-1),                              # L1
])
def test_score_check_fails_on_wrong_scores(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "11_saliency_score_check", ns, overrides={"saliency_score": wrong})


# ---------------------------------------------------------------- the method
def _frame_and_memory(net, t=5, seed=1):
    r = a2c.rollout(net, steps=t + 1, seed=seed)
    return r, torch.as_tensor(r["frames"][t, 0, 0]), torch.as_tensor(r["hidden_in"][t, 0])


def test_grid_masks_and_upsampling_put_each_score_at_its_centre(ns):
    masks = ns["grid_masks"](5, 5.0)
    assert masks.shape == (256, 80, 80)
    assert float(masks[0, 2, 2]) == pytest.approx(1.0) and float(masks[17, 7, 7]) == pytest.approx(1.0)
    scores = torch.zeros(16, 16)
    scores[3, 11] = 1.0
    up = ns["upsample"](scores)
    assert up.shape == (80, 80)
    assert np.unravel_index(int(up.argmax()), (80, 80)) == (3 * 5 + 2, 11 * 5 + 2)


def test_batched_saliency_equals_one_pass_per_mask_and_is_zero_far_from_objects(ns, net):
    r, frame, hx = _frame_and_memory(net)
    actor, critic = ns["saliency_maps"](net, frame, hx)
    assert actor.shape == (80, 80) and critic.shape == (80, 80)
    masks = ns["grid_masks"](5, 5.0)
    with torch.no_grad():
        base_l, base_v, _ = net(frame[None, None], hx[None])
        for k in (0, 37, 130, 255):
            pl, pv, _ = net(ns["perturb"](frame, masks[k], 3.0)[None, None], hx[None])
            i, j = divmod(k, 16)
            want_a = 0.5 * float(((pl - base_l) ** 2).sum())
            assert float(actor[5 * i + 2, 5 * j + 2]) == pytest.approx(want_a, rel=1e-3, abs=1e-9)
            assert float(critic[5 * i + 2, 5 * j + 2]) == pytest.approx(0.5 * float((pv - base_v) ** 2), rel=1e-3, abs=1e-9)
    dist = ns["object_distance"](r["ball"][5, 0], r["paddle"][5, 0])
    far = dist > 40
    assert far.any() and float(actor.numpy()[far].max()) < 1e-6 * max(float(actor.max()), 1e-12) + 1e-12


def test_saliency_uses_the_memory_of_the_unperturbed_rollout(ns, net):
    _, frame, hx = _frame_and_memory(net)
    with_memory, _ = ns["saliency_maps"](net, frame, hx)
    without, _ = ns["saliency_maps"](net, frame, torch.zeros_like(hx))
    assert not torch.allclose(with_memory, without)


def test_jacobian_map_is_the_gradient_of_the_greedy_logit(ns, net):
    _, frame, hx = _frame_and_memory(net)
    jac = ns["jacobian_map"](net, frame, hx)
    assert jac.shape == (80, 80) and float(jac.min()) >= 0
    x = frame.clone()
    with torch.no_grad():
        logits, _, _ = net(x[None, None], hx[None])
        a = int(logits.argmax())
        eps = 1e-2
        x[40, 40] += eps
        moved = (net(x[None, None], hx[None])[0][0, a] - logits[0, a]) / eps
    assert abs(float(moved)) == pytest.approx(float(jac[40, 40]), rel=0.05, abs=1e-5)


def test_object_distance_and_overlay(ns):
    d = ns["object_distance"]((10, 20), 30)          # ball at x 10, y 20; paddle from x 30
    assert d[20, 10] == 0 and d[23, 13] == 0 and d[79, 45] == 0
    assert d[20, 17] == pytest.approx(4.0)            # 4 px right of the ball's last column (13)
    assert d[70, 30] == pytest.approx(6.0)            # 6 rows above the paddle (row 76)
    rgb = ns["overlay"](np.zeros((80, 80)), actor=np.eye(80), critic=None)
    assert rgb.shape == (80, 80, 3) and rgb[5, 5, 2] == 1.0 and rgb[5, 5, 0] == 0.0


def test_explore_returns_the_peak_distance(ns, net):
    r = a2c.rollout(net, steps=4, seed=2)
    d = ns["explore"](frame=2, sigma=4.0, which="critic", model=net, record=r, show=False)
    assert isinstance(d, float) and 0.0 <= d <= 120.0


def test_hint_rows_are_the_catch_hint_rows():
    assert catch.HINT_ROWS == slice(0, 4) and catch.BALL_TOP >= 8
