"""The PC-ODE that 06_piecewise_node builds in its cells, tested where it lives (tests/nbimport.py).

The two graded exercises (one frame of jumpy teacher forcing, the jump rollout) must pass with the
reference solution, and their check cells must fail on plausible wrong answers: the tolerance compared
with the sum / max / RMS instead of the mean, the old segment one frame short, a tick that does not move
the latent along its segment, ticking on the future frame, a tick that starts its segment at t + 1 (tau = 0),
jumping in the burn-in, no cap, jumpy=False ignored; jumps floored or ceiled instead of rounded, no clamp, stepping every
frame, ticking on the truth, a rollout that never moves the latent, the first segment not marked. The rest
of the notebook runs on the student's functions: a wrong one changes what training and evaluation give.
The training step computes every frame's GRU inputs before the walk and decodes every frame's prediction after
it, one call each: it gives the loss, the gradients and the segment lengths of the earlier version that encoded
(nn.GRUCell) and decoded frame by frame inside the walk (the reference here).
The model's latent moves linearly (eq. 1); the ODE-RNN ticks every frame; the event measure and its rhythm
control; the shipped weights (class mode) still give the metric their FULL run recorded.
"""
import types

import numpy as np
import pytest
import torch

from tests.nbimport import definitions, importable, run_check

NB = "06_piecewise_node"
SMALL = dict(BATCH=16, width=16)     # test sizes; every other name comes from the notebook's parameters cell


@pytest.fixture(scope="module")
def ns():
    return definitions(NB, extra=SMALL)


# ------------------------------------------------------------ exercise 1: jumpy_frame
def _frame(reduce="mean", tau_shift=1, advance=True, future=False, new_start=0, burn=True, cap=True, honour_jumpy=True):
    def jumpy_frame(model, h, start, x_tick, x, e, t, eps=3e-3, jumpy=True, burn_in=4, max_segment=None):
        seen, read = (x[t + 1], e[t + 1]) if future else (x[t], e[t])
        if (jumpy or not honour_jumpy) and (t >= burn_in or not burn):
            tau = t + tau_shift - start
            with torch.no_grad():
                sq = (model.predict(h, x_tick, tau) - x[t + 1]) ** 2
            err = {"mean": sq.mean(-1), "sum": sq.sum(-1), "max": sq.amax(-1), "rms": sq.mean(-1).sqrt()}[reduce]
            keep = err < eps
            if max_segment and cap:
                keep = keep & (tau <= max_segment)
        else:
            keep = torch.zeros(x.shape[1], dtype=torch.bool)
        tick = ~keep
        h_new = model.read(h, (t - start) if advance else 0 * start, read)
        return (tick, torch.where(tick[:, None], h_new, h), torch.where(tick, float(t + new_start), start),
                torch.where(tick[:, None], seen, x_tick))
    return jumpy_frame


def test_jumpy_frame_check_passes_with_the_reference(ns):
    run_check(NB, "06_jumpy_frame_check", ns)


def test_the_wrong_frame_helper_is_right_when_nothing_is_wrong(ns):
    run_check(NB, "06_jumpy_frame_check", ns, overrides={"jumpy_frame": _frame()})


@pytest.mark.parametrize("wrong", [dict(reduce="sum"), dict(reduce="max"), dict(reduce="rms"), dict(tau_shift=0),
                                   dict(advance=False), dict(future=True), dict(new_start=1), dict(burn=False),
                                   dict(cap=False), dict(honour_jumpy=False)])
def test_jumpy_frame_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "06_jumpy_frame_check", ns, overrides={"jumpy_frame": _frame(**wrong)})


# ------------------------------------------------------------ exercise 2: jump_rollout
def _rollout(rounding="round", clamp=True, every_frame=False, truth=False, mark_first=True, advance=True):
    @torch.no_grad()
    def jump_rollout(model, x, burn_in=4, jumpy=True):
        T, B, D = x.shape
        h = x.new_zeros(B, model.rnn)
        for t in range(burn_in):
            h = model.tick(h, x.new_full((B,), float(t > 0)), x[t])
        one = x.new_ones(B)

        def next_jump(h):
            j = getattr(model.jump(h), rounding)()
            j = j.clamp(min=1) if clamp else j
            return j if (jumpy and not every_frame) else one
        start, x_tick, jump = x.new_full((B,), float(burn_in - 1)), x[burn_in - 1], next_jump(h)
        preds = list(x[:burn_in])
        ticked = torch.zeros(T, B, dtype=torch.bool)
        ticked[burn_in - 1] = mark_first
        for j in range(burn_in, T):
            tau = j - start
            p = model.predict(h, x_tick, tau)
            preds.append(p)
            if j < T - 1:
                tick = tau == jump
                seen = x[j] if truth else p
                h_new = model.tick(h, tau if advance else 0 * tau, seen)
                h, x_tick = torch.where(tick[:, None], h_new, h), torch.where(tick[:, None], seen, x_tick)
                start, jump = torch.where(tick, float(j), start), torch.where(tick, next_jump(h_new), jump)
                ticked[j] = tick
        return torch.stack(preds), ticked
    return jump_rollout


