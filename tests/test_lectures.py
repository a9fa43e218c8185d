"""LECTURES.md stays true: every notebook that exists has its session and link, every paper
still to come is marked coming, every link resolves; `make lab FAST=1` starts the lab in FAST."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from course import catalog

ROOT = Path(__file__).resolve().parent.parent
PLAN = (ROOT / "LECTURES.md").read_text()
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


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
