"""Tests of course.fitting: the minibatch loop `fit` and its `History`."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import fitting


def blobs(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + 3.0 * y[:, None]
    return x.astype(np.float32), y


def test_fit_learns_separable_data_and_records_history():
    x, y = blobs()
    xt, yt = blobs(seed=1)
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 2)
    h = fitting.fit(model, x, y, xt, yt, steps=200, lr=0.05, batch_size=50, eval_every=50,
                  metrics={"acc": fitting.accuracy}, progress=False)
    assert h.steps == [0, 50, 100, 150, 200]
    assert h["test_acc"][0] < 0.9 < h.last("test_acc")
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert set(h.metrics) == {"train_loss", "test_loss", "train_acc", "test_acc"}
    assert h.seconds > 0


def test_fit_evaluates_at_last_step_and_calls_back():
    x, y = blobs()
    seen = []
    h = fitting.fit(torch.nn.Linear(2, 2), x, y, x, y, steps=30, eval_every=25, batch_size=40,
                  progress=False, callback=lambda hist: seen.append(hist.steps[-1]))
    assert h.steps == [0, 25, 30] and seen == [0, 25, 30]


def test_fit_regression_with_mse():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)
    h = fitting.fit(torch.nn.Linear(3, 1), x, y, x, y, steps=300, lr=0.05, batch_size=64,
                  eval_every=100, loss_fn=F.mse_loss, progress=False)
    assert h.last("test_loss") < 1e-3


def test_sequential_batches_are_deterministic_given_seed():
    x, y = blobs()
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        m = torch.nn.Linear(2, 2)
        runs.append(fitting.fit(m, x, y, x, y, steps=20, eval_every=20, batch_size=40, progress=False,
                              shuffle=True, seed=5).last("test_loss"))
    assert runs[0] == runs[1]


def test_accuracy_and_history_errors():
    assert fitting.accuracy(torch.tensor([[2.0, 1.0], [0.0, 1.0]]), torch.tensor([0, 0])) == 0.5
    with pytest.raises(ValueError, match="logits"):
        fitting.accuracy(torch.zeros(3), torch.zeros(3))
    with pytest.raises(KeyError, match="test_acc"):
        fitting.History()["test_acc"]


@pytest.mark.parametrize("kwargs,match", [
    ({"steps": 0}, "steps"), ({"steps": 10, "batch_size": 0}, "batch_size"),
    ({"steps": 10, "lr": 0}, "lr"), ({"steps": 10, "eval_every": 0}, "eval_every"),
    ({"steps": 10, "optimizer": "rmsprop"}, "optimizer"), ({"steps": 10, "batch_size": 10_000}, "larger than"),
    ({"steps": 10, "weight_decay": -1.0}, "weight_decay"), ({"steps": 10, "shuffle": 1}, "shuffle must be True or False"),
    ({"steps": 10, "callback": "plot"}, r"callback must be callable as callback\(history\)"),
    ({"steps": True}, "steps must be an integer"),
])
def test_fit_rejects_bad_arguments(kwargs, match):
    x, y = blobs()
    with pytest.raises(ValueError, match=match):
        fitting.fit(torch.nn.Linear(2, 2), x, y, x, y, progress=False, **kwargs)


def test_fit_rejects_mismatched_rows():
    x, y = blobs()
    with pytest.raises(ValueError, match="same number of rows"):
        fitting.fit(torch.nn.Linear(2, 2), x, y[:-1], x, y, steps=1, progress=False)
