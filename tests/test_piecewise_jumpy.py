"""course.piecewise_jumpy: notebook 06's PC-ODE frames of jumpy teacher forcing as one autograd node give the
student's (solution's) jumpy_frame loop's ticks, states, starts and x_ticks bit for bit, and every gradient to float
rounding (float64 1e-12, float32 1e-5); train_step takes it only for a PCODE with a jumpy_frame that passes the probe;
wrong jumpy_frames fail the probe; bad inputs are refused."""
import types

import pytest
import torch

from course import piecewise_jumpy, piecewise_walk
from tests.nbimport import definitions
from tests.test_notebook_06_piecewise_node import _frame
from tests.test_piecewise_walk import spied_step


@pytest.fixture(scope="module")
def ns():
    return definitions("06_piecewise_node", extra=dict(BATCH=16, width=16))


def _loop(ns, model, x, E, eps, burn_in, max_segment):
    # train_step's frames as the notebook runs them with the student's jumpy_frame
    B = x.shape[1]
    h, start, x_tick, e, out = x.new_zeros(B, model.rnn), x.new_zeros(B), x[0], E.unbind(0), []
    for t in range(x.shape[0] - 1):
        tick, h, start, x_tick = ns["jumpy_frame"](model, h, start, x_tick, x, e, t, eps, True, burn_in, max_segment)
        out.append((h, start, x_tick, tick))
    return [torch.stack(v) for v in zip(*out)]


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("burn_in,max_segment,eps", [(4, 16, 3e-3), (0, None, 0.05), (2, 3, 1.0)])
def test_jumpy_walk_is_the_jumpy_frame_loop(ns, dtype, tol, burn_in, max_segment, eps):
    torch.manual_seed(burn_in)
    model = ns["PCODE"](3, 16, 12).to(dtype)
    x = 0.1 * torch.randn(15, 7, 3, dtype=dtype)
    w = torch.randn(14, 7, 12, dtype=dtype)
    out = []
    for fast in (True, False):
        model.zero_grad()
        E = model.inputs(x[:-1])
        if fast:
            got = piecewise_jumpy.jumpy_walk(x, E, model.core.weight_hh, model.core.bias_hh, model.decoder, model.c,
                                             eps, burn_in, max_segment)
        else:
            got = _loop(ns, model, x, E, eps, burn_in, max_segment)
        (got[0] * w).sum().backward()
        out.append((got, [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    (values, grads), (want, want_grads) = out
    assert all(torch.equal(a, b) for a, b in zip(values, want))
    assert 0 < int(want[3].sum()) < want[3].numel() or burn_in == 4          # some frames keep their segment
    assert len(grads) == len(want_grads) == 12
    for a, b in zip(grads, want_grads):
        assert (a - b).abs().max() <= tol * b.abs().max()


def test_the_probe_takes_the_solution_and_refuses_wrong_frames(ns):
    assert piecewise_jumpy.follows_jumpy_frame(ns["jumpy_frame"])
    assert piecewise_jumpy.follows_jumpy_frame(_frame())
    for wrong in (dict(reduce="sum"), dict(reduce="max"), dict(reduce="rms"), dict(tau_shift=0), dict(advance=False),
                  dict(future=True), dict(new_start=1), dict(burn=False), dict(cap=False)):
        assert not piecewise_jumpy.follows_jumpy_frame(_frame(**wrong)), wrong


def test_train_step_walks_jumpy_frames_in_one_node_only_for_pcode_and_the_solution(ns):
    src = ns["train_step"]
    step, calls = spied_step(ns, piecewise_jumpy, "jumpy_walk")
    x = torch.rand(12, 4, 2)
    for label, jumpy, walks in (("PCODE", True, True), ("PCODE", False, False), ("ODERNN", True, False)):
        calls.clear()
        step(ns[label](2, 16, 8), x, jumpy=jumpy)
        assert bool(calls) == walks, (label, jumpy)

    class Other(ns["PCODE"]):                                  # a prediction of its own: frame by frame
        def predict(self, h, x_tick, tau):
            return super().predict(h, x_tick, tau) * 0.5
    calls.clear()
    step(Other(2, 16, 8), x)
    wrong = types.FunctionType(step.__code__, dict(step.__globals__, jumpy_frame=_frame(reduce="sum")), "train_step",
                               src.__defaults__)
    wrong(ns["PCODE"](2, 16, 8), x)
    assert not calls
    torch.manual_seed(0)                                       # the loss and segment lengths: the loop's, bit for bit
    model, xs = ns["PCODE"](2, 16, 8), 0.1 * torch.rand(12, 4, 2)
    slow = types.FunctionType(src.__code__, dict(ns, piecewise_jumpy=types.SimpleNamespace(
        follows_jumpy_frame=lambda fn: False)), "train_step", src.__defaults__)
    fast_out, slow_out = step(model, xs, eps=1e-2, max_segment=5), slow(model, xs, eps=1e-2, max_segment=5)
    assert torch.equal(fast_out[0], slow_out[0]) and fast_out[1:] == slow_out[1:]


def test_jumpy_walk_refuses_bad_inputs(ns):
    model = ns["PCODE"](2, 16, 8)
    w, b, dec = model.core.weight_hh, model.core.bias_hh, model.decoder
    x = torch.zeros(6, 3, 2)
    with pytest.raises(ValueError, match="gates"):
        piecewise_jumpy.jumpy_walk(x, torch.zeros(6, 3, 24), w, b, dec, 0.2, 3e-3, 4, None)
    with pytest.raises(ValueError, match="ResMLP"):
        piecewise_jumpy.jumpy_walk(x, torch.zeros(5, 3, 24), w, b, torch.nn.Linear(8, 2), 0.2, 3e-3, 4, None)
    with pytest.raises(ValueError, match="ResMLP"):
        piecewise_jumpy.jumpy_walk(torch.zeros(6, 3, 5), torch.zeros(5, 3, 24), w, b, dec, 0.2, 3e-3, 4, None)
    assert piecewise_walk.gru_update is piecewise_jumpy.gru_update
