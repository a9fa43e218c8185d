import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402

from course import widgets  # noqa: E402


def test_panel_does_not_run_when_built_and_starts_from_the_signature():
    calls = []

    def fn(lr=0.01, model="mlp"):
        calls.append((lr, model))
        return lr * 2

    p = widgets.panel(fn, {"lr": widgets.slider(1e-4, 1.0, log=True, description="lr"),
                           "model": widgets.choice(["cnn", "mlp"], description="model")}, title="t")
    assert calls == []
    assert p.run() == pytest.approx(0.02)
    assert calls == [(pytest.approx(0.01), "mlp")]
    p.controls["model"].value = "cnn"
    p.run()
    assert calls[-1][1] == "cnn"


def test_defaults_from_a_dict_or_a_config_object_win_over_the_signature():
    class Config:
        k = 4

    def fn(k=1, name="a"):
        return k, name

    assert widgets.panel(fn, {"k": widgets.slider(0, 5)}, defaults=Config()).run() == (4, "a")
    assert widgets.panel(fn, {"k": widgets.slider(0, 5), "name": widgets.choice("ab")},
                         defaults={"name": "b"}).run() == (1, "b")


def test_live_panel_reruns_on_change_and_survives_errors():
    seen = []

    def fn(k=1):
        if k == 3:
            raise RuntimeError("boom")
        seen.append(k)

    p = widgets.panel(fn, {"k": widgets.slider(0, 5, description="k")}, live=True)
    assert seen == []
    p.controls["k"].value = 2
    assert seen == [2]
    p.controls["k"].value = 3
    assert "boom" in p.status.value


def test_widget_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="lo < hi"):
        widgets.slider(5, 0)
    with pytest.raises(ValueError, match="lo > 0"):
        widgets.slider(0, 1, log=True)
    with pytest.raises(ValueError, match="empty"):
        widgets.choice([])
    with pytest.raises(ValueError, match="callable"):
        widgets.panel(3, {"a": widgets.slider(0, 2)})
    with pytest.raises(ValueError, match="at least one"):
        widgets.panel(print, {})
    with pytest.raises(ValueError, match="every"):
        widgets.live_plot(print, every=0)


def test_a_starting_value_must_exist_and_fit_the_control():
    def fn(k, mode="x"):
        return k

    with pytest.raises(ValueError, match="control 'k' has no starting value"):
        widgets.panel(fn, {"k": widgets.slider(0, 2)})
    with pytest.raises(ValueError, match=r"outside \[0, 2\]"):
        widgets.panel(fn, {"k": widgets.slider(0, 2)}, defaults={"k": 7})
    with pytest.raises(ValueError, match="not one of"):
        widgets.panel(fn, {"k": widgets.slider(0, 2), "mode": widgets.choice("ab")}, defaults={"k": 1})
