"""Tests of course.fea_optimizers: the OC update, the MMA and OC drivers, their callback."""
import numpy as np
import pytest
import torch

from course import blur, fea
from course import fea_optimizers as O
from course import fea_problems as P

torch.set_num_threads(1)


def test_oc_update_meets_the_volume_and_lowers_compliance():
    problem = P.mbb_beam(30, 10, 0.5)
    x = torch.full(problem.shape, 0.5, dtype=torch.float64, requires_grad=True)
    c0 = fea.compliance(blur.gaussian_blur(x, 1.0), problem)
    c0.backward()
    dv = blur.gaussian_blur(torch.ones(problem.shape, dtype=torch.float64), 1.0).numpy() / x.numel()
    volume = lambda d: blur.gaussian_blur(torch.tensor(d), 1.0).mean().item()
    x_new = O.oc_update(x.detach().numpy(), x.grad.numpy(), dv, volume, 0.5)
    assert volume(x_new) <= 0.5 and volume(x_new) > 0.5 - 1e-6
    assert np.abs(x_new - 0.5).max() <= 0.2 + 1e-12
    c1 = fea.compliance(blur.gaussian_blur(torch.tensor(x_new), 1.0), problem)
    assert c1.item() < c0.item()


def _gaussian_task(problem, width=1.0):
    objective = lambda x: fea.compliance(blur.gaussian_blur(x, width), problem)
    volume = lambda x: blur.gaussian_blur(x, width).mean()
    return objective, volume, np.full(problem.shape, problem.volfrac)


@pytest.mark.parametrize("driver", ["mma", "oc"])
def test_optimizers_lower_compliance_and_meet_the_volume(driver):
    problem = P.mbb_beam(30, 10, 0.5)
    objective, volume, x0 = _gaussian_task(problem)
    seen = []

    def callback(history):                         # the one signature: callback(history)
        assert isinstance(history, O.DesignHistory)
        assert len(history.losses) == len(history.designs) == len(history.volumes)
        seen.append(len(history.losses))

    drive = O.optimize_mma if driver == "mma" else O.optimize_oc
    run = drive(objective, volume, problem.volfrac, x0, 30, callback=callback)
    assert isinstance(run, O.DesignHistory)
    assert run.losses.shape == (30,) and run.volumes.shape == (30,) and len(run.designs) == 30
    assert seen == list(range(1, 31))              # one callback per evaluation
    assert all(d.shape == problem.shape for d in run.designs)
    np.testing.assert_allclose(run.designs[0], x0)  # the first evaluation is the start
    assert run.losses[-1] < 0.5 * run.losses[0]
    # the records agree with each other: loss and volume are those of the recorded design
    last = torch.tensor(run.designs[-1])
    assert run.losses[-1] == pytest.approx(objective(last).item(), rel=1e-12)
    assert run.volumes[-1] == pytest.approx(volume(last).item(), rel=1e-12)
    assert run.volumes[-1] <= problem.volfrac + 1e-6
    assert all(((d >= 0) & (d <= 1)).all() for d in run.designs)
    if driver == "oc":                             # OC spends the budget and descends steadily
        assert run.volumes[-1] > problem.volfrac - 1e-6
        assert np.all(np.diff(run.losses) < 0)


def test_optimizers_leave_x0_alone_and_take_torch_starts():
    problem = P.mbb_beam(12, 4, 0.4)
    objective, volume, x0 = _gaussian_task(problem)
    before = x0.copy()
    a = O.optimize_oc(objective, volume, 0.4, x0, 3)
    b = O.optimize_oc(objective, volume, 0.4, torch.tensor(x0), 3)
    np.testing.assert_array_equal(x0, before)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert len(O.optimize_mma(objective, volume, 0.4, x0, 1).losses) == 1


def test_optimizers_reject_bad_inputs():
    problem = P.mbb_beam(8, 4, 0.5)
    objective, volume, x0 = _gaussian_task(problem)
    for driver, steps_name in ((O.optimize_mma, "evals"), (O.optimize_oc, "iterations")):
        with pytest.raises(ValueError, match=steps_name):
            driver(objective, volume, 0.5, x0, 0)
        with pytest.raises(ValueError, match=steps_name):
            driver(objective, volume, 0.5, x0, 2.5)
        with pytest.raises(ValueError, match="objective"):
            driver("compliance", volume, 0.5, x0, 3)
        with pytest.raises(ValueError, match="volume"):
            driver(objective, None, 0.5, x0, 3)
        with pytest.raises(ValueError, match="volfrac"):
            driver(objective, volume, 1.2, x0, 3)
        with pytest.raises(ValueError, match="x0"):
            driver(objective, volume, 0.5, np.full(problem.shape, 1.5), 3)
        with pytest.raises(ValueError, match="x0"):
            driver(objective, volume, 0.5, np.full(problem.shape, np.nan), 3)
        with pytest.raises(ValueError, match="x0"):
            driver(objective, volume, 0.5, np.array([]), 3)
        with pytest.raises(ValueError, match="callback"):
            driver(objective, volume, 0.5, x0, 3, callback=42)
        with pytest.raises(ValueError, match="scalar"):
            driver(lambda x: blur.gaussian_blur(x, 1.0), volume, 0.5, x0, 3)
    with pytest.raises(ValueError, match="move"):
        O.optimize_oc(objective, volume, 0.5, x0, 3, move=0)
    with pytest.raises(ValueError, match="eta"):
        O.optimize_oc(objective, volume, 0.5, x0, 3, eta=1.5)


def test_live_plot_takes_the_driver_callback_without_an_adapter(monkeypatch):
    from course import widgets
    monkeypatch.setattr(widgets, "clear_output", lambda wait=False: None)
    monkeypatch.setattr(widgets.plt, "show", lambda: None)
    drawn = []
    problem = P.mbb_beam(8, 4, 0.5)
    objective, volume, x0 = _gaussian_task(problem)
    O.optimize_oc(objective, volume, 0.5, x0, 4, callback=widgets.live_plot(lambda h: drawn.append(h.losses[-1]), every=2))
    assert len(drawn) == 2


def test_oc_update_rejects_bad_inputs():
    x = np.full((2, 3), 0.5)
    vol = lambda d: float(np.mean(d))
    with pytest.raises(ValueError, match="move"):
        O.oc_update(x, -x, x, vol, 0.5, move=0)
    with pytest.raises(ValueError, match="eta"):
        O.oc_update(x, -x, x, vol, 0.5, eta=2)
    with pytest.raises(ValueError, match="volfrac"):
        O.oc_update(x, -x, x, vol, 1.0)
    with pytest.raises(ValueError, match="shape"):
        O.oc_update(x, -x[:, :2], x, vol, 0.5)
