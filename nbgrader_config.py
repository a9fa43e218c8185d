"""nbgrader configuration of Papers from Scratch: a lecturer's nbgrader course of these notebooks.

From the repository root (nbgrader reads this file from the directory it runs in; the course
directory is build/nbgrader/, the notebooks go in build/nbgrader/source/<assignment>/):

    export PATH="$PWD/.venv/bin:$PATH"      # nbgrader calls `alembic` by name (this file adds it too)
    .venv/bin/python -m nbgrader generate_assignment ps05 --force
    .venv/bin/python -m nbgrader autograde ps05 --force

From a course directory of your own, keep your nbgrader_config.py and add one line to it:
`load_subconfig("/path/to/papers-from-scratch/nbgrader_config.py")` (then your own
`c.CourseDirectory.root` stays). LECTURES.md ("Grading with nbgrader") has the whole round trip;
tests/test_nbgrader.py runs it on 05_action in `make test`.

What it sets:
- for the nbgrader command line only (not for JupyterLab, whose nbgrader extensions read this
  file too): FAST through the environment, `COURSE_FAST=1` unless the environment already says
  otherwise, so every notebook is graded in about a minute (FULL would take up to 10 minutes a
  notebook); cards of graded runs go to build/graded_results/ (`COURSE_RESULTS_DIR`), never to
  results/; the venv's bin first on PATH, so nbgrader finds `alembic` without an activated venv;
  (grading from the formgrader in JupyterLab: start it with `make lab FAST=1`);
- a cell timeout of 300 s (nbgrader's default, 30 s, cuts FAST's longest training cells short);
- `generate_assignment` first drops the Markdown cells tagged `solution` (collapsed answers to
  the exercises and the Predict first prompts) and stops at an untagged one
  (tools/make_student.py's DropSolutionCells), so release copies hold no answer.
"""
import importlib.util
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (traitlets defines it for config files)

REPO = Path(__file__).resolve().parent
# Only the nbgrader command line (`python -m nbgrader ...`, `nbgrader ...`) changes the environment
# its kernels inherit. JupyterLab started from this folder loads this file too (nbgrader's server
# extensions do): there `make lab` must stay FULL and its cards must go where they always go.
NBGRADER_CLI = "nbgrader" in Path(sys.argv[0]).parts or Path(sys.argv[0]).name == "nbgrader"
if NBGRADER_CLI:
    os.environ.setdefault("COURSE_FAST", "1")
    os.environ.setdefault("COURSE_RESULTS_DIR", str(REPO / "build" / "graded_results"))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _bin = str(Path(sys.executable).parent)
    if _bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

if "root" not in c.CourseDirectory:
    c.CourseDirectory.root = str(REPO / "build" / "nbgrader")
c.Execute.timeout = 300

_spec = importlib.util.spec_from_file_location("make_student", REPO / "tools" / "make_student.py")
_make_student = sys.modules.get("make_student") or importlib.util.module_from_spec(_spec)
if _make_student.__spec__ is _spec:
    _spec.loader.exec_module(_make_student)
    sys.modules["make_student"] = _make_student
from nbgrader.converters import GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = [_make_student.DropSolutionCells,
                                      *GenerateAssignment.class_traits()["preprocessors"].default()]
