"""Test the code that lives in notebook cells, where it lives.

`definitions(name)` executes only the code cells that are pure definitions (imports,
functions, classes, assignments of constants), so the methods a notebook teaches (an HNN, an
Euler-Lagrange layer, a wind tunnel) can be unit-tested without running its experiments.
`run_check(name, grade_id, ns, overrides)` runs one nbgrader check cell against a namespace,
so a test can show that the check fails on a plausible wrong answer.
"""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
_DEFINITION_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _cells(name: str) -> list[dict]:
    path = NOTEBOOKS / f"{name}.ipynb"
    if not path.exists():
        raise ValueError(f"no notebook {path}")
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _is_constant(node: ast.AST) -> bool:
    """An assignment whose right side is a literal (numbers, strings, tuples of them...)."""
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    try:
        ast.literal_eval(node.value)
        return True
    except ValueError:
        return False


def is_definition_cell(source: str) -> bool:
    """True when every top-level statement is an import, def, class, docstring or constant."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return False
    if not tree.body:
        return False
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not (isinstance(node, _DEFINITION_NODES) or docstring or _is_constant(node)):
            return False
    return True


def definitions(name: str, extra: dict | None = None) -> dict:
    """Execute a notebook's definition cells in a fresh namespace and return it."""
    ns: dict = {"__name__": f"notebook_{name}"}
    ns.update(extra or {})
    cwd = os.getcwd()
    os.chdir(NOTEBOOKS)  # as in the notebook: relative paths resolve from notebooks/
    try:
        for cell in _cells(name):
            src = _source(cell)
            if cell["cell_type"] == "code" and is_definition_cell(src):
                exec(compile(src, f"<{name}>", "exec"), ns)
    finally:
        os.chdir(cwd)
    return ns


def cell_source(name: str, grade_id: str) -> str:
    """The source of the cell whose nbgrader grade_id is `grade_id`."""
    for cell in _cells(name):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return _source(cell)
    raise ValueError(f"{name} has no cell with nbgrader grade_id {grade_id!r}")


def graded_cells(name: str) -> list[dict]:
    """The nbgrader cells (solutions and checks) of a notebook, in order."""
    return [c for c in _cells(name) if "nbgrader" in c.get("metadata", {})]


def run_check(name: str, grade_id: str, ns: dict, overrides: dict | None = None) -> dict:
    """Run a check cell in a copy of `ns` with `overrides` applied; return the namespace."""
    scope = dict(ns)
    scope.update(overrides or {})
    exec(compile(cell_source(name, grade_id), f"<{name}:{grade_id}>", "exec"), scope)
    return scope
