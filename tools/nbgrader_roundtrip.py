"""An nbgrader course of one notebook, graded twice: the lecturer's solved copy and the student copy.

    python tools/nbgrader_roundtrip.py notebooks/05_action.ipynb [--course build/nbgrader-demo]

What a lecturer does with nbgrader, in a fresh course directory (LECTURES.md, "Grading with
nbgrader", gives the same commands to type):
1. source/<assignment>/NN_name.ipynb: the lecturer's notebook (solutions in it);
2. `python -m nbgrader generate_assignment <assignment>`: release/<assignment>/NN_name.ipynb,
   the student copy (answers dropped, solution regions stubbed), and the gradebook;
3. two submissions: `solved` hands in the lecturer's notebook, `unsolved` the student copy
   as released;
4. `python -m nbgrader autograde <assignment>`: each runs in a fresh kernel, in FAST mode;
5. the scores, read from nbgrader's gradebook (gradebook.db).

nbgrader runs as `<venv python> -m nbgrader` with the venv's bin first on PATH (nbgrader calls
`alembic` by name), from the repository root, so that nbgrader_config.py applies (FAST through
`COURSE_FAST=1`, a 300 s cell timeout, cards into `COURSE_RESULTS_DIR`, answers dropped); the
course directory is given on the command line. A notebook whose collapsed answers are not yet in
cells tagged `solution` is tagged in the course's copy first (tools/make_student.py
--tag-solutions; the repository's notebook is not touched). Nothing is written to results/.
Taught nowhere (the lecturer's kit); tests/test_nbgrader.py runs it on 05_action.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_student  # noqa: E402


def nbgrader_env(extra: dict | None = None) -> dict:
    """The environment nbgrader runs in: this Python's bin first on PATH, FAST, one thread."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("COURSE_FAST", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update(extra or {})
    return env


def nbgrader(args: list[str], course: Path, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    """`python -m nbgrader ARGS` on the course directory `course`; raises with its log on failure."""
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def scores(course: Path, assignment: str) -> dict:
    """{student: {"score", "max_score", "grades": {grade_id: (score, max_score)}}} from the gradebook."""
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(assignment):
            grades = {g.name: (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades}
            out[sub.student.id] = {"score": sub.score, "max_score": sub.max_score, "grades": grades}
    return out


def roundtrip(notebook: Path, course: Path, assignment: str = "ps1", results_dir: Path | None = None) -> dict:
    """Steps 1-5 above; returns the scores and the seconds of each step."""
    notebook = Path(notebook).resolve()
    if course.exists():
        shutil.rmtree(course)
    source = course / "source" / assignment / notebook.name
    source.parent.mkdir(parents=True)
    shutil.copy(notebook, source)
    moved = make_student.tag_solutions(source)
    env = nbgrader_env({"COURSE_RESULTS_DIR": str(results_dir or course / "cards")})
    seconds = {}
    t0 = time.perf_counter()
    nbgrader(["generate_assignment", assignment, "--force"], course, env)
    seconds["generate_assignment"] = time.perf_counter() - t0
    release = course / "release" / assignment / notebook.name
    for student, copy in (("solved", source), ("unsolved", release)):
        dest = course / "submitted" / student / assignment / notebook.name
        dest.parent.mkdir(parents=True)
        shutil.copy(copy, dest)
    t0 = time.perf_counter()
    nbgrader(["autograde", assignment, "--force"], course, env)
    seconds["autograde"] = time.perf_counter() - t0
    return {"scores": scores(course, assignment), "seconds": seconds, "answers_tagged_here": moved,
            "release": release}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--course", type=Path, default=ROOT / "build" / "nbgrader-demo")
    ap.add_argument("--assignment", default="ps1")
    args = ap.parse_args(argv)
    out = roundtrip(args.notebook, args.course.resolve(), args.assignment)
    for student, s in out["scores"].items():
        print(f"{student}: {s['score']:g} / {s['max_score']:g}  " +
              ", ".join(f"{k} {v[0]:g}/{v[1]:g}" for k, v in sorted(s["grades"].items())))
    print("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in out["seconds"].items()) + f"; course in {args.course}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