def test_jump_rollout_check_passes_with_the_reference(ns):
    run_check(NB, "06_jump_rollout_check", ns)


def test_the_wrong_rollout_helper_is_right_when_nothing_is_wrong(ns):
    run_check(NB, "06_jump_rollout_check", ns, overrides={"jump_rollout": _rollout()})


@pytest.mark.parametrize("wrong", [dict(rounding="floor"), dict(rounding="ceil"), dict(clamp=False), dict(every_frame=True),
                                   dict(truth=True), dict(mark_first=False), dict(advance=False)])
def test_jump_rollout_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "06_jump_rollout_check", ns, overrides={"jump_rollout": _rollout(**wrong)})


# ------------------------------------------------------------ the rest runs on the student's functions
def _lines(n=16):
    from course import piecewise_data
    return torch.as_tensor(piecewise_data.lines(n), dtype=torch.float32)


def _rebound(fn, ns, **overrides):
    # the notebook's function fn, its global names looked up in ns with overrides (a student's other answer)
    return types.FunctionType(fn.__code__, dict(ns, **overrides), fn.__name__, fn.__defaults__)


def test_training_runs_on_the_students_jumpy_frame(ns):
    torch.manual_seed(0)
    model, x = ns["PCODE"](2, 16, 8), _lines()
    wrong_step = _rebound(ns["train_step"], ns, jumpy_frame=_frame(reduce="sum"))
    pairs = [(ns["train_step"](model, x, eps=eps)[2], wrong_step(model, x, eps=eps)[2]) for eps in (0.01, 0.1, 1.0)]
    assert any(right != wrong for right, wrong in pairs), pairs   # the sum over dims breaks segments the mean keeps


def test_evaluation_runs_on_the_students_rollout(ns):
    torch.manual_seed(0)
    model, x = ns["PCODE"](2, 16, 8), _lines(8)
    with torch.no_grad():
        model.dt_head.bias.fill_(1.7)             # jumps of 2.7 frames: round 3, floor 2
        model.dt_head.weight.zero_()
    right = ns["evaluate"](model, x)["ticks"]
    wrong = _rebound(ns["evaluate"], ns, jump_rollout=_rollout(rounding="floor"))(model, x)["ticks"]
    assert right == 6.0 and wrong == 9.0        # ceil(17 / 3), ceil(17 / 2)


# ------------------------------------------------------------ the training step: one encoder and one decoder call, same numbers
def _per_frame_step(ns, model, x, eps, jumpy=True, burn_in=4, max_segment=None):
    # the earlier train_step: each tick through nn.GRUCell, each frame decoded inside the walk (old and new segment
    # in one two-row call, with gradients)
    F = torch.nn.functional
    T, B, D = x.shape
    h, start, x_tick, one = x.new_zeros(B, model.rnn), x.new_zeros(B), x[0], x.new_ones(B)
    preds, hs, ticks = [], [], []
    for t in range(T - 1):
        h_new = model.core(model.encoder(x[t]), model.advance(h, t - start))
        if jumpy and t >= burn_in:
            tau = t + 1 - start
            p_old, p_new = model.predict(torch.stack([h, h_new]), torch.stack([x_tick, x[t]]), torch.stack([tau, one]))
            keep = ((p_old.detach() - x[t + 1]) ** 2).mean(-1) < eps
            if max_segment:
                keep = keep & (tau <= max_segment)
        else:
            p_old = p_new = model.predict(h_new, x[t], one)
            keep = torch.zeros(B, dtype=torch.bool)
        tick = ~keep
        preds.append(torch.where(keep[:, None], p_old, p_new)), ticks.append(tick)
        h, start = torch.where(tick[:, None], h_new, h), torch.where(tick, float(t), start)
        x_tick = torch.where(tick[:, None], x[t], x_tick)
        hs.append(h)
    H, M = torch.stack(hs), torch.stack(ticks)
    L = ns["segment_lengths"](M)
    M[:burn_in - 1] = False
    closed = M & (L + torch.arange(T - 1)[:, None] < T - 1)
    gap = model.jump(H) - L
    dt_loss = torch.where(closed, gap ** 2, F.relu(-gap) ** 2)[M].mean()
    zero = (model.change(H, H.new_zeros(H.shape[:2])) ** 2).mean()
    mse = ((torch.stack(preds) - x[1:]) ** 2).mean()
    return mse + 0.1 * zero + 1e-5 * dt_loss, mse.item(), L[M].mean().item()


