"""The notebook importer that tests notebook-defined code (tests/nbimport.py)."""
import json

import pytest

from tests import nbimport


@pytest.mark.parametrize("source,expected", [
    ("import numpy as np\nfrom math import pi\n", True),
    ("def f(x):\n    return 2 * x\n\nclass A:\n    pass\n", True),
    ('"""doc"""\nN = 3\nNAMES = ("a", "b")\n', True),
    ("%matplotlib inline\ndef f():\n    pass\n", True),
    ("x = np.zeros(3)\n", False),
    ("def f():\n    pass\nf()\n", False),
    ("", False),
    ("def broken(:\n", False),
])
def test_definition_cells_are_recognised(source, expected):
    assert nbimport.is_definition_cell(source) is expected


def test_definitions_and_check_cells(tmp_path, monkeypatch):
    def cell(src, **nbgrader):
        meta = {"nbgrader": nbgrader} if nbgrader else {}
        return {"cell_type": "code", "metadata": meta, "source": src, "outputs": []}
    cells = [cell("import math\n"),
             cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
                  solution=True, grade_id="nb_double"),
             cell("assert double(3) == 6, f'expected 6, got {double(3)}'\n", grade=True, grade_id="nb_double_check"),
             cell("print(double(math.pi))\n")]
    (tmp_path / "98_demo.ipynb").write_text(json.dumps({"cells": cells}))
    monkeypatch.setattr(nbimport, "NOTEBOOKS", tmp_path)
    ns = nbimport.definitions("98_demo")
    assert ns["double"](2) == 4 and "print" not in nbimport.cell_source("98_demo", "nb_double")
    nbimport.run_check("98_demo", "nb_double_check", ns)
    with pytest.raises(AssertionError, match="expected 6, got 9"):
        nbimport.run_check("98_demo", "nb_double_check", ns, overrides={"double": lambda x: 3 * x})
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in nbimport.graded_cells("98_demo")] == \
        ["nb_double", "nb_double_check"]
    with pytest.raises(ValueError, match="no cell"):
        nbimport.cell_source("98_demo", "no_such_id")
    with pytest.raises(ValueError, match="no notebook"):
        nbimport.definitions("99_nothing")
