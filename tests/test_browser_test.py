"""tools/browser_test.py's judgement, without a browser (`make browser-test` runs the browser,
and its self-check proves there that a raising notebook, a hidden figure and a broken widget
fail)."""
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("browser_test", ROOT / "tools" / "browser_test.py")
bt = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("browser_test", bt)  # its dataclass looks itself up there
_spec.loader.exec_module(bt)


@pytest.mark.parametrize("source,draws", [
    ("plt.plot([1, 2])", True),
    ("fig, ax = plt.subplots()\nax.imshow(x)", True),
    ("plots.curves(history)", True),
    ("for k in range(3):\n    axes[k].plot(t, y[k])", True),
    ("%matplotlib inline\nplt.show()", True),
    ("import matplotlib.pyplot as plt", False),                       # importing draws nothing
    ("def show(x):\n    plt.plot(x)\n    plt.show()", False),          # only a panel calls it
    ("widgets.panel(lambda n=3: plt.plot(range(n)), {})", False),
    ("class A:\n    def draw(self):\n        plt.plot(1)", False),
    ("x = np.zeros(3)", False),
    ("def broken(:", False),
])
def test_cells_that_draw_as_they_run(source, draws):
    assert bt.draws_at_top_level(source) is draws


def test_every_course_notebook_but_the_tour_is_expected_to_show_figures():
    expected = {p.stem: bt.expects_figures(nbformat.read(p, as_version=4))
                for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
    assert not expected.get("00_start_here", False)
    assert all(v for k, v in expected.items() if k != "00_start_here"), expected


def test_saved_outputs_count_errors_images_and_widget_views(tmp_path):
    nb = new_notebook(cells=[
        new_code_cell("1", outputs=[new_output("error", ename="ValueError", evalue="boom", traceback=[])]),
        new_code_cell("2", outputs=[new_output("display_data", {"image/png": "iVBOR", "text/plain": "<Figure>"})]),
        new_code_cell("3", outputs=[new_output("display_data", {
            "application/vnd.jupyter.widget-view+json": {"model_id": "m", "version_major": 2, "version_minor": 0}})]),
    ])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    v = bt.Verdict("nb.ipynb")
    bt.saved_outputs(path, v)
    assert (v.errors, v.figures_saved, v.widgets_saved) == (["cell 0: ValueError: boom"], 1, 1)


def verdict(**kw):
    base = dict(notebook="x.ipynb", code_cells=5, cells_run=5, figures_expected=True, figures_saved=2,
                figures_shown=2, widgets_saved=1, widgets=3)
    return bt.judge(bt.Verdict(**{**base, **kw}))


@pytest.mark.parametrize("change,problem", [
    ({}, None),
    ({"errors": ["cell 3: ValueError: boom"], "cells_run": 3}, "1 error output(s): cell 3: ValueError: boom"),
    ({"widget_errors": 1}, "'Error displaying widget' shown 1 time(s)"),
    ({"figures_saved": 0, "figures_shown": 0}, "the code draws figures but the page shows none"),
    ({"figures_shown": 1}, "2 image outputs saved, 1 shown in the page"),
    ({"widgets": 0}, "1 widget views saved, none rendered in the page"),
    ({"cells_run": 4}, "only 4 of 5 code cells ran"),
    ({"figures_expected": False, "figures_saved": 0, "figures_shown": 0}, None),
])
def test_what_fails_a_notebook(change, problem):
    v = verdict(**change)
    assert v.problems == ([problem] if problem else [])
    assert v.ok is (problem is None)


def test_the_self_check_covers_a_raise_a_hidden_figure_a_broken_widget_and_a_clean_run():
    expected = [e for _, e in bt.SELF_CHECKS.values()]
    assert None in expected and "error output" in expected
    assert "shows none" in expected and "Error displaying widget" in expected


def test_windowing_is_off_and_the_server_is_local():
    assert bt.SETTINGS["@jupyterlab/notebook-extension/tracker"] == {"windowingMode": "none"}
    src = (ROOT / "tools" / "browser_test.py").read_text()
    assert '"--ip=127.0.0.1"' in src and "--IdentityProvider.token=" in src
