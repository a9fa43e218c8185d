"""course.mmn_bptt: 12's Moore machine network (a GRU policy with QBNs inside the loop, eq. 4) run with
its backward written out equals autograd through 12's step-by-step loop bit for bit (memories, every
parameter gradient, an Adam run), `pick_ternary` accepts only the reference code, and bad inputs are
refused."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course import gru_bptt, mmn_bptt


# ---------------------------------------------------------------- the MMN of eq. (4): QBNs inside the loop
class _QBN(nn.Module):
    # 12's QBN (eq. 3) with the reference ternary code
    def __init__(self, dim, bits, out="tanh"):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(dim, 8 * bits), nn.Tanh(), nn.Linear(8 * bits, bits))
        self.dec = nn.Sequential(nn.Linear(bits, 8 * bits), nn.Tanh(), nn.Linear(8 * bits, dim),
                                 nn.Tanh() if out == "tanh" else nn.ReLU6() if out == "relu6" else nn.Identity())

    def forward(self, x):
        return self.dec(mmn_bptt.reference_ternary(self.enc(x)))


def _mmn_loop(obs, h, features, cell, hq, fq):
    # the reference: 12's GRUPolicy.run with QBNs, autograd through every step
    h = h if hq is None else hq(h)
    hs = [h]
    for t in range(obs.shape[1]):
        f = torch.relu(features(obs[:, t]))
        f = f if fq is None else fq(f)
        h = cell(f, h)
        h = h if hq is None else hq(h)
        hs.append(h)
    return torch.stack(hs, 1)


MMN_SHAPES = [  # (batch, steps, obs_dim, hidden, B_h, B_f): Tomita fine-tuning, mode counters, CartPole, odd ones
    (64, 31, 2, 32, 8, None), (64, 20, 2, 32, 16, None), (32, 40, 1, 32, 8, 4), (32, 40, 1, 32, 8, 8),
    (64, 50, 4, 32, 8, 8), (5, 7, 3, 16, None, 3), (9, 1, 2, 8, 2, 2), (3, 4, 1, 13, 4, None)]


@pytest.mark.parametrize("shape", MMN_SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_mmn_memories_and_gradients_equal_autograd_exactly(shape, seed):
    n, T, d, H, bh, bf = shape
    torch.manual_seed(seed)
    features, cell, actor = nn.Linear(d, 4 * d), nn.GRUCell(4 * d, H), nn.Linear(H, 3)
    hq = _QBN(H, bh) if bh else None
    fq = _QBN(4 * d, bf, out="linear") if bf else None
    params = [p for m in (features, cell, hq, fq) if m is not None for p in m.parameters()]
    obs = F.one_hot(torch.randint(0, 2, (n, T)), 2).float() if d == 2 else torch.randn(n, T, d)
    obs[: n // 3, T // 2:] = 0
    h0 = torch.randn(n, H) if seed else torch.zeros(n, H)
    last, target = torch.randint(0, T + 1, (n,)), torch.randint(0, 3, (n,))
    out = []
    for run in (_mmn_loop, mmn_bptt.run_mmn):
        for p in params:
            p.grad = None
        hs = run(obs, h0, features, cell, hq, fq)
        loss = F.cross_entropy(actor(hs[torch.arange(n), last]), target) + actor(hs[:, 1:]).square().mean()
        loss.backward()
        out.append((hs.detach(), [p.grad.clone() for p in params]))
    assert torch.equal(out[0][0], out[1][0])
    assert len(out[1][1]) == len(params)
    for ref, fast in zip(out[0][1], out[1][1]):
        assert torch.equal(ref, fast), (ref - fast).abs().max()


@pytest.mark.parametrize("bits", [(8, None), (8, 4)])
def test_an_mmn_training_run_is_bit_identical(bits):
    # Adam with clipping through either path, 15 steps of truncated BPTT (the memory carried over): same weights
    def train(run):
        torch.manual_seed(5)
        features, cell, actor = nn.Linear(2, 8), nn.GRUCell(8, 32), nn.Linear(32, 2)
        hq = _QBN(32, bits[0])
        fq = _QBN(8, bits[1], out="linear") if bits[1] else None
        mods = nn.ModuleList([m for m in (features, cell, actor, hq, fq) if m is not None])
        opt = torch.optim.Adam(mods.parameters(), lr=1e-2)
        gen = torch.Generator().manual_seed(0)
        h = torch.zeros(16, 32)
        for _ in range(15):
            obs = F.one_hot(torch.randint(0, 2, (16, 12), generator=gen), 2).float()
            y = torch.randint(0, 2, (16, 12), generator=gen)
            hs = run(obs, h, features, cell, hq, fq)
            loss = F.cross_entropy(actor(hs[:, 1:]).reshape(-1, 2), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(mods.parameters(), 5.0)
            opt.step()
            h = hs[:, -1].detach()
        return [p.detach().clone() for p in mods.parameters()]
    for a, b in zip(train(_mmn_loop), train(mmn_bptt.run_mmn)):
        assert torch.equal(a, b)


def _mmn_step_class(obs, h, features, cell, hq, fq):
    # _MMNRun (the step-by-step node) called directly, whatever the batch
    tanh_out = lambda q: q is not None and isinstance(q.dec[3], nn.Tanh)
    flags = (hq is not None, fq is not None, tanh_out(hq), tanh_out(fq))
    params = [features.weight, features.bias, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    params += [p for q in (hq, fq) if q is not None for p in mmn_bptt._qbn_params(q)]
    return mmn_bptt._MMNRun.apply(obs, h, flags, *params)


@pytest.mark.parametrize("n", [1, 2, 64])
@pytest.mark.parametrize("bits", [(8, None), (16, None), (8, 4), (None, 8)])
def test_mmn_both_classes_equal_autograd_and_each_other(n, bits):
    # run_mmn takes the folded class (features and observation QBN before the recurrence, batched input linear and
    # GRU parameter-gradient parts, TorchScript loops) from two rows on, the step-by-step class on one row
    torch.manual_seed(n + (bits[0] or 0))
    features, cell = nn.Linear(2, 8), nn.GRUCell(8, 32)
    hq = _QBN(32, bits[0]) if bits[0] else None
    fq = _QBN(8, bits[1], out="linear") if bits[1] else None
    params = [p for m in (features, cell, hq, fq) if m is not None for p in m.parameters()]
    obs = F.one_hot(torch.randint(0, 2, (n, 23)), 2).float()
    w = torch.randn(n, 24, 32)
    out = []
    for run in (_mmn_loop, mmn_bptt.run_mmn, _mmn_step_class):
        hs = run(obs, torch.zeros(n, 32), features, cell, hq, fq)
        out.append((hs.detach(), torch.autograd.grad((hs * w).sum(), params)))
    for other in out[1:]:
        assert torch.equal(out[0][0], other[0])
        assert all(torch.equal(a, b) for a, b in zip(out[0][1], other[1]))


@torch.no_grad()             # as inside the autograd node
def test_the_scripted_step_loops_equal_the_python_ones():
    # the recurrence with (MMN) and without (plain GRU) the memory QBN, and the observation QBN's loops
    torch.manual_seed(6)
    hq, fq = _QBN(16, 4), _QBN(8, 3, out="linear")
    hp, fp = list(mmn_bptt._qbn_params(hq)), list(mmn_bptt._qbn_params(fq))
    gi, h0, w_hh, b_hh = torch.randn(9, 6, 48), torch.randn(6, 16), torch.randn(48, 16), torch.randn(48)
    for has_h in (True, False):
        fwd = [gru_bptt.scripted(gru_bptt._steps_forward), gru_bptt._steps_forward]
        a, b = (f(gi.clone(), h0, w_hh, b_hh, hp, has_h, True) for f in fwd)
        flat = lambda x: [t for v in x for t in (v if isinstance(v, list) else [v])]
        assert all(torch.equal(x, y) for la, lb in zip(a, b) for x, y in zip(flat(la), flat(lb)))
        grad = torch.randn(6, 10, 16)
        bwd = [gru_bptt.scripted(gru_bptt._steps_backward), gru_bptt._steps_backward]
        r1, r2 = (f(grad, *a[1:], w_hh, hp, has_h, True) for f in bwd)
        assert torch.equal(r1[0], r2[0]) and torch.equal(r1[1], r2[1]) and len(r1[2]) == (8 if has_h else 0)
        assert all(torch.equal(x, y) for x, y in zip(r1[2], r2[2]))
    xs, g = torch.randn(7, 5, 8), torch.randn(7, 5, 8)
    f1, f2 = gru_bptt.scripted(mmn_bptt._qbn_steps_forward)(xs, fp, False), mmn_bptt._qbn_steps_forward(xs, fp, False)
    assert torch.equal(f1[0], f2[0])
    b1, b2 = gru_bptt.scripted(mmn_bptt._qbn_steps_backward)(g, f1[1], fp, False), mmn_bptt._qbn_steps_backward(g, f1[1], fp, False)
    assert torch.equal(b1[1], b2[1]) and all(torch.equal(x, y) for x, y in zip(b1[0], b2[0]))


@pytest.mark.parametrize("case", [(64, 31, 2, 8, None), (32, 40, 1, 8, 4), (32, 40, 1, 8, 8)])
def test_an_mmn_adam_run_folded_equals_step_by_step(case):
    # 12's fine-tuning shapes (Tomita: 64 strings of up to 30 symbols, B_h = 8; mode counters: 32 windows of 40 steps,
    # B_h = 8, B_f = 4 or 8), 12 Adam steps with clipping: the step-by-step node, the folded one and autograd give the
    # same losses and weights, bit for bit
    n, T, d, bh, bf = case

    def train(run):
        torch.manual_seed(11)
        features, cell, actor = nn.Linear(d, 4 * d), nn.GRUCell(4 * d, 32), nn.Linear(32, 3)
        hq = _QBN(32, bh)
        fq = _QBN(4 * d, bf, out="linear") if bf else None
        mods = nn.ModuleList([m for m in (features, cell, actor, hq, fq) if m is not None])
        opt = torch.optim.Adam(mods.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(1)
        losses = []
        for _ in range(12):
            obs = (F.one_hot(torch.randint(0, 2, (n, T), generator=gen), 2).float() if d == 2
                   else torch.randn(n, T, d, generator=gen))
            y = torch.randint(0, 3, (n, T), generator=gen)
            hs = run(obs, torch.zeros(n, 32), features, cell, hq, fq)
            loss = F.cross_entropy(actor(hs[:, 1:]).reshape(-1, 3), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(mods.parameters(), 5.0)
            opt.step()
            losses.append(loss.detach())
        return torch.stack(losses), [p.detach().clone() for p in mods.parameters()]
    ref = train(_mmn_loop)
    for run in (mmn_bptt.run_mmn, _mmn_step_class):
        losses, weights = train(run)
        assert torch.equal(ref[0], losses)
        assert all(torch.equal(a, b) for a, b in zip(ref[1], weights))


def _smooth(x):
    return 1.5 * torch.tanh(x) + 0.5 * torch.tanh(-3 * x)


def test_pick_ternary_accepts_the_reference_only():
    def same_written_differently(x):
        y = 1.5 * torch.tanh(x) + 0.5 * torch.tanh(-3 * x)
        return y + (torch.round(y) - y).detach()
    assert mmn_bptt.pick_ternary(mmn_bptt.reference_ternary)
    assert mmn_bptt.pick_ternary(same_written_differently)
    wrong = {
        "binary-sign": lambda x: x + (torch.sign(x) - x).detach(),
        "no-straight-through": lambda x: torch.round(_smooth(x)),
        "identity-straight-through": lambda x: x + (torch.round(_smooth(x)) - x).detach(),
        "round-tanh-only": lambda x: torch.tanh(x) + (torch.round(torch.tanh(x)) - torch.tanh(x)).detach(),
        "smooth-no-rounding": _smooth,
        "gradient-scaled": lambda x: 2 * _smooth(x) + (torch.round(_smooth(x)) - 2 * _smooth(x)).detach(),
        "raises": lambda x: 1 / 0,
        "not-a-tensor": lambda x: 0.0,
    }
    for name, fn in wrong.items():
        assert not mmn_bptt.pick_ternary(fn), name
    with pytest.raises(TypeError):
        mmn_bptt.pick_ternary("tanh")


def test_mmn_bad_inputs_are_refused():
    features, cell = nn.Linear(2, 8), nn.GRUCell(8, 32)
    obs, h0, hq = torch.zeros(4, 5, 2), torch.zeros(4, 32), _QBN(32, 4)
    assert mmn_bptt.fits_mmn(hq, _QBN(8, 4, out="linear")) and mmn_bptt.fits_mmn(None, None)
    assert not mmn_bptt.fits_mmn(_QBN(32, 4, out="relu6"), None) and not mmn_bptt.fits_mmn(nn.Linear(32, 32), None)
    with pytest.raises(ValueError, match="QBNs"):
        mmn_bptt.run_mmn(obs, h0, features, cell, _QBN(32, 4, out="relu6"))
    with pytest.raises(ValueError, match="nn.Linear"):
        mmn_bptt.run_mmn(obs, h0, nn.ReLU(), cell, hq)
    with pytest.raises(ValueError, match="biases"):
        mmn_bptt.run_mmn(obs, h0, nn.Linear(2, 8, bias=False), cell, hq)
    with pytest.raises(ValueError, match="obs must be"):
        mmn_bptt.run_mmn(torch.zeros(4, 5, 3), h0, features, cell, hq)
    with pytest.raises(ValueError, match="h0 must be"):
        mmn_bptt.run_mmn(obs, torch.zeros(3, 32), features, cell, hq)
    with pytest.raises(ValueError, match="no gradient"):
        mmn_bptt.run_mmn(obs, h0.requires_grad_(), features, cell, hq)
