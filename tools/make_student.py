"""Write the student copies of the notebooks (run by `make student`).

    python tools/make_student.py [--out build/student] [notebooks/NN_name.ipynb ...]

Each notebook goes through nbgrader's own preprocessors, in the order of nbgrader's
`generate_assignment`, run by nbconvert's NotebookExporter:

    LockCells -> ClearSolutions -> ClearOutput -> CheckCellMetadata -> ComputeChecksums
    -> ClearHiddenTests -> ClearMarkScheme -> ComputeChecksums -> CheckCellMetadata

so the code between `### BEGIN SOLUTION` and `### END SOLUTION` becomes
`# YOUR CODE HERE` / `raise NotImplementedError()`, check cells are kept as they are (and
locked), outputs are cleared, and nbgrader's checksums are recorded. Before them,
`DropSolutionCells` removes every Markdown cell tagged `solution` (the course's convention: each
`<details><summary>Solution</summary>` of an end-of-notebook exercise, or Answer of a Predict
first prompt, in a cell of its own with that tag) and stops, naming notebook and cell, at a
`<details>` block whose summary says Solution or Answer in a cell without the tag. The
course's nbgrader configuration (nbgrader_config.py) adds the same preprocessor to nbgrader's
own `generate_assignment`, so a lecturer's release copies hold no answers either. Left out of
generate_assignment's list: IncludeHeaderFooter (no header), InstantiateTests (no
AUTOTEST cells) and SaveCells (a gradebook database, which a lecturer's own nbgrader course
makes when it imports these notebooks).

A notebook with no graded cells is copied with its outputs cleared. A solution region in a
cell that is not marked as a solution cell, an unclosed region or a duplicated grade_id
stops the run with nbgrader's message and the notebook's name.

The copies are for handing out as they are: students put them in place of `notebooks/` in
their clone of the course (their relative links and data paths assume that folder).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_TAG = "solution"
# a collapsed answer: <details><summary>Solution</summary>, <summary>Solutions</summary>, <summary>Answer ...
ANSWER = re.compile(r"<details[^>]*>\s*<summary[^>]*>[^<]*\b(solutions?|answers?)\b", re.I)


class SolutionLeftError(ValueError):
    """A `<details>` answer in a cell that the student build would keep."""


def tagged_solution(cell) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def untagged_answers(nb) -> list[tuple[int, str]]:
    """(cell index, summary line) of each `<details>` answer in a Markdown cell without the tag."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and not tagged_solution(cell):
            for m in ANSWER.finditer(cell.source):
                found.append((i, m.group(0).replace("\n", " ")))
    return found


class DropSolutionCells(Preprocessor):
    """Remove the Markdown cells tagged `solution`; stop at an untagged `<details>` answer."""

    enabled = Bool(True).tag(config=True)    # on when nbgrader registers the class by name

    def preprocess(self, nb, resources):
        name = (resources or {}).get("unique_key") or "the notebook"
        left = untagged_answers(nb)
        if left:
            where = "; ".join(f"cell {i}: {text!r}" for i, text in left)
            raise SolutionLeftError(
                f"{name}: a <details> answer outside a cell tagged '{SOLUTION_TAG}' would reach the students "
                f"({where}). Put each one in a Markdown cell of its own with the tag '{SOLUTION_TAG}'.")
        nb.cells = [c for c in nb.cells if not (c.cell_type == "markdown" and tagged_solution(c))]
        return nb, resources


def preprocessors() -> list:
    """DropSolutionCells, then nbgrader's generate_assignment preprocessors that need no course
    directory or database."""
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput,
                                        ClearSolutions, ComputeChecksums, LockCells)
    return [DropSolutionCells, LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
            ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata]


def leftovers(nb) -> list[str]:
    """What a student copy must not hold: solution delimiters, a cell tagged `solution`, a
    `<details>` answer (empty: none)."""
    found = []
    for i, cell in enumerate(nb.cells):
        if "### BEGIN SOLUTION" in cell.source or "### END SOLUTION" in cell.source:
            found.append(f"cell {i}: a solution region")
        if tagged_solution(cell):
            found.append(f"cell {i}: a cell tagged '{SOLUTION_TAG}'")
        if cell.cell_type == "markdown" and ANSWER.search(cell.source):
            found.append(f"cell {i}: a <details> answer")
    return found


