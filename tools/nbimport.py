"""Import the code that lives in notebook cells, where it lives, for tests and benchmarks.

`definitions(name)` runs, in notebook order and in one fresh namespace, the cells that set a
notebook up and the cells that define its code:

- every code cell that holds definitions only (imports, def, class, docstrings, constant
  assignments: `is_definition_cell`);
- the one cell tagged `parameters`, with FAST forced (True by default, so imports stay cheap);
- the setup cell (the first cell after it that calls `course.setup(`), quietly and on the CPU.

So every function and class that a notebook defines is importable with the notebook's own
parameters (`tests/test_notebook_hygiene.py` keeps each def or class in a definition cell).
Experiments, figures and cards are not run.

`run_check(name, grade_id, ns, overrides)` runs one nbgrader check cell against a namespace,
so a test can show that the check fails on a plausible wrong answer.

`importable(ns)` (a context manager) registers a namespace as a module under its `__name__`, so
that course.sweep's worker processes find the notebook's functions by name, as they do in the
notebook's own `__main__`.

`python tools/nbimport.py` prints, per notebook, how many of its functions and classes import.
tests/nbimport.py re-exports this module for the tests.
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
_DEFINITION_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_DEFINES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
SETUP_CALL = "course.setup("


def notebook_path(name: str | Path) -> Path:
    """`name` as a notebook of notebooks/ ("02_hamiltonian_nn") or a path to any .ipynb file."""
    path = Path(name)
    if path.suffix != ".ipynb":
        path = NOTEBOOKS / f"{name}.ipynb"
    if not path.exists():
        raise ValueError(f"no notebook {path}")
    return path


def _cells(name: str | Path) -> list[dict]:
    return json.loads(notebook_path(name).read_text())["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _parse(source: str) -> ast.Module | None:
    """The cell's statements, IPython magics and shell lines left out; None if it does not parse."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _is_constant(node: ast.AST) -> bool:
    """An assignment of a literal (numbers, strings, tuples of them...) to plain names."""
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if not all(isinstance(n, (ast.Name, ast.Tuple, ast.List, ast.Store)) for t in targets for n in ast.walk(t)):
        return False
    try:
        ast.literal_eval(node.value)
        return True
    except ValueError:
        return False


def _is_definition(node: ast.AST) -> bool:
    docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    return isinstance(node, _DEFINITION_NODES) or docstring or _is_constant(node)


def is_definition_cell(source: str) -> bool:
    """True when every top-level statement is an import, def, class, docstring or constant."""
    tree = _parse(source)
    return bool(tree and tree.body) and all(_is_definition(node) for node in tree.body)


def defined_names(source: str) -> list[str]:
    """The functions and classes a cell defines at its top level."""
    tree = _parse(source)
    return [node.name for node in (tree.body if tree else []) if isinstance(node, _DEFINES)]


def stray_statements(source: str) -> list[str]:
    """In a cell that defines a function or class, the statements that are not definitions
    (the first line of each); empty when the cell defines nothing or holds definitions only."""
    tree = _parse(source)
    if tree is None or not any(isinstance(node, _DEFINES) for node in tree.body):
        return []
    return [ast.unparse(node).splitlines()[0] for node in tree.body if not _is_definition(node)]


def is_parameters_cell(cell: dict) -> bool:
    return cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", [])


def is_check_cell(cell: dict) -> bool:
    """An nbgrader check (grade) cell: a test the notebook ships, run whole by `run_check`; the
    helpers it defines (a toy model, a known H) are its scaffolding, not the notebook's code."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


class _QuietCourse:
    """Stands in for the `course` package while the setup cell runs: `course.setup` is asked
    for the device given and prints nothing; every other name is the package's own."""

    def __init__(self, course, device: str | None):
        self._course, self._device = course, device

    def __getattr__(self, attr):
        return getattr(self._course, attr)

    def setup(self, *args, **kwargs):
        kwargs["quiet"] = True
        if self._device is not None:
            kwargs["device"] = self._device
        return self._course.setup(*args, **kwargs)


def _run(src: str, ns: dict, where: str) -> None:
    exec(compile(src, where, "exec"), ns)


