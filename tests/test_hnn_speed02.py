"""Notebook 02's speed paths (issue 23): `fit(..., fused=True)` (Adam's update as one kernel) and the pixel
pendulum's encoder reading only the inked pixel columns. Both give the plain code's numbers to float rounding."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import fitting
from tests.nbimport import definitions, notebook_path

NB = "02_hamiltonian_nn"


def _regression(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, np.tanh(x @ rng.normal(size=(4, 4))).astype(np.float32)


def _mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.Tanh(), torch.nn.Linear(32, 4))


def test_fit_fused_adam_is_the_default_loop_to_rounding():
    x, y = _regression()
    runs = []
    for fused in (False, True):
        model = _mlp()
        h = fitting.fit(model, x, y, x, y, steps=60, lr=1e-2, batch_size=50, eval_every=20, loss_fn=F.mse_loss,
                        weight_decay=1e-4, shuffle=True, seed=3, progress=False, fused=fused)
        runs.append((model, h))
    (plain, h_plain), (fused, h_fused) = runs
    for a, b in zip(plain.parameters(), fused.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_plain["test_loss"], h_fused["test_loss"], rtol=1e-4)
    assert h_plain.steps == h_fused.steps


def test_fit_without_fused_is_unchanged():
    # off by default: the same bits as a call that never names it
    x, y = _regression()
    models = [_mlp(), _mlp()]
    fitting.fit(models[0], x, y, x, y, steps=20, batch_size=50, loss_fn=F.mse_loss, progress=False)
    fitting.fit(models[1], x, y, x, y, steps=20, batch_size=50, loss_fn=F.mse_loss, progress=False, fused=False)
    assert all(torch.equal(a, b) for a, b in zip(models[0].parameters(), models[1].parameters()))


@pytest.mark.parametrize("kwargs, match", [(dict(fused=1), "fused"), (dict(fused="yes"), "fused"),
                                           (dict(fused=True, optimizer="sgd"), "adam")])
def test_fit_fused_rejects_bad_arguments(kwargs, match):
    x, y = _regression()
    with pytest.raises(ValueError, match=match):
        fitting.fit(_mlp(), x, y, x, y, steps=2, batch_size=50, loss_fn=F.mse_loss, progress=False, **kwargs)


@pytest.fixture(scope="module")
def pixel():
    """02's definitions plus a few pendulum videos and the notebook's cell that builds the frame tensors."""
    ns = definitions(NB)
    sources = ["".join(c["source"]) for c in json.loads(notebook_path(NB).read_text())["cells"]
               if c["cell_type"] == "code"]
    theta = np.random.default_rng(0).uniform(-0.5, 0.5, (6, 1)) * np.cos(np.linspace(0, 6, 60))
    ns["videos"] = ns["pixel_pendulum"](theta).reshape(6, 60, -1)
    for marker in ("pair_tensor =", "def frame_pairs("):
        exec(next(s for s in sources if marker in s), ns)
    return ns


def test_inked_columns_hold_every_nonzero_pixel(pixel):
    pairs, inked = pixel["pair_tensor"], pixel["inked"]
    blank = torch.ones(pairs.shape[-1], dtype=torch.bool)
    blank[inked] = False
    assert 0 < len(inked) < pairs.shape[-1] // 2                       # the pendulum inks a minority of pixels
    assert torch.all(pairs[..., blank] == 0)
    assert torch.equal(pixel["inked_pairs"], pairs[..., inked])
    vi, fi = torch.tensor([0, 5, 3, 1]), torch.tensor([0, 57, 10, 30])
    assert torch.equal(pixel["frame_pairs"](vi, fi, pixel["inked_pairs"]), pixel["frame_pairs"](vi, fi)[..., inked])


def _losses_and_gradients(pixel, ae, dyn, *args):
    values = pixel["pixel_losses"](ae, dyn, *args)
    params = [*ae.parameters(), *dyn.parameters()]
    return torch.stack(values), torch.autograd.grad(values[0] + values[1] + 0.1 * values[2], params)


@pytest.mark.parametrize("hamiltonian", [True, False])
def test_pixel_losses_on_inked_columns_equal_the_full_frames(pixel, hamiltonian):
    # the same three losses and gradients to float32 rounding; the blank columns of the first layer get gradient 0
    # either way (so weight decay alone moves them, as before)
    torch.manual_seed(0)
    ae = pixel["Autoencoder"](2 * 784, hidden=64)
    dyn = pixel["HNN"](2, 64) if hamiltonian else pixel["MLP"](2, 64, 2)
    vi, fi = torch.randint(0, 6, (50,)), torch.randint(0, 58, (50,))
    full_loss, full_grads = _losses_and_gradients(pixel, ae, dyn, pixel["frame_pairs"](vi, fi))
    inked_loss, inked_grads = _losses_and_gradients(pixel, ae, dyn, pixel["frame_pairs"](vi, fi, pixel["inked_pairs"]),
                                                    pixel["inked"])
    torch.testing.assert_close(inked_loss, full_loss, rtol=1e-5, atol=0)
    assert max(((got - want).abs().max() / want.abs().max()).item() for got, want in zip(inked_grads, full_grads)) < 1e-5
    blank = torch.ones(2 * 784, dtype=torch.bool)
    blank[pixel["inked"]] = False
    assert torch.all(inked_grads[0][:, blank] == 0) and torch.all(full_grads[0][:, blank] == 0)


def test_encoder_on_inked_columns_is_the_full_encoder(pixel):
    torch.manual_seed(1)
    ae = pixel["Autoencoder"](2 * 784, hidden=32).double()
    x = pixel["pair_tensor"].flatten(0, 1)[:100].double()
    inked = pixel["inked"]
    torch.testing.assert_close(ae.encode(x[:, inked], inked), ae.encode(x), rtol=1e-12, atol=1e-14)
