import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course import plots  # noqa: E402
from course.fitting import History  # noqa: E402


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


# ---------------------------------------------------------------- animation_html
def test_animation_html_is_a_javascript_player_with_every_frame():
    frames = np.random.default_rng(0).random((3, 10, 15, 3))
    html = plots.animation_html(frames, dpi=20, title="flow")
    assert "<script" in html and "Animation" in html
    assert html.count("data:image/png;base64") == 3


def test_animation_html_accepts_scalar_frames():
    assert "<script" in plots.animation_html(np.zeros((2, 6, 6)), dpi=20)


@pytest.mark.parametrize("frames, kwargs, match", [
    (np.zeros((6, 6)), {}, "shape"), (np.zeros((2, 6, 6, 4)), {}, "shape"),
    (np.zeros((0, 6, 6)), {}, "at least one"), (np.full((1, 6, 6), np.inf), {}, "finite"),
    (np.zeros((1, 6, 6)), {"interval": 0}, "interval"), (np.zeros((1, 6, 6)), {"dpi": 1000}, "dpi"),
    (np.zeros((1, 6, 6)), {"size": 0}, "size"),
])
def test_animation_html_rejects_bad_inputs(frames, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.animation_html(frames, **kwargs)


def test_animation_html_respects_dpi_so_notebooks_stay_light():
    frames = np.random.default_rng(1).random((2, 40, 60, 3))
    small = plots.animation_html(frames, dpi=20)
    large = plots.animation_html(frames, dpi=100)
    assert len(small) < len(large) / 3