def definitions(name: str | Path, extra: dict | None = None, *, fast: bool = True,
                device: str | None = "cpu", cwd: str | Path | None = None) -> dict:
    """Run a notebook's parameters, setup and definition cells in a fresh namespace; return it.

    Args:
        name: a notebook of notebooks/ ("02_hamiltonian_nn") or a path to a .ipynb file (a
            student copy, say).
        extra: names to set, as papermill's `-p` does: before the cells run and again after the
            parameters cell and after the setup cell (so they win over what those cells set).
        fast: the value FAST takes after the parameters cell (`extra={"FAST": ...}` wins too).
        device: what the setup cell's `course.setup(...)` gets as `device` ("cpu", so tests
            agree on any machine; None: a GPU when there is one).
        cwd: where relative paths resolve while the cells run (default: the notebook's folder,
            as in Jupyter; a student copy elsewhere passes notebooks/).
    The setup cell's output is swallowed.
    """
    path = notebook_path(name)
    where = f"<{path.stem}>"
    extra = dict(extra or {})
    ns: dict = {"__name__": f"notebook_{path.stem}"}
    ns.update(extra)
    before = os.getcwd()
    os.chdir(path.parent if cwd is None else cwd)  # as in Jupyter: paths resolve from the notebook's folder
    seen_parameters = set_up = False
    try:
        for cell in _cells(path):
            src = _source(cell)
            if cell["cell_type"] != "code":
                continue
            if is_parameters_cell(cell):
                _run(src, ns, f"<{path.stem}:parameters>")
                ns["FAST"] = fast
                ns.update(extra)
                seen_parameters = True
            elif seen_parameters and not set_up and SETUP_CALL in src:
                course = ns.get("course")
                if course is not None:
                    ns["course"] = _QuietCourse(course, device)
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        _run(src, ns, f"<{path.stem}:setup>")
                finally:
                    if course is not None:
                        ns["course"] = course
                ns.update(extra)
                set_up = True
            elif is_definition_cell(src):
                _run(src, ns, where)
    finally:
        os.chdir(before)
    return ns


def cell_source(name: str | Path, grade_id: str) -> str:
    """The source of the cell whose nbgrader grade_id is `grade_id`."""
    for cell in _cells(name):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return _source(cell)
    raise ValueError(f"{name} has no cell with nbgrader grade_id {grade_id!r}")


def graded_cells(name: str | Path) -> list[dict]:
    """The nbgrader cells (solutions and checks) of a notebook, in order."""
    return [c for c in _cells(name) if "nbgrader" in c.get("metadata", {})]


def run_check(name: str | Path, grade_id: str, ns: dict, overrides: dict | None = None) -> dict:
    """Run a check cell in a copy of `ns` with `overrides` applied; return the namespace."""
    scope = dict(ns)
    scope.update(overrides or {})
    exec(compile(cell_source(name, grade_id), f"<{name}:{grade_id}>", "exec"), scope)
    return scope


@contextlib.contextmanager
def importable(ns: dict):
    """Register `ns` as the module `ns["__name__"]` while the block runs (worker processes unpickle
    the notebook's functions by module and name); yields `ns`."""
    import types
    name = ns.get("__name__")
    if not name or name in sys.modules:
        raise ValueError(f"the namespace needs a __name__ that is not an imported module, got {name!r}")
    module = types.ModuleType(name)
    module.__dict__.update(ns)
    sys.modules[name] = module
    try:
        yield ns
    finally:
        del sys.modules[name]


def reach(name: str | Path, importer=None, strict: bool = False) -> tuple[list[str], list[str]]:
    """(the functions and classes the notebook defines outside its check cells, those of them
    that `importer` (default `definitions`) makes importable). An importer that fails makes none
    importable, or raises when `strict`."""
    defined = [n for cell in _cells(name) if cell["cell_type"] == "code" and not is_check_cell(cell)
               for n in defined_names(_source(cell))]
    try:
        ns = (importer or definitions)(name)
    except Exception as err:  # noqa: BLE001 (a report, not a test)
        if strict:
            raise
        print(f"{name}: the importer failed: {type(err).__name__}: {err}", file=sys.stderr)
        ns = {}
    return defined, [n for n in defined if n in ns]


def main() -> int:
    total = found = 0
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        defined, importable = reach(path.stem)
        unique = sorted(set(defined))
        missing = sorted(set(defined) - set(importable))
        total, found = total + len(unique), found + len(unique) - len(missing)
        print(f"{path.stem:24s} {len(unique) - len(missing):3d} of {len(unique):3d} importable"
              + (f"; not: {', '.join(missing)}" if missing else ""))
    print(f"{'all':24s} {found:3d} of {total:3d}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(NOTEBOOKS.parent))
    sys.exit(main())
