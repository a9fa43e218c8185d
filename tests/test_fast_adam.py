"""course.fast_adam: Adam's step and clip_grad_norm_ give torch's own bits (torch.equal), with less overhead."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course import fast_adam


class _Decoder(nn.Module):
    # 10_enigma_rnn's CipherLSTM in small: one-hot symbols -> LSTM -> bias-free read-out
    def __init__(self, hidden=16, symbols=7):
        super().__init__()
        self.symbols = symbols
        self.lstm = nn.LSTM(symbols, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, symbols, bias=False)

    def forward(self, x):
        return self.readout(self.lstm(F.one_hot(x, self.symbols).to(self.readout.weight.dtype))[0])


def _train(fast, steps=25, dtype=torch.float32, clip=1.0, groups=False, foreach=None, seed=0, **adam):
    # a 10-style training: Adam with warm-up and cosine (LambdaLR), clipping; `fast` uses course.fast_adam
    torch.manual_seed(seed)
    model = _Decoder().to(dtype)
    params = ([{"params": model.lstm.parameters()}, {"params": model.readout.parameters(), "lr": 3e-3}]
              if groups else model.parameters())
    opt = torch.optim.Adam(params, lr=1e-2, foreach=foreach, **adam)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 5) * (0.1 + 0.45 * (1 + np.cos(np.pi * min(s / steps, 1)))))
    gen = torch.Generator().manual_seed(seed + 1)
    norms = []
    for _ in range(steps):
        x = torch.randint(0, 7, (8, 9), generator=gen)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, 7), x.roll(1, dims=1).reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            clipper = fast_adam.clip_grad_norm_ if fast else torch.nn.utils.clip_grad_norm_
            norms.append(clipper(model.parameters(), clip))
        fast_adam.step(opt) if fast else opt.step()
        sched.step()
    return model, opt, norms


def _same(a, b):
    (ma, oa, na), (mb, ob, nb) = a, b
    assert all(torch.equal(p, q) for p, q in zip(ma.parameters(), mb.parameters()))
    for p, q in zip(ma.parameters(), mb.parameters()):
        sa, sb = oa.state[p], ob.state[q]
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert len(na) == len(nb) and all(torch.equal(u, v) for u, v in zip(na, nb))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("groups", [False, True])
@pytest.mark.parametrize("clip", [1.0, 0.05, None])
def test_training_equals_torch_bit_for_bit(dtype, groups, clip):
    _same(_train(False, dtype=dtype, groups=groups, clip=clip), _train(True, dtype=dtype, groups=groups, clip=clip))


def test_equals_torch_foreach_adam_too():
    _same(_train(False, foreach=True), _train(True, foreach=True))
    _same(_train(False, foreach=False), _train(True))


@pytest.mark.parametrize("adam", [dict(amsgrad=True), dict(weight_decay=1e-2), dict(maximize=True),
                                  dict(betas=(0.8, 0.95), eps=1e-6)])
def test_other_settings_run_as_torch(adam):
    # AMSGrad, weight decay and maximize fall back to opt.step(); other betas and eps take the fast path
    _same(_train(False, steps=8, **adam), _train(True, steps=8, **adam))


def test_covers_only_plain_adam_after_its_first_step():
    model = _Decoder()
    model(torch.zeros(2, 3, dtype=torch.long)).sum().backward()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    assert not fast_adam.covers(opt)                      # no state yet: the first step is torch's
    fast_adam.step(opt)
    assert fast_adam.covers(opt)
    model.readout.weight.grad = None                      # a parameter without a gradient: torch's step
    assert not fast_adam.covers(opt)
    assert not fast_adam.covers(torch.optim.SGD(model.parameters(), lr=1e-3))
    assert not fast_adam.covers(torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True))


def test_step_hooks_still_run():
    model = _Decoder()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    calls = []
    opt.register_step_post_hook(lambda *a: calls.append(1))
    for _ in range(3):
        model(torch.zeros(2, 3, dtype=torch.long)).sum().backward()
        fast_adam.step(opt)
    assert len(calls) == 3 and not fast_adam.covers(opt)


def test_clip_equals_torch_with_missing_gradients_and_single_tensors():
    torch.manual_seed(3)
    ps = [torch.randn(5, 4, requires_grad=True), torch.randn(3, requires_grad=True), torch.randn(2, requires_grad=True)]
    for max_norm in (1e-3, 0.5, 1e3):
        grads = [torch.randn(5, 4), torch.randn(3), None]
        for p, g in zip(ps, grads):
            p.grad = None if g is None else g.clone()
        want = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        expected = [None if p.grad is None else p.grad.clone() for p in ps]
        for p, g in zip(ps, grads):
            p.grad = None if g is None else g.clone()
        got = fast_adam.clip_grad_norm_(iter(ps), max_norm)
        assert torch.equal(got, want)
        assert all((e is None and p.grad is None) or torch.equal(p.grad, e) for p, e in zip(ps, expected))
    single = torch.randn(6, requires_grad=True)
    single.grad = torch.full((6,), 2.0)
    assert torch.equal(fast_adam.clip_grad_norm_(single, 1.0), torch.tensor(2.0 * 6 ** 0.5))
    assert torch.allclose(single.grad.norm(), torch.tensor(1.0), atol=1e-6)


def test_bad_inputs():
    model = _Decoder()
    with pytest.raises(ValueError, match="opt must be a torch.optim optimizer"):
        fast_adam.step(model)
    for bad in (0, -1.0, float("nan"), "1"):
        with pytest.raises(ValueError, match="max_norm"):
            fast_adam.clip_grad_norm_(model.parameters(), bad)
