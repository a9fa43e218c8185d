"""LECTURES.md stays true: every notebook that exists has its session and link, every paper
still to come is marked coming, every link resolves; `make lab FAST=1` starts the lab in FAST.

One source for each fact (issue 18, part 2): LECTURES' generated parts and every notebook
header's `<!-- syllabus:times -->` block say what course/syllabus.py says (run times, core path,
Bonus, exercises to assign; tools/sync_syllabus.py writes them), the exercises LECTURES assigns
are the notebook's exercises of that number, and every notebook's Next link names a notebook
that exists; no notebook calls an existing notebook "coming"."""
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from course import catalog, syllabus

ROOT = Path(__file__).resolve().parent.parent
PLAN = (ROOT / "LECTURES.md").read_text()
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
_spec = importlib.util.spec_from_file_location("sync_syllabus", ROOT / "tools" / "sync_syllabus.py")
sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync)


def notebook(name: str) -> dict:
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())


def markdown(name: str) -> list[tuple[int, str]]:
    return [(i, sync._source(c)) for i, c in enumerate(notebook(name)["cells"]) if c["cell_type"] == "markdown"]


def sessions(text: str = PLAN) -> dict[str, str]:
    """{session heading: its text up to the next session or unit heading}."""
    parts = re.split(r"^(### Session .*)$", text, flags=re.M)
    return {parts[i]: re.split(r"^## ", parts[i + 1], flags=re.M)[0] for i in range(1, len(parts), 2)}


def session_of(paper) -> tuple[str, str]:
    found = [(h, body) for h, body in sessions().items() if paper.arxiv in body]
    assert len(found) == 1, f"LECTURES.md needs exactly one session citing arXiv {paper.arxiv}, has {len(found)}"
    return found[0]


def test_every_notebook_that_exists_is_in_the_plan():
    for name in NOTEBOOKS:
        assert f"(notebooks/{name}.ipynb)" in PLAN, f"LECTURES.md does not link notebooks/{name}.ipynb"


@pytest.mark.parametrize("paper", catalog.PAPERS, ids=lambda p: p.notebook)
def test_each_paper_has_a_session_linked_or_marked_coming(paper):
    heading, body = session_of(paper)
    assert f"https://arxiv.org/abs/{paper.arxiv}" in body, "pre-reading links the paper on arXiv"
    if paper.notebook in NOTEBOOKS:
        assert "coming" not in heading.lower(), f"{paper.notebook} exists: its session is no longer coming"
        assert f"(notebooks/{paper.notebook}.ipynb)" in body
        for part in ("Pre-reading", "In class (90 min)", "Assign", "Times", "Self-study"):
            assert part in body, f"session of {paper.notebook} lacks '{part}'"
    else:
        assert heading.rstrip().endswith("(coming)"), f"{paper.notebook} has no notebook: mark its session coming"
        assert f"notebooks/{paper.notebook}.ipynb" not in body, "no link to a notebook that does not exist"


def test_sessions_follow_the_course_order():
    numbers = [int(re.match(r"### Session (\d+)", h).group(1)) for h in sessions()]
    assert numbers == sorted(numbers) and len(numbers) == len(catalog.PAPERS)
    order = [next(p.number for p in catalog.PAPERS if p.arxiv in body) for body in sessions().values()]
    assert order == sorted(order)


def test_every_relative_link_resolves():
    for target in re.findall(r"\]\(([^)\s]+)\)", PLAN):
        if re.match(r"[a-z]+://|#|mailto:", target):
            continue
        assert (ROOT / target.split("#")[0]).exists(), f"LECTURES.md links {target}, which does not exist"


def test_plan_has_the_map_study_times_and_core_vs_bonus():
    assert "## Prerequisites map" in PLAN
    assert "Study time for self-learners" in PLAN
    assert "Bonus" in PLAN and "core path" in PLAN.lower()
    for paper in catalog.PAPERS:
        assert f"{paper.number:02d} " in PLAN.split("## Prerequisites map")[1].split("```")[1], \
            f"the map leaves out {paper.notebook}"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("args, fast", [([], False), (["FAST=1"], True), (["FAST=0"], False)])
