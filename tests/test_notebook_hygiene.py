"""Every notebook follows the course template and is committed clean (see COURSE_DESIGN.md)."""
import json
import re
from pathlib import Path

import nbformat
import pytest
from papermill.translators import PythonTranslator

from tools.nbimport import is_check_cell, is_parameters_cell, stray_statements

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAPER_NOTEBOOKS = [p for p in NOTEBOOKS if not p.name.startswith("00_")]


def load(path):
    return json.loads(path.read_text())


def source(cell):
    return "".join(cell["source"])


def test_there_are_notebooks():
    assert (ROOT / "notebooks" / "00_start_here.ipynb") in NOTEBOOKS
    assert PAPER_NOTEBOOKS, "no paper notebook found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_kernel_and_clean_outputs(path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        kept = cell.get("metadata", {}).get("keep_output") or "NBVAL_CHECK_OUTPUT" in source(cell)
        if not kept:
            assert not cell.get("outputs"), f"{path.name}: outputs committed in cell:\n{source(cell)[:200]}"
            assert cell.get("execution_count") is None, f"{path.name}: execution count committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_with_fast(path):
    cells = [c for c in load(path)["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{path.name}: needs exactly one cell tagged 'parameters', has {len(cells)}"
    src = source(cells[0])
    assert re.search(r"^FAST\s*=\s*course\.fast_mode\(\)", src, re.M), "FAST must default to course.fast_mode()"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter(path):
    """papermill parses `name = value  # help`; an '=' in the comment hides the parameter
    from `papermill --help-notebook` and makes every FULL run warn 'unknown parameter'."""
    cell = next(c for c in load(path)["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    assigned = set(re.findall(r"^([A-Za-z_]\w*)\s*=", source(cell), re.M))
    parsed = {p.name for p in PythonTranslator.inspect(nbformat.from_dict(dict(cell, source=source(cell))))}
    assert "FAST" in parsed and assigned <= parsed, f"papermill cannot read {sorted(assigned - parsed)}"


@pytest.mark.parametrize("path", PAPER_NOTEBOOKS, ids=lambda p: p.stem)
def test_template_parts(path):
    nb = load(path)
    md = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "code")
    assert re.search(r"arXiv[: ]\s*\d{4}\.\d{4,5}", md), "cite the paper with its arXiv id"
    assert "learning goals" in md.lower()
    assert md.count("<details>") >= 2, "2-3 exercises with solutions in <details> blocks"
    assert "course.setup(" in code
    assert "widgets.panel(" in code, "an ipywidgets panel on the hyperparameters that matter"
    assert "results.Recorder(" in code or "results.record(" in code, "reproduction cards"
    assert "further reading" in md.lower()


def graded(nb):
    """(solution cells, check cells) with nbgrader metadata, in order."""
    cells = [c for c in nb["cells"] if "nbgrader" in c.get("metadata", {})]
    solutions = [c for c in cells if c["metadata"]["nbgrader"].get("solution")]
    checks = [c for c in cells if c["metadata"]["nbgrader"].get("grade")]
    return solutions, checks


@pytest.mark.parametrize("path", PAPER_NOTEBOOKS, ids=lambda p: p.stem)
def test_students_build_the_method(path):
    """Issue 9's template: graded exercises right after which a check runs, predict-first
    prompts, a Summary, a core path with Bonus material marked, a Next link, a header."""
    nb = load(path)
    md = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    solutions, checks = graded(nb)
    assert len(solutions) >= 2, f"{path.name}: needs >= 2 graded exercises, has {len(solutions)}"
    for sol in solutions:
        assert "### BEGIN SOLUTION" in source(sol) and "### END SOLUTION" in source(sol)
        nxt = nb["cells"][nb["cells"].index(sol) + 1]
        assert nxt.get("metadata", {}).get("nbgrader", {}).get("grade"), \
            f"{path.name}: exercise {sol['metadata']['nbgrader'].get('grade_id')} is not followed by its check cell"
    ids = [c["metadata"]["nbgrader"].get("grade_id") for c in solutions + checks]
    assert len(ids) == len(set(ids)) and all(ids), f"{path.name}: grade_ids must be unique and set"
    assert len(re.findall(r"(?i)predict first", md)) >= 2, f"{path.name}: 2-3 predict-first prompts"
    assert re.search(r"^#+ .*Summary", md, re.M), f"{path.name}: a Summary section"
    assert re.search(r"^#+ .*Bonus", md, re.M | re.I), f"{path.name}: mark what is beyond the core path as Bonus"
    assert re.search(r"\*\*Next", md), f"{path.name}: a **Next** link at the end"
    header = source(nb["cells"][0]).lower()
    for part in ("prerequisite", "core path", "fast", "full", "lectures.md"):
        assert part in header, f"{path.name}: the first cell must state {part!r}"
    assert re.search(r"\\tag\{\d+\}|\(\d+\)\s*\$\$", md), f"{path.name}: number the key equations"


@pytest.mark.parametrize("path", PAPER_NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebooks_own_code_has_its_test_file(path):
    """Code defined in a notebook is tested where it lives (tests/nbimport.py), one file each."""
    assert (ROOT / "tests" / f"test_notebook_{path.stem}.py").exists(), \
        f"{path.name}: add tests/test_notebook_{path.stem}.py (its exercises' checks must fail on wrong answers)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_cell_that_defines_holds_definitions_only(path):
    """Tests import a notebook's code by running its definition cells (tools/nbimport.py): a
    cell that defines a function or class may hold only imports, def, class, docstrings and
    constant assignments, or the function cannot be tested where it lives. nbgrader check cells
    are exempt: they are tests, run whole by run_check, and their helpers are scaffolding."""
    stray = [f"{path.name} cell {i} (0-based): {statement}"
             for i, cell in enumerate(load(path)["cells"])
             if cell["cell_type"] == "code" and not is_parameters_cell(cell) and not is_check_cell(cell)
             for statement in stray_statements(source(cell))]
    assert not stray, ("a cell that defines a function or class holds definitions only (imports, def, "
                       "class, docstrings, constants): move these statements to a cell of their own\n  "
                       + "\n  ".join(stray))