def exporter():
    """An nbconvert NotebookExporter that runs nbgrader's preprocessors, in order."""
    from nbconvert.exporters import NotebookExporter
    from traitlets.config import Config
    exp = NotebookExporter(config=Config())
    for pre in preprocessors():
        exp.register_preprocessor(pre(), enabled=True)
    return exp


def counts(nb) -> tuple[int, int]:
    """(solution cells, graded check cells) of a notebook."""
    meta = [c.get("metadata", {}).get("nbgrader", {}) for c in nb.cells]
    return sum(bool(m.get("solution")) for m in meta), sum(bool(m.get("grade")) for m in meta)


def student_copy(src: Path, out_dir: Path, exp=None) -> tuple[Path, int, int]:
    """Write the student copy of `src` into `out_dir`; return (path, solutions, checks)."""
    exp = exp or exporter()
    nb = nbformat.read(src, as_version=4)
    try:
        body, _ = exp.from_notebook_node(nb, resources={"unique_key": src.stem})
    except SolutionLeftError as err:
        raise RuntimeError(f"{src.name}: {err}") from err
    except Exception as err:  # nbgrader's RuntimeError / ValidationError: name the notebook
        raise RuntimeError(f"{src.name}: nbgrader could not make a student copy: {err}") from err
    left = leftovers(nbformat.reads(body, as_version=4))
    if left:
        raise RuntimeError(f"{src.name}: the student copy still holds " + "; ".join(left))
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / src.name
    dest.write_text(body)
    return (dest, *counts(nb))


_DETAILS = re.compile(r"<details[^>]*>.*?</details>[ \t]*", re.S)


def split_answers(source: str) -> list[tuple[str, bool]]:
    """A Markdown cell's source cut into pieces: (text, is a `<details>` answer)."""
    pieces, pos = [], 0
    for m in _DETAILS.finditer(source):
        if not ANSWER.match(m.group(0)):
            continue
        pieces.append((source[pos:m.start()], False))
        pieces.append((m.group(0), True))
        pos = m.end()
    pieces.append((source[pos:], False))
    return [(text.strip("\n"), answer) for text, answer in pieces if text.strip()]


def tag_solutions(path: Path) -> int:
    """Rewrite a lecturer's notebook so that each `<details>` answer is a Markdown cell of its
    own tagged `solution` (the text around it stays where it was); returns how many were moved.
    Running it again changes nothing."""
    import json
    import uuid
    nb = json.loads(Path(path).read_text())
    cells, moved = [], 0
    for cell in nb["cells"]:
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] != "markdown" or SOLUTION_TAG in cell.get("metadata", {}).get("tags", []) \
                or not ANSWER.search(src):
            cells.append(cell)
            continue
        for k, (text, answer) in enumerate(split_answers(src)):
            new = dict(cell) if k == 0 else {"cell_type": "markdown", "metadata": {}}
            if k > 0 and ("id" in cell or (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5)):
                new["id"] = uuid.uuid4().hex[:8]
            new["metadata"] = dict(new.get("metadata", {}))
            if answer:
                new["metadata"]["tags"] = [*new["metadata"].get("tags", []), SOLUTION_TAG]
                moved += 1
            elif k > 0:
                new["metadata"].pop("tags", None)
            new["source"] = text.splitlines(keepends=True)
            cells.append(new)
    if moved:
        nb["cells"] = cells
        Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return moved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    ap.add_argument("--tag-solutions", action="store_true",
                    help="instead: rewrite the given lecturer notebooks so that each <details> answer is a "
                         "Markdown cell of its own tagged 'solution'")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.tag_solutions:
        for path in paths:
            print(f"{path}: {tag_solutions(path)} answer(s) moved into cells tagged '{SOLUTION_TAG}'")
        return 0
    t0 = time.perf_counter()
    exp = exporter()
    total = 0
    failed = []
    for src in paths:
        try:
            dest, solutions, checks = student_copy(src, args.out, exp)
        except RuntimeError as err:
            failed.append(str(err))
            print(f"FAILED {err}", file=sys.stderr)
            continue
        total += solutions
        dropped = sum(tagged_solution(c) for c in nbformat.read(src, as_version=4).cells)
        print(f"{dest}: {solutions} exercise(s) cleared, {dropped} solution cell(s) dropped, {checks} check cell(s) kept")
    print(f"{len(paths) - len(failed)} student notebook(s), {total} exercise(s), in {time.perf_counter() - t0:.1f} s")
    if failed:
        print(f"{len(failed)} notebook(s) not written: a student copy would give answers away", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
