"""Every notebook follows the course template and is committed clean (see COURSE_DESIGN.md)."""
import json
import re
from pathlib import Path

import nbformat
import pytest
from papermill.translators import PythonTranslator

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
