import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course import plots, widgets  # noqa: E402
from course.train import History  # noqa: E402


def history(values):
    h = History()
    for i, v in enumerate(values):
        h.add(i * 10, train_acc=v, test_acc=v * 0.9, train_loss=1 - v, test_loss=1.1 - v)
    return h


def test_learning_curves_draw_train_and_test():
    plt.figure()
    ax = plots.learning_curves({"cnn": history([0.1, 0.5, 0.9]), "mlp": history([0.1, 0.3, 0.6])})
    assert len(ax.lines) == 4
    assert np.allclose(ax.lines[0].get_ydata(), [9, 45, 81])
    plt.close("all")
    with pytest.raises(ValueError, match="at least one"):
        plots.learning_curves({})


def test_signal_grid_and_bars():
    fig = plots.signal_grid(np.random.rand(12, 40), labels=list(range(12)), rows=2, cols=5)
    assert len(fig.axes) == 10
    with pytest.raises(ValueError, match="2-D"):
        plots.signal_grid(np.zeros(40))
    plt.figure()
    ax = plots.bar_compare({"linear": 32.0, "cnn": 94.0}, targets={"cnn": (90, 100)})
    assert len(ax.patches) == 2
    plt.close("all")


def test_panel_does_not_run_when_built_and_runs_on_demand():
    calls = []

    def fn(lr, model):
        calls.append((lr, model))
        return lr * 2

    p = widgets.panel(fn, {"lr": widgets.slider(0.01, 1e-4, 1.0, log=True, description="lr"),
                           "model": widgets.choice(["mlp", "cnn"], description="model")}, title="t")
    assert calls == []
    assert p.run() == pytest.approx(0.02)
    assert calls == [(pytest.approx(0.01), "mlp")]
    p.controls["model"].value = "cnn"
    p.run()
    assert calls[-1][1] == "cnn"


def test_live_panel_reruns_on_change_and_survives_errors():
    seen = []

    def fn(k):
        if k == 3:
            raise RuntimeError("boom")
        seen.append(k)

    p = widgets.panel(fn, {"k": widgets.slider(1, 0, 5, description="k")}, live=True)
    assert seen == []
    p.controls["k"].value = 2
    assert seen == [2]
    p.controls["k"].value = 3
    assert "boom" in p.status.value


def test_widget_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="outside"):
        widgets.slider(5, 0, 1)
    with pytest.raises(ValueError, match="lo > 0"):
        widgets.slider(0.5, 0, 1, log=True)
    with pytest.raises(ValueError, match="not one of"):
        widgets.choice(["a"], value="b")
    with pytest.raises(ValueError, match="callable"):
        widgets.panel(3, {"a": widgets.slider(1, 0, 2)})
    with pytest.raises(ValueError, match="at least one"):
        widgets.panel(print, {})
    with pytest.raises(ValueError, match="every"):
        widgets.live_plot(print, every=0)