def test_make_lab_starts_jupyterlab_in_the_asked_mode(args, fast):
    out = subprocess.run(["make", "-n", "--no-print-directory", "lab", *args],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lab = [line for line in out.splitlines() if "jupyter lab" in line]
    assert lab, out
    assert ("COURSE_FAST=1" in lab[-1]) == fast, lab[-1]


# ---- one source for each fact: course/syllabus.py -----------------------------------------

def test_lectures_says_what_the_syllabus_says():
    _, changed = sync.sync_lectures(PLAN)
    assert not changed, (f"LECTURES.md disagrees with course/syllabus.py on {changed}: "
                         "run python tools/sync_syllabus.py")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_header_says_what_the_syllabus_says(name):
    problems = sync.header_problems(name, notebook(name))
    assert not problems, "\n".join(problems) + "\n(fix: python tools/sync_syllabus.py --notebooks notebooks/" \
        f"{name}.ipynb, then delete what it lists as still to fix)"


@pytest.mark.parametrize("lec", [lec for lec in syllabus.LECTURES if lec.assign], ids=lambda lec: lec.notebook)
def test_assigned_exercises_are_the_notebooks_exercises_of_that_number(lec):
    nb = notebook(lec.notebook)
    for ex in lec.assign:
        text = sync.exercise_text(nb, ex.number)
        assert text is not None, f"{lec.notebook}: LECTURES assigns Exercise {ex.number}, which the notebook lacks"
        assert ex.words.lower() in text.lower(), (
            f"{lec.notebook}: LECTURES assigns Exercise {ex.number} ({ex.title}), but the notebook's "
            f"Exercise {ex.number} reads {text[:120]!r}")


def test_sync_tool_agrees_and_changes_nothing_in_check_mode(capsys):
    before = PLAN
    assert sync.main(["--check"]) == 0
    assert (ROOT / "LECTURES.md").read_text() == before
    assert "agrees" in capsys.readouterr().out


HEADER = """# 99 · A paper

Intro.

**Prerequisites:** [01](01_mnist1d.ipynb). **Core path:** about 90 minutes (sections 1-7); section 8 is
**Bonus**. **Run time:** FAST about 1 min, FULL about 9 min. Where this fits: the [lecture plan](../LECTURES.md).

**Run times** (2 cores): FAST 12 s.
Peak memory under 1 GB."""


def test_a_header_without_markers_gets_them_in_place_of_its_own_sentences():
    block = f"{sync.HEADER_OPEN}\nGENERATED\n{sync.END}"
    new, removed = sync.rewrite_header(HEADER, block)
    assert new == ("# 99 · A paper\n\nIntro.\n\n**Prerequisites:** [01](01_mnist1d.ipynb).\n\n" + block +
                   "\n\nWhere this fits: the [lecture plan](../LECTURES.md).\n\nPeak memory under 1 GB.")
    assert "FAST about 1 min" in removed and "FAST 12 s" in removed
    assert sync.rewrite_header(new, block) == (new, "")                              # idempotent
    newer, _ = sync.rewrite_header(new, block.replace("GENERATED", "NEW TEXT"))       # markers: only inside
    assert newer == new.replace("GENERATED", "NEW TEXT")
    plain = "# 98\n\nNo times here."
    assert sync.rewrite_header(plain, block)[0] == plain + "\n\n" + block          # appended


def test_header_problems_name_the_notebook_and_what_differs(monkeypatch):
    monkeypatch.setitem(syllabus.TIMES, "05_action", syllabus.Times(12.2, 0.63, "fixed for this test"))
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# 05\n\nFAST about 20 s."}]}
    assert "05_action: the header has no <!-- syllabus:times --> block" in sync.header_problems("05_action", nb)[0]
    good = sync.expected_header_block("05_action", nb)
    nb["cells"][0]["source"] = "# 05\n\n" + good
    assert sync.header_problems("05_action", nb) == []
    nb["cells"][0]["source"] = "# 05\n\n" + good.replace("FULL about 40 s", "FULL about 2 min")
    assert "05_action: the header's block says" in sync.header_problems("05_action", nb)[0]
    nb["cells"][0]["source"] = "# 05\n\nRuns: FULL about 3 min.\n\n" + good
    assert "states a time outside its syllabus block: 'FULL about 3 min'" in sync.header_problems("05_action", nb)[0]


def test_sync_notebook_writes_once_and_keeps_the_json_layout(tmp_path):
    src = tmp_path / "05_action.ipynb"
    nb = {"cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# 05\n", "\n", "**Run time:** FAST 9 s."]},
                    {"cell_type": "code", "id": "b", "metadata": {"nbgrader": {"solution": True}}, "source": [],
                     "outputs": [], "execution_count": None}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    src.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    assert sync.sync_notebook(src)[0] is True
    once = src.read_text()
    assert sync.sync_notebook(src) == (False, "") and src.read_text() == once
    written = json.loads(once)
    assert sync.header_problems("05_action", written) == []
    assert syllabus.ON_YOUR_FUNCTION in "".join(written["cells"][0]["source"])        # it has a graded exercise


