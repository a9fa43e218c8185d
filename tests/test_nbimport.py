"""The notebook importer that tests notebook-defined code (tools/nbimport.py, re-exported by tests/nbimport.py)."""
import json

import pytest

from tests import nbimport as reexport
from tools import nbimport


@pytest.mark.parametrize("source,expected", [
    ("import numpy as np\nfrom math import pi\n", True),
    ("def f(x):\n    return 2 * x\n\nclass A:\n    pass\n", True),
    ('"""doc"""\nN = 3\nNAMES = ("a", "b")\n', True),
    ("%matplotlib inline\ndef f():\n    pass\n", True),
    ("x = np.zeros(3)\n", False),
    ("def f():\n    pass\nf()\n", False),
    ("", False),
    ("def broken(:\n", False),
    ("A = 3\nB, C = 1, 2\n", True),
    ("A.n = 3\n", False),
    ("D['k'] = 3\n", False),
])
def test_definition_cells_are_recognised(source, expected):
    assert nbimport.is_definition_cell(source) is expected


@pytest.mark.parametrize("source,stray", [
    ("import math\nN = 3\ndef f(x):\n    return x\n", []),
    ("x = f(2)\nprint(x)\n", []),   # defines nothing: not the rule's business
    ("def f():\n    pass\n\nprint(f())\nfor i in range(3):\n    pass\n", ["print(f())", "for i in range(3):"]),
    ("class A:\n    pass\nA.n = 3\n", ["A.n = 3"]),
])
def test_stray_statements_in_a_cell_that_defines(source, stray):
    assert nbimport.stray_statements(source) == stray


def test_defined_names():
    assert nbimport.defined_names("import os\ndef f():\n    def inner():\n        pass\nclass A:\n    pass\n") == ["f", "A"]


def cell(src, tags=(), **nbgrader):
    meta = {"nbgrader": nbgrader} if nbgrader else {}
    if tags:
        meta["tags"] = list(tags)
    return {"cell_type": "code", "metadata": meta, "source": src, "outputs": []}


@pytest.fixture
def demo(tmp_path, monkeypatch):
    cells = [cell("import math\nimport course\n"),
             cell("FAST = course.fast_mode()\nSEED = 3\nSTEPS = (10, 1000)\nLR = 1e-2\n", tags=["parameters"]),
             {"cell_type": "markdown", "metadata": {}, "source": "course.setup( in a markdown cell"},
             cell("rt = course.setup(seed=SEED, fast=FAST)\nsteps = rt.pick(STEPS)\nprint('set up')\n"),
             cell("def double(x, lr=LR, n=steps):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
                  solution=True, grade_id="nb_double"),
             cell("def _triple(x):\n    return 3 * x\n\nassert double(3) == 6, f'expected 6, got {double(3)}'\n",
                  grade=True, grade_id="nb_double_check"),
             cell("print(double(math.pi))\nSTEPS_SEEN = steps\n"),
             cell("def later():\n    return 1\nlater()\n")]
    (tmp_path / "98_demo.ipynb").write_text(json.dumps({"cells": cells}))
    monkeypatch.setattr(nbimport, "NOTEBOOKS", tmp_path)
    return tmp_path / "98_demo.ipynb"


def test_definitions_and_check_cells(demo, capsys):
    ns = nbimport.definitions("98_demo")
    assert capsys.readouterr().out == "", "the setup cell runs quietly"
    assert ns["double"](2) == 4 and "print" not in nbimport.cell_source("98_demo", "nb_double")
    nbimport.run_check("98_demo", "nb_double_check", ns)
    with pytest.raises(AssertionError, match="expected 6, got 9"):
        nbimport.run_check("98_demo", "nb_double_check", ns, overrides={"double": lambda x: 3 * x})
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in nbimport.graded_cells("98_demo")] == \
        ["nb_double", "nb_double_check"]
    assert "STEPS_SEEN" not in ns and "later" not in ns, "experiment cells and mixed cells do not run"
    with pytest.raises(ValueError, match="no cell"):
        nbimport.cell_source("98_demo", "no_such_id")
    with pytest.raises(ValueError, match="no notebook"):
        nbimport.definitions("99_nothing")


def test_parameters_and_setup_cells_run_fast_on_the_cpu(demo, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "0")
    ns = nbimport.definitions("98_demo")
    assert ns["FAST"] is True and ns["rt"].fast and ns["steps"] == 10 and ns["rt"].seed == 3
    assert str(ns["rt"].device) == "cpu" and ns["double"].__defaults__ == (1e-2, 10)
    assert ns["course"].__name__ == "course", "the real package is back after the setup cell"
    full = nbimport.definitions("98_demo", fast=False)
    assert full["steps"] == 1000 and not full["rt"].fast


def test_extra_names_win_as_papermill_parameters_do(demo):
    ns = nbimport.definitions("98_demo", extra={"LR": 0.5, "STEPS": (7, 8), "FAST": False})
    assert ns["LR"] == 0.5 and ns["steps"] == 8 and ns["double"].__defaults__ == (0.5, 8)
    assert nbimport.definitions("98_demo", extra={"steps": 99})["double"].__defaults__ == (1e-2, 99)


def test_a_notebook_anywhere_by_path(demo, tmp_path, monkeypatch):
    monkeypatch.setattr(nbimport, "NOTEBOOKS", tmp_path / "elsewhere")
    ns = nbimport.definitions(demo)
    assert ns["double"](1) == 2 and nbimport.cell_source(demo, "nb_double").startswith("def double")
    (tmp_path / "sub").mkdir()
    copy = tmp_path / "sub" / "copy.ipynb"
    copy.write_text(demo.read_text().replace("print('set up')", "import os\\nHERE = os.getcwd()"))
    assert nbimport.definitions(copy)["HERE"] == str(tmp_path / "sub"), "paths resolve from the notebook's folder"
    assert nbimport.definitions(copy, cwd=tmp_path)["HERE"] == str(tmp_path), "or from cwd"
    defined, importable = nbimport.reach(demo)
    assert defined == ["double", "later"] and importable == ["double"]


NOTEBOOKS = sorted(nbimport.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_function_and_class_a_notebook_defines_is_importable(path):
    defined, importable = nbimport.reach(path.stem, strict=True)
    missing = sorted(set(defined) - set(importable))
    assert not missing, (f"{path.name}: tests cannot import {', '.join(missing)}; define each in a cell "
                         "that holds definitions only (tests/test_notebook_hygiene.py names the cells)")


def test_tests_nbimport_is_the_same_importer():
    assert reexport.definitions is nbimport.definitions and reexport.run_check is nbimport.run_check


def test_importable_registers_the_namespace_only_inside_the_block():
    import pickle
    import sys
    ns = {"__name__": "notebook_importable_probe"}
    exec("def double(x):\n    return 2 * x\n", ns)
    with nbimport.importable(ns) as same:
        assert same is ns and pickle.loads(pickle.dumps(ns["double"]))(3) == 6   # what a worker process does
    assert "notebook_importable_probe" not in sys.modules


@pytest.mark.parametrize("name", [None, "", "json"])
def test_importable_refuses_a_nameless_or_shadowing_namespace(name):
    with pytest.raises(ValueError, match="__name__"):
        with nbimport.importable({} if name is None else {"__name__": name}):
            pass
