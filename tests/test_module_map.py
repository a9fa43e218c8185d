"""CONTRIBUTING.md's module map against the code (tools/module_map.py): every course module has
a row, its layer is the one tests/test_architecture.py enforces, and its "used by" column is
what the notebooks import."""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.test_architecture import PLUMBING  # noqa: E402
from tools import module_map  # noqa: E402

FIX = "run `python tools/module_map.py --write` and check the diff of CONTRIBUTING.md"


def test_every_course_module_has_one_row():
    rows, modules = module_map.contributing_column(), module_map.modules()
    assert sorted(rows) == modules, (f"CONTRIBUTING.md's module map: missing {sorted(set(modules) - set(rows))}, "
                                     f"no such module {sorted(set(rows) - set(modules))}")


def test_the_layers_are_the_architecture_tests():
    rows = module_map.contributing_column()
    plumbing = {m for m, (layer, _) in rows.items() if layer == "plumbing"}
    assert plumbing == PLUMBING - set(module_map.TRANSITIONAL), "CONTRIBUTING's plumbing rows vs tests/test_architecture.PLUMBING"


def test_the_used_by_column_is_what_the_notebooks_import():
    rows, column = module_map.contributing_column(), module_map.used_by()
    wrong = {m: (rows[m][1], column[m]) for m in column if m in rows and rows[m][1] != column[m]}
    assert not wrong, f"CONTRIBUTING.md says / the notebooks import: {wrong}; {FIX}"


def test_write_fixes_a_drifted_column():
    text = module_map.CONTRIBUTING.read_text()
    drifted = text.replace("| 01 |\n", "| 01, 02, 03 |\n", 1)
    assert drifted != text and module_map.write(drifted) == text


def test_notebook_uses_every_import_style(tmp_path, monkeypatch):
    code = ["import course\nimport course.weights\nfrom course import mnist1d, plots\n",
            "from course.fitting import History\nfrom course.physics.systems import Pendulum\n",
            "x = course.setup(seed=0)\ny = course.blur.gaussian_blur\n'course.shapes in a string'\n# course.ciphers\n",
            "%matplotlib inline\nfrom course import fea, show_source\n"]
    cells = [{"cell_type": "code", "metadata": {}, "source": c, "outputs": []} for c in code]
    cells.append({"cell_type": "markdown", "metadata": {}, "source": "from course import catch"})
    path = tmp_path / "98_demo.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    assert module_map.notebook_uses(path) == {"weights", "mnist1d", "plots", "fitting", "physics", "runtime",
                                              "blur", "fea"}


@pytest.mark.parametrize("numbers,text", [
    ([1], "01"), ([7, 8], "07, 08"), ([2, 3, 4, 5], "02-05"), ([1, 2, 3, 8, 9], "01-03, 08, 09"),
    (list(range(14)), "every notebook"), (list(range(1, 14)), "every paper notebook"),
])
def test_notebook_numbers(numbers, text):
    assert module_map._numbers(numbers, list(range(14))) == text
