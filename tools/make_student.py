"""Write the student copies of the notebooks (run by `make student`).

    python tools/make_student.py [--out build/student] [notebooks/NN_name.ipynb ...]

Each notebook goes through nbgrader's own preprocessors, in the order of nbgrader's
`generate_assignment`, run by nbconvert's NotebookExporter:

    LockCells -> ClearSolutions -> ClearOutput -> CheckCellMetadata -> ComputeChecksums
    -> ClearHiddenTests -> ClearMarkScheme -> ComputeChecksums -> CheckCellMetadata

so the code between `### BEGIN SOLUTION` and `### END SOLUTION` becomes
`# YOUR CODE HERE` / `raise NotImplementedError()`, check cells are kept as they are (and
locked), outputs are cleared, and nbgrader's checksums are recorded. Left out of
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
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def preprocessors() -> list:
    """nbgrader's generate_assignment preprocessors that need no course directory or database."""
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput,
                                        ClearSolutions, ComputeChecksums, LockCells)
    return [LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
            ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata]


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
    except Exception as err:  # nbgrader's RuntimeError / ValidationError: name the notebook
        raise RuntimeError(f"{src.name}: nbgrader could not make a student copy: {err}") from err
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / src.name
    dest.write_text(body)
    return (dest, *counts(nb))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    t0 = time.perf_counter()
    exp = exporter()
    total = 0
    for src in paths:
        dest, solutions, checks = student_copy(src, args.out, exp)
        total += solutions
        print(f"{dest}: {solutions} exercise(s) cleared, {checks} check cell(s) kept")
    print(f"{len(paths)} student notebook(s), {total} exercise(s), in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