def _loss_and_grads(step, model, *args, **kw):
    model.zero_grad()
    loss, mse, mean_l = step(model, *args, **kw)
    loss.backward()
    return loss.item(), mse, mean_l, [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("kind", ["jumpy", "capped", "gru"])
def test_one_call_coding_gives_the_per_frame_loss_and_gradients(ns, kind):
    from course import piecewise_data
    torch.manual_seed(0)
    model = ns["PCODE"](2, 32, 16)
    x = torch.as_tensor(piecewise_data.lines(64, seed=1), dtype=torch.float32)
    kw = {"jumpy": dict(eps=0.1), "capped": dict(eps=0.1, max_segment=3), "gru": dict(eps=0.1, jumpy=False)}[kind]
    new = _loss_and_grads(ns["train_step"], model, x, **kw)
    old = _loss_and_grads(lambda *a, **k: _per_frame_step(ns, *a, **k), model, x, **kw)
    if kind != "gru":
        assert 1.5 < new[2] < 17, new[2]                 # some segments extend, some tick: both branches are compared
    assert new[0] == pytest.approx(old[0], rel=1e-5) and new[1] == pytest.approx(old[1], rel=1e-5)
    assert new[2] == old[2]                               # the same ticks, so the same realised lengths
    for g_new, g_old in zip(new[3], old[3]):
        assert torch.allclose(g_new, g_old, rtol=1e-4, atol=1e-7), (g_new - g_old).abs().max()


# ------------------------------------------------------------ the model, training and the event measure
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
    x, t3 = torch.randn(3, 2), torch.full((3,), 2.0)
    assert torch.equal(model.read(h, t3, model.inputs(x)), model.tick(h, t3, x))   # tick = inputs, then read
    gru = model.core(model.encoder(x), model.advance(h, t3))                       # read is nn.GRUCell written out
    assert torch.allclose(model.tick(h, t3, x), gru, atol=1e-6)
    with pytest.raises(ValueError, match="rnn must be even"):
        ns["PCODE"](2, 16, 7)


def test_odernn_advances_with_rk4_and_ticks_every_frame(ns):
    torch.manual_seed(0)
    model = ns["ODERNN"](2, 16, 8)
    h = torch.randn(3, 8)
    assert torch.allclose(model.advance(h, torch.zeros(3)), h)
    with torch.no_grad():                                                        # f = 0: the PC-ODE's straight line
        for p in model.f.parameters():
            p.zero_()
    line = torch.cat([h[:, :4] + model.c * 2.0 * h[:, 4:], h[:, 4:]], -1)          # z + c tau zdot, zdot
    assert torch.allclose(model.advance(h, torch.full((3,), 2.0)), line, atol=1e-6)
    e = ns["evaluate"](model, torch.rand(21, 5, 2), jumpy=False)
    assert e["ticks"] == 17 and e["horizon"] == 17 and e["pred"].shape == (21, 5, 2)


def test_training_step_runs_and_the_gru_baseline_never_jumps(ns):
    torch.manual_seed(0)
    x = torch.as_tensor(np.linspace(0, 1, 21)[:, None, None] * np.ones((1, 8, 2)), dtype=torch.float32)
    model = ns["PCODE"](2, 16, 8)
    loss, mse, mean_dt = ns["train_step"](model, x, eps=3e-3, jumpy=False)
    assert mean_dt == 1.0 and np.isfinite(mse)
    loss.backward()
    assert model.dt_head.weight.grad is not None
    loss, _, mean_dt = ns["train_step"](model, x, eps=1e9, jumpy=True)           # everything within tolerance
    assert mean_dt == 17.0 and torch.isfinite(loss)                             # one (open) segment after the burn-in


def test_segment_lengths_count_frames_to_the_next_tick(ns):
    ticks = torch.tensor([[1, 1], [0, 1], [0, 0], [1, 0], [0, 0]], dtype=torch.bool)   # (T-1 = 5, B = 2)
    assert ns["segment_lengths"](ticks)[:, 0].tolist() == [3, 2, 1, 2, 1]
    assert ns["segment_lengths"](ticks)[[0, 1], 1].tolist() == [1, 4]


def test_event_shares_and_the_rhythm_control(ns):
    T = 20
    events = torch.zeros(T, 1, dtype=torch.bool)
    events[[8, 15], 0] = True
    ticked = torch.zeros(T, 1, dtype=torch.bool)
    ticked[[3, 9, 15], 0] = True                                                # frame 3: the forced start, ignored
    assert ns["event_shares"](ticked, events, first=3) == (1.0, 1.0)
    ticked[12, 0] = True
    assert ns["event_shares"](ticked, events, first=3) == (1.0, 2 / 3)
    control = ns["rhythm_like"](ticked, first=3)
    assert control[4:].sum() == 3 and control[:4].sum() == 0
    assert control[:, 0].nonzero()[:, 0].tolist() == [7, 11, 15]               # evenly spaced over frames 4..19


@pytest.fixture
def picklable(ns):
    """The notebook's functions findable by name, as course.sweep's worker processes need them (in the
    notebook they live in __main__; here in a module named after the namespace)."""
    with importable(ns):
        yield ns


def test_seeds_in_two_processes_equal_one_after_the_other(picklable):
    # FULL trains Billiards1D's three models at seeds 0-2 in worker processes: the cards must not depend on it
    from course import piecewise_data
    ns = picklable
    data = [torch.as_tensor(a, dtype=torch.float32) for a in piecewise_data.split(piecewise_data.lines(40))]
    ns["splits"] = {"Lines": data}
    labels = ("ODE-RNN", "PC-ODE", "GRU")
    serial = ns["fit_seeds"]("Lines", 2, (0, 1), labels=labels, workers=1)
    parallel = ns["fit_seeds"]("Lines", 2, (0, 1), labels=labels, workers=2)
    assert list(serial) == list(parallel) == [0, 1]
    for seed in (0, 1):
        assert set(serial[seed]) == set(labels)
        for label in labels:
            a, b = serial[seed][label], parallel[seed][label]
            assert a["eval"]["mse"] == b["eval"]["mse"] and a["eval"]["ticks"] == b["eval"]["ticks"]
            assert a["hist"]["mse"] == b["hist"]["mse"]
            for x, y in zip(a["model"].state_dict().values(), b["model"].state_dict().values()):
                assert torch.equal(x, y)
    assert serial[0]["PC-ODE"]["hist"]["mse"] != serial[1]["PC-ODE"]["hist"]["mse"]      # the seed matters
    one = ns["fit_models"]("Lines", 2, labels=("PC-ODE",))["PC-ODE"]                     # seed 0 (SEED), in-process
    assert one["eval"]["mse"] == serial[0]["PC-ODE"]["eval"]["mse"] and one["hist"]["mse"] == serial[0]["PC-ODE"]["hist"]["mse"]


def test_explore_runs_headless_and_rejects_bad_eps(ns):
    from course import piecewise_data
    data = [torch.as_tensor(a, dtype=torch.float32) for a in piecewise_data.split(piecewise_data.lines(40))]
    ns["splits"] = {"Lines": data}
    out = ns["explore"](eps=3e-3, width=16, steps=2, live=False)
    assert set(out) == {"mse", "ticks", "mean_dt"} and 1 <= out["ticks"] <= 17
    with pytest.raises(ValueError, match="eps must be"):
        ns["explore"](eps=0.0, steps=1, live=False)


# ------------------------------------------------------------ class mode: the shipped weights
@pytest.mark.parametrize("task,label,make", [("Billiards1D", "pcode", "billiards1d"), ("Ball", "pcode", "bouncing_ball")])
def test_shipped_weights_reproduce_their_recorded_metric(ns, task, label, make):
    from course import piecewise_data, weights
    name = f"06_{task.lower()}_{label}"
    info = weights.provenance(name)
    model = ns["PCODE"](1 if task == "Ball" else 4, info["settings"]["width"], info["settings"]["width"])
    weights.load_weights(model, name)
    test = torch.as_tensor(piecewise_data.split(getattr(piecewise_data, make)(2000, seed=0))[1], dtype=torch.float32)
    e = ns["evaluate"](model, test)
    assert e["mse"] == pytest.approx(info["cards"]["test_mse"], rel=1e-3)
    assert e["ticks"] == pytest.approx(info["cards"]["ticks"], rel=1e-3)
