"""The PC-ODE that 06_piecewise_node builds in its cells, tested where it lives (tests/nbimport.py).

The two graded exercises (realised segment lengths under eps, the jump rollout) must pass with the
reference solution, and their check cells must fail on plausible wrong answers: off-by-one lengths,
the tolerance compared with the sum / max / RMS instead of the mean, counting non-leading frames,
no minimum length of 1; jumps floored or ceiled instead of rounded, stepping every frame, ticking on
the truth, not counting the first segment. The model's latent moves linearly
(eq. 1); one jumpy teacher-forcing step runs and trains the delta-t head toward realised lengths;
the Explore function runs headless and rejects a bad eps.
"""
import numpy as np
import pytest
import torch

from tests.nbimport import definitions, run_check

NB = "06_piecewise_node"
EXTRA = dict(SEED=0, EPS=3e-3, BURN_IN=4, LR=1e-3, HEAD_LR=0.1, BATCH=16, MAX_SEGMENT=16, device="cpu")


@pytest.fixture(scope="module")
def ns():
    return definitions(NB, extra=EXTRA)


# ------------------------------------------------------------ exercise 1: realised_lengths
def test_realised_lengths_check_passes_with_the_reference(ns):
    run_check(NB, "06_realised_lengths_check", ns)


def _lengths(reduce="mean", leading=True, plus_one=False, at_least_one=True):
    def realised_lengths(sq_err, eps):
        err = {"mean": sq_err.mean(-1), "sum": sq_err.sum(-1), "max": sq_err.amax(-1),
               "rms": sq_err.mean(-1).sqrt()}[reduce]
        good = (err < eps).long()
        n = torch.cumprod(good, 0).sum(0) if leading else good.sum(0)
        n = n + 1 if plus_one else n
        return n.clamp(min=1) if at_least_one else n
    return realised_lengths


@pytest.mark.parametrize("wrong", [dict(reduce="sum"), dict(reduce="max"), dict(reduce="rms"), dict(leading=False),
                                   dict(plus_one=True), dict(at_least_one=False)])
def test_realised_lengths_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "06_realised_lengths_check", ns, overrides={"realised_lengths": _lengths(**wrong)})


# ------------------------------------------------------------ exercise 2: jump_rollout
def test_jump_rollout_check_passes_with_the_reference(ns):
    run_check(NB, "06_jump_rollout_check", ns)


def _rollout(rounding="round", every_frame=False, truth=False, count_first=True):
    @torch.no_grad()
    def jump_rollout(model, x, burn_in=4, jumpy=True):
        T, B, D = x.shape
        h = x.new_zeros(B, model.rnn)
        for t in range(burn_in):
            h = model.tick(h, x.new_full((B,), float(t > 0)), x[t])
        one = x.new_ones(B)

        def next_jump(h):
            j = getattr(model.jump(h), rounding)().clamp(min=1)
            return j if (jumpy and not every_frame) else one
        start, x_tick, jump = x.new_full((B,), float(burn_in - 1)), x[burn_in - 1], next_jump(h)
        preds, ticks = list(x[:burn_in]), one.clone() if count_first else 0 * one
        for j in range(burn_in, T):
            tau = j - start
            p = model.predict(h, x_tick, tau)
            preds.append(p)
            if j < T - 1:
                tick = tau >= jump
                seen = x[j] if truth else p
                h_new = model.tick(h, tau, seen)
                h, x_tick = torch.where(tick[:, None], h_new, h), torch.where(tick[:, None], seen, x_tick)
                start, jump = torch.where(tick, float(j), start), torch.where(tick, next_jump(h_new), jump)
                ticks = ticks + tick.float()
        return torch.stack(preds), ticks
    return jump_rollout


def test_the_wrong_rollout_helper_is_right_when_nothing_is_wrong(ns):
    run_check(NB, "06_jump_rollout_check", ns, overrides={"jump_rollout": _rollout()})


@pytest.mark.parametrize("wrong", [dict(rounding="floor"), dict(rounding="ceil"), dict(every_frame=True), dict(truth=True), dict(count_first=False)])
def test_jump_rollout_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "06_jump_rollout_check", ns, overrides={"jump_rollout": _rollout(**wrong)})


# ------------------------------------------------------------ the model and training
def test_latent_moves_linearly_between_ticks(ns):
    torch.manual_seed(0)
    model = ns["PCODE"](2, 16, 8)
    h = torch.randn(3, 8)
    a = [model.advance(h, torch.full((3,), t)) for t in (0.0, 1.0, 2.5)]
    assert torch.allclose(a[0], h)
    assert torch.allclose(a[2] - a[0], 2.5 * (a[1] - a[0]), atol=1e-6)        # eq. (1): linear in tau
    assert torch.allclose(a[1][:, 4:], h[:, 4:])                                # the velocity half is constant
    tau = torch.arange(1, 5.0)[:, None].expand(4, 3)
    assert model.change(h, tau).shape == (4, 3, 2)                              # a whole segment in one call
    with pytest.raises(ValueError, match="rnn must be even"):
        ns["PCODE"](2, 16, 7)


def test_training_step_runs_and_the_gru_baseline_never_jumps(ns):
    torch.manual_seed(0)
    x = torch.as_tensor(np.linspace(0, 1, 21)[:, None, None] * np.ones((1, 8, 2)), dtype=torch.float32)
    model = ns["PCODE"](2, 16, 8)
    loss, mse, mean_dt = ns["train_step"](model, x, eps=3e-3, jumpy=False)
    assert mean_dt == 1.0 and np.isfinite(mse)
    loss.backward()
    assert model.dt_head.weight.grad is not None
    _, _, mean_dt = ns["train_step"](model, x, eps=1e9, jumpy=True)               # everything within tolerance
    assert mean_dt == 17.0                                                      # one segment after the burn-in


def test_evaluate_counts_every_frame_for_the_gru(ns):
    torch.manual_seed(0)
    model = ns["PCODE"](2, 16, 8)
    x = torch.rand(21, 5, 2)
    e = ns["evaluate"](model, x, jumpy=False)
    assert e["ticks"] == 17 and e["horizon"] == 17 and e["pred"].shape == x.shape


def test_explore_runs_headless_and_rejects_bad_eps(ns):
    from course import piecewise_data
    data = [torch.as_tensor(a, dtype=torch.float32) for a in piecewise_data.split(piecewise_data.lines(40))]
    ns["splits"] = {"Lines": data}
    out = ns["explore"](eps=3e-3, width=16, steps=2, live=False)
    assert set(out) == {"mse", "ticks", "mean_dt"} and 1 <= out["ticks"] <= 17
    with pytest.raises(ValueError, match="eps must be"):
        ns["explore"](eps=0.0, steps=1, live=False)