def test_times_from_run_stats_rewrite_the_syllabus_block():
    stats = {"05_action": {"FAST": {"seconds": 14.2, "cpu_seconds": 9.1, "ok": True, "when": "2026-12-06T08:00:00"},
                           "FULL": {"seconds": 61.0, "cpu_seconds": 20.0, "ok": True, "when": "2026-12-06T08:10:00"}},
             "06_piecewise_node": {"FULL": {"seconds": 999, "ok": False}}}
    entries = sync.times_from_stats(stats, syllabus.TIMES)
    assert entries["05_action"][:2] == (9.1, 0.33)                  # CPU seconds: load does not inflate them
    assert entries["05_action"][2] == ("FAST: run_notebook.py 9.1 s CPU, 14.2 s wall, 2026-12-06; "
                                       "FULL: run_notebook.py 20.0 s CPU, 61.0 s wall, 2026-12-06")
    t6 = syllabus.TIMES["06_piecewise_node"]
    assert entries["06_piecewise_node"] == (t6.fast_s, t6.full_min, t6.source)         # a failed run changes nothing
    text = (ROOT / "course" / "syllabus.py").read_text()
    new = sync.rewrite_times_block(text, entries)
    namespace: dict = {}
    exec(compile(new, "syllabus_rewritten", "exec"), namespace)
    assert namespace["TIMES"]["05_action"].fast_s == 9.1 and namespace["TIMES"]["05_action"].full_min == 0.33
    assert sync.rewrite_times_block(text, sync.times_from_stats({}, syllabus.TIMES)) == text   # nothing new: same text


# ---- Next links ------------------------------------------------------------------------------

def _next_paragraphs(name: str) -> list[tuple[int, str]]:
    return [(i, m.group(0)) for i, text in markdown(name)
            for m in re.finditer(r"\*\*Next[:.]?\*\*.*?(?=\n\s*\n|\Z)", text, re.S)]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_next_link_names_an_existing_notebook(name):
    found = _next_paragraphs(name)
    assert found, f"{name}: no **Next:** link at its end"
    cell, text = found[-1]
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    broken = [t for t in links if not re.match(r"[a-z]+://", t) and not (ROOT / "notebooks" / t.split("#")[0]).exists()]
    assert not broken, f"{name} cell {cell}: the Next link points at {broken}, which does not exist"
    targets = [t for t in links if t.endswith(".ipynb")] or (
        [t for t in links if t in ("../README.md",)] if name == NOTEBOOKS[-1] else [])
    assert targets, f"{name} cell {cell}: the Next paragraph names no notebook file: {text[:160]!r}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_notebook_calls_an_existing_notebook_coming(name):
    existing = {n[:2] for n in NOTEBOOKS}
    said = [(cell, m.group(0)) for cell, text in markdown(name)
            for m in re.finditer(r"\b(\d\d)\b[^\n.;()]{0,80}\(?\bcoming\b\)?", text) if m.group(1) in existing]
    assert not said, "; ".join(f"{name} cell {cell}: {text!r} (that notebook exists)" for cell, text in said)
