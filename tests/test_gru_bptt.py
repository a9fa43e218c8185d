"""course.gru_bptt: the GRU policy's sequence run with its backward written out equals autograd
through 12's step-by-step loop bit for bit (memories and every parameter gradient), and refuses
what it cannot do."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course import gru_bptt


def _loop(obs, h, features, cell):
    # the reference: 12's GRUPolicy.run without bottlenecks, autograd through every step
    hs = [h]
    for t in range(obs.shape[1]):
        h = cell(torch.relu(features(obs[:, t])), h)
        hs.append(h)
    return torch.stack(hs, 1)


SHAPES = [  # (batch, steps, obs_dim, hidden): Tomita, mode counters, CartPole, odd widths
    (128, 30, 2, 32), (32, 40, 1, 32), (64, 50, 4, 32), (5, 7, 3, 16), (9, 1, 2, 8), (3, 4, 1, 13)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_memories_and_gradients_equal_autograd_exactly(shape, seed):
    n, T, d, H = shape
    torch.manual_seed(seed)
    features, cell, actor = nn.Linear(d, 4 * d), nn.GRUCell(4 * d, H), nn.Linear(H, 3)
    params = list(features.parameters()) + list(cell.parameters())
    obs = F.one_hot(torch.randint(0, 2, (n, T)), 2).float() if d == 2 else torch.randn(n, T, d)
    obs[: n // 3, T // 2:] = 0                                  # padding after the end, as Tomita's batches
    h0 = torch.randn(n, H) if seed else torch.zeros(n, H)
    last, target = torch.randint(0, T + 1, (n,)), torch.randint(0, 3, (n,))
    out = []
    for run in (_loop, gru_bptt.run):
        for p in params + list(actor.parameters()):
            p.grad = None
        hs = run(obs, h0, features, cell)
        loss = F.cross_entropy(actor(hs[torch.arange(n), last]), target) + actor(hs[:, 1:]).square().mean()
        loss.backward()
        out.append((hs.detach(), [p.grad.clone() for p in params]))
    assert torch.equal(out[0][0], out[1][0])
    for ref, fast in zip(out[0][1], out[1][1]):
        assert torch.equal(ref, fast), (ref - fast).abs().max()


@pytest.mark.parametrize("n", [1, 2, 64])
def test_both_classes_equal_autograd_and_each_other(n):
    # run takes the folded class (batched input linear and parameter-gradient parts, TorchScript step loops) from two
    # rows on and the step-by-step class on one row (where mm becomes a gemv): both give autograd's bits
    torch.manual_seed(n)
    features, cell = nn.Linear(2, 8), nn.GRUCell(8, 32)
    params = list(features.parameters()) + list(cell.parameters())
    obs = F.one_hot(torch.randint(0, 2, (n, 17)), 2).float()
    w = torch.randn(n, 18, 32)
    out = []
    for run in (_loop, gru_bptt.run,
                lambda o, h, f, c: gru_bptt._GRURun.apply(o, h, f.weight, f.bias, c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh)):
        hs = run(obs, torch.zeros(n, 32), features, cell)
        out.append((hs.detach(), torch.autograd.grad((hs * w).sum(), params)))
    for other in out[1:]:
        assert torch.equal(out[0][0], other[0])
        assert all(torch.equal(a, b) for a, b in zip(out[0][1], other[1]))


def test_a_training_run_is_bit_identical():
    # Adam on the loss through either path, 20 steps: the same weights, bit for bit
    def train(run):
        torch.manual_seed(3)
        features, cell, actor = nn.Linear(2, 8), nn.GRUCell(8, 32), nn.Linear(32, 2)
        mods = nn.ModuleList([features, cell, actor])
        opt = torch.optim.Adam(mods.parameters(), lr=1e-2)
        gen = torch.Generator().manual_seed(0)
        for _ in range(20):
            obs = F.one_hot(torch.randint(0, 2, (16, 12), generator=gen), 2).float()
            y = torch.randint(0, 2, (16,), generator=gen)
            loss = F.cross_entropy(actor(run(obs, torch.zeros(16, 32), features, cell)[:, -1]), y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(mods.parameters(), 5.0)
            opt.step()
        return [p.detach().clone() for p in mods.parameters()]
    for a, b in zip(train(_loop), train(gru_bptt.run)):
        assert torch.equal(a, b)


def test_bad_inputs_are_refused():
    features, cell = nn.Linear(2, 8), nn.GRUCell(8, 32)
    obs, h0 = torch.zeros(4, 5, 2), torch.zeros(4, 32)
    with pytest.raises(ValueError, match="nn.Linear"):
        gru_bptt.run(obs, h0, nn.ReLU(), cell)
    with pytest.raises(ValueError, match="nn.GRUCell"):
        gru_bptt.run(obs, h0, features, nn.GRU(8, 32))
    with pytest.raises(ValueError, match="biases"):
        gru_bptt.run(obs, h0, nn.Linear(2, 8, bias=False), cell)
    with pytest.raises(ValueError, match="obs must be"):
        gru_bptt.run(torch.zeros(4, 5, 3), h0, features, cell)
    with pytest.raises(ValueError, match="obs must be"):
        gru_bptt.run(torch.zeros(4, 2), h0, features, cell)
    with pytest.raises(ValueError, match="h0 must be"):
        gru_bptt.run(obs, torch.zeros(3, 32), features, cell)
    with pytest.raises(ValueError, match="no gradient"):
        gru_bptt.run(obs, h0.requires_grad_(), features, cell)


def test_no_steps_gives_h0_only():
    features, cell = nn.Linear(2, 8), nn.GRUCell(8, 32)
    h0 = torch.randn(3, 32)
    hs = gru_bptt.run(torch.zeros(3, 0, 2), h0, features, cell)
    assert hs.shape == (3, 1, 32) and torch.equal(hs[:, 0], h0)
