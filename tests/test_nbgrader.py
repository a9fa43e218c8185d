"""nbgrader end to end, as a lecturer uses it (issue 18, part 3), on a real notebook: 05_action.

tools/nbgrader_roundtrip.py makes a fresh nbgrader course in a temporary folder with the
course's nbgrader_config.py, runs `python -m nbgrader generate_assignment` with no venv on
PATH, hands in the solved notebook and the released student copy, runs `nbgrader autograde`
(FAST, through COURSE_FAST=1) and reads the scores from nbgrader's gradebook: the solved
notebook scores full marks, the student copy zero on every graded check. Cards of these runs
go to a temporary folder, never to results/.

Cost: about 35 s of CPU (05 runs twice in FAST, plus nbgrader's start-up: 33 s user + 1.4 s
system measured with /usr/bin/time), 160-290 s wall at load 12-14 on the shared 2-core machine.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "05_action.ipynb"
pytest.importorskip("nbgrader", reason="needs the teach group: make test installs it")

_spec = importlib.util.spec_from_file_location("nbgrader_roundtrip", ROOT / "tools" / "nbgrader_roundtrip.py")
rt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rt)


def _results_snapshot() -> dict:
    return {p.name: p.stat().st_mtime_ns for p in (ROOT / "results").glob("05_action__*")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    cards = tmp_path_factory.mktemp("cards")
    before = _results_snapshot()
    # nbgrader must work without the venv's bin on PATH: give it a PATH without it
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join(p for p in old_path.split(os.pathsep)
                                         if Path(p).resolve() != Path(rt.sys.executable).parent.resolve())
    os.environ["COURSE_FAST"] = "1"
    try:
        out = rt.roundtrip(NOTEBOOK, course, "ps05", results_dir=cards)
    finally:
        os.environ["PATH"] = old_path
    return out, course, cards, before


def test_solved_scores_full_marks_and_the_student_copy_zero(graded):
    out, course, _, _ = graded
    checks = [c.metadata["nbgrader"]["grade_id"] for c in _cells(NOTEBOOK)
              if c.metadata.get("nbgrader", {}).get("grade")]
    assert checks, "05_action has graded checks"
    s = out["scores"]
    assert set(s) == {"solved", "unsolved"}
    assert s["solved"]["score"] == s["solved"]["max_score"] == len(checks), s["solved"]
    assert s["unsolved"]["max_score"] == len(checks) and s["unsolved"]["score"] == 0, s["unsolved"]
    assert all(score == 0 for score, _ in s["unsolved"]["grades"].values())
    print(f"\nnbgrader round trip on 05_action: solved {s['solved']['score']:g}/{s['solved']['max_score']:g}, "
          f"unsolved {s['unsolved']['score']:g}/{s['unsolved']['max_score']:g}; seconds {out['seconds']}")


def test_graded_runs_were_fast_and_wrote_no_evidence(graded):
    import nbformat
    out, course, cards, before = graded
    assert _results_snapshot() == before, "autograde touched results/"
    # the solved run wrote its cards into COURSE_RESULTS_DIR (the unsolved run, graded after it,
    # cleared them again when its Recorder started: its claims fail on the missing functions)
    assert cards.is_dir()
    solved = nbformat.read(course / "autograded" / "solved" / "ps05" / NOTEBOOK.name, as_version=4)
    shown = "".join(str(o.get("data", {}).get("text/markdown", "")) for c in solved.cells if c.cell_type == "code"
                    for o in c.get("outputs", []))
    assert "| FAST |" in shown and "| FULL |" not in shown, "autograde ran in FAST (COURSE_FAST=1)"


def test_the_release_holds_no_answer_and_the_unsolved_run_names_the_function(graded):
    import make_student
    import nbformat
    out, course, _, _ = graded
    release = nbformat.read(out["release"], as_version=4)
    assert make_student.leftovers(release) == []
    autograded = nbformat.read(course / "autograded" / "unsolved" / "ps05" / NOTEBOOK.name, as_version=4)
    tracebacks = ["\n".join(o.get("traceback", [])) for c in autograded.cells if c.cell_type == "code"
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", t) for t in tracebacks]
    assert plain and any(re.search(r"`\w+` is not written yet \(an exercise above\)", t) for t in plain), plain[:1]


def _cells(path):
    return json.loads(Path(path).read_text(), object_hook=_Node)["cells"]


class _Node(dict):
    __getattr__ = dict.get


@pytest.mark.parametrize("argv0, changes_env", [
    ("/x/.venv/lib/python3.11/site-packages/nbgrader/__main__.py", True),   # python -m nbgrader
    ("/x/.venv/bin/nbgrader", True),
    ("/x/.venv/bin/jupyter-lab", False),    # nbgrader's server extensions read the file too: make lab stays FULL
])
def test_the_config_changes_the_environment_for_the_nbgrader_command_only(monkeypatch, argv0, changes_env):
    from traitlets.config.loader import PyFileConfigLoader
    for name in ("COURSE_FAST", "COURSE_RESULTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))       # restored afterwards
    monkeypatch.setattr(rt.sys, "argv", [argv0, "autograde", "ps1"])
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert cfg.Execute.timeout == 300 and cfg.CourseDirectory.root == str(ROOT / "build" / "nbgrader")
    assert cfg.GenerateAssignment.preprocessors[0].__name__ == "DropSolutionCells"
    assert ("COURSE_FAST" in os.environ) == changes_env and ("COURSE_RESULTS_DIR" in os.environ) == changes_env
    if changes_env:
        assert os.environ["COURSE_FAST"] == "1" and "graded_results" in os.environ["COURSE_RESULTS_DIR"]
