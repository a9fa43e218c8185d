"""course.dhnn_fast: the parts of 04's HNN and D-HNN at one state without autograd's engine equal the notebook's
`model.parts` (the student's dhnn_parts) bit for bit, and the notebook takes them only where they do."""
import copy

import numpy as np
import pytest
import torch

from course import dhnn_fast
from tests.nbimport import definitions


@pytest.fixture(scope="module")
def ns():
    return definitions("04_dissipative_hnn")


def _model(ns, name, width, d_time, dtype, seed=1):
    torch.manual_seed(seed)
    return copy.deepcopy(ns["make_model"](name, width=width, d_time=d_time)).to(dtype)


@pytest.mark.parametrize("name, width, d_time, dtype, batch", [
    ("D-HNN", 256, 1, torch.float64, 1), ("HNN", 64, 1, torch.float64, 1), ("D-HNN", 128, 2, torch.float64, 1),
    ("D-HNN", 32, 1, torch.float64, 7), ("D-HNN", 64, 1, torch.float32, 1), ("HNN", 16, 2, torch.float32, 5)])
def test_parts_equal_the_notebooks_parts_bit_for_bit(ns, name, width, d_time, dtype, batch):
    model = _model(ns, name, width, d_time, dtype)
    parts = dhnn_fast.parts_of(model, d_time)
    assert parts is not None
    rng = np.random.RandomState(width + batch)
    for _ in range(50):
        x = torch.as_tensor(rng.randn(batch, 2), dtype=dtype)
        t = torch.as_tensor(rng.randn(batch, d_time), dtype=dtype)
        want, have = model.parts(x, t, create_graph=False), parts(x, t)
        assert all(torch.equal(w.detach(), h) for w, h in zip(want, have))
    if name == "HNN":
        assert have[1].abs().max() == 0


def test_no_fast_parts_for_an_mlp_or_a_wrong_dhnn_parts(ns, monkeypatch):
    assert dhnn_fast.parts_of(_model(ns, "MLP", 32, 1, torch.float64), 1) is None
    model = _model(ns, "D-HNN", 32, 1, torch.float64)
    right = ns["dhnn_parts"]

    def swapped(energy_fn, dissipation_fn, x, t, create_graph=False):      # J grad H with the wrong sign
        rot, irr = right(energy_fn, dissipation_fn, x, t, create_graph)
        return -rot, irr
    monkeypatch.setitem(ns, "dhnn_parts", swapped)
    assert dhnn_fast.parts_of(model, 1) is None
    monkeypatch.setitem(ns, "dhnn_parts", right)
    assert dhnn_fast.parts_of(model, 1) is not None
    assert dhnn_fast.parts_of(model, 2) is None                              # the wrong number of time columns


def test_bad_inputs_are_refused(ns):
    model = _model(ns, "D-HNN", 8, 1, torch.float64)
    with pytest.raises(ValueError):
        dhnn_fast.parts_of(model, -1)
    with pytest.raises(ValueError):
        dhnn_fast.parts_of(model, 1, probes=0)
    assert dhnn_fast.parts_of(torch.nn.Linear(3, 1), 1) is None


def test_the_notebooks_rollouts_are_unchanged_by_the_fast_parts(ns, monkeypatch):
    model = _model(ns, "D-HNN", 64, 1, torch.float32)
    t = np.linspace(0, 2, 50)
    fast = ns["rollout"](ns["model_field"](model, scale_irr=0.5), [0.85, 0.25], t)
    fast_cf = ns["rollout"](ns["dhnn_counterfactual"](model, 4.0), [0.9, 0.0], t)
    monkeypatch.setattr(dhnn_fast, "parts_of", lambda *a, **k: None)     # the notebook's own m.parts
    assert np.array_equal(fast, ns["rollout"](ns["model_field"](model, scale_irr=0.5), [0.85, 0.25], t))
    assert np.array_equal(fast_cf, ns["rollout"](ns["dhnn_counterfactual"](model, 4.0), [0.9, 0.0], t))
