import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course import plots  # noqa: E402
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
