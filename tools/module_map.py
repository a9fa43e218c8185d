"""Which notebooks use which `course` module: the "used by" column of CONTRIBUTING.md's module map.

Read from the notebooks' code cells (ast, so comments and strings do not count):
`from course import x`, `from course.x import y`, `import course.x`, and `course.x` attribute
uses; a name that `course/__init__.py` re-exports (`course.setup`) counts for the module it
comes from (runtime). A sub-package (physics) counts as one module. A transitional module
that only re-exports another (TRANSITIONAL) counts for the module it re-exports.

`python tools/module_map.py` prints the column; `--write` puts it into CONTRIBUTING.md;
tests/test_module_map.py fails when CONTRIBUTING.md disagrees.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
NOTEBOOKS = ROOT / "notebooks"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
#: modules kept for a while as one-line re-exports of their new names ({old: new}; none now)
TRANSITIONAL: dict[str, str] = {}
NO_NOTEBOOK = "no notebook"


def modules() -> list[str]:
    """The course modules of the map: top-level modules and sub-packages, transitional ones left out."""
    found = {p.stem for p in COURSE.glob("*.py") if p.stem != "__init__"}
    found |= {p.parent.name for p in COURSE.glob("*/__init__.py")}
    return sorted(found - set(TRANSITIONAL))


def _reexports() -> dict[str, str]:
    """Names that course/__init__.py imports from its modules: {'setup': 'runtime', ...}."""
    names = {}
    for node in ast.parse((COURSE / "__init__.py").read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            names.update({a.asname or a.name: node.module.split(".")[0] for a in node.names})
    return names


def _code(path: Path) -> ast.Module:
    cells = json.loads(path.read_text())["cells"]
    parsed = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        try:
            parsed.append(ast.parse("\n".join(lines)))
        except SyntaxError:
            continue
    return ast.Module(body=[n for tree in parsed for n in tree.body], type_ignores=[])


def notebook_uses(path: Path) -> set[str]:
    """The course modules a notebook uses (transitional ones counted as their target)."""
    known, reexports = set(modules()) | set(TRANSITIONAL), _reexports()
    used = set()

    def add(name: str) -> None:
        if name in known:
            used.add(TRANSITIONAL.get(name, name))
        elif name in reexports:
            used.add(reexports[name])

    for node in ast.walk(_code(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "course":
            parts = node.module.split(".")
            if len(parts) > 1:
                add(parts[1])
            else:
                for alias in node.names:
                    add(alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "course" and len(parts) > 1:
                    add(parts[1])
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "course":
            add(node.attr)
    return used


def _numbers(numbers: list[int], every: list[int]) -> str:
    if numbers == every:
        return "every notebook"
    if numbers == [n for n in every if n]:
        return "every paper notebook"
    runs, parts = [], []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    for run in runs:
        parts += [f"{run[0]:02d}-{run[-1]:02d}"] if len(run) >= 3 else [f"{n:02d}" for n in run]
    return ", ".join(parts)


def used_by() -> dict[str, str]:
    """{module: the notebooks that use it, as CONTRIBUTING.md writes them}."""
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    every = [int(p.name[:2]) for p in paths]
    uses = {p: notebook_uses(p) for p in paths}
    column = {}
    for module in modules():
        numbers = [int(p.name[:2]) for p in paths if module in uses[p]]
        column[module] = _numbers(numbers, every) if numbers else NO_NOTEBOOK
    return column


ROW = re.compile(r"^\| *(plumbing|domain)? *\| *`([a-z_0-9]+)/?`[^|]*\|[^|]*\| *([^|]*?) *\|$")


def contributing_column(text: str | None = None) -> dict[str, tuple[str, str]]:
    """{module: (layer, used by)} as CONTRIBUTING.md's module map states them (a row with an
    empty layer cell continues the layer above)."""
    text = CONTRIBUTING.read_text() if text is None else text
    rows, layer = {}, ""
    for line in text.splitlines():
        match = ROW.match(line.strip())
        if match:
            layer = match.group(1) or layer
            rows[match.group(2)] = (layer, match.group(3))
    return rows


def write(text: str) -> str:
    """CONTRIBUTING.md's text with each row's "used by" cell replaced by `used_by()`'s."""
    column = used_by()

    def fix(line: str) -> str:
        match = ROW.match(line.strip())
        if not match or match.group(2) not in column:
            return line
        head = line.rstrip()[:-1].rstrip().rpartition("|")[0]
        return f"{head}| {column[match.group(2)]} |"
    return "\n".join(fix(line) for line in text.splitlines()) + ("\n" if text.endswith("\n") else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite CONTRIBUTING.md's used-by column")
    args = parser.parse_args(argv)
    if args.write:
        CONTRIBUTING.write_text(write(CONTRIBUTING.read_text()))
    for module, notebooks in used_by().items():
        print(f"{module:16s} {notebooks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
