"""The README's paper table links every notebook that exists and marks the rest as coming."""
import re
from pathlib import Path

from course import catalog

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_paper_is_in_the_readme_with_the_right_link_or_coming():
    for p in catalog.PAPERS:
        row = next((line for line in README.splitlines() if line.startswith(f"| {p.number:02d} |")), None)
        assert row is not None, f"README has no row for paper {p.number:02d}"
        assert p.arxiv in row
        exists = (ROOT / "notebooks" / f"{p.notebook}.ipynb").exists()
        if exists:
            assert f"(notebooks/{p.notebook}.ipynb)" in row, f"README must link {p.notebook}"
        else:
            assert row.rstrip(" |").endswith("coming"), f"{p.notebook} has no notebook yet: mark it coming"


def test_readme_shows_the_two_commands_and_ci_runs_only_them():
    assert "make lab" in README and "make test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")
                and not line.startswith(("set ", "cd "))]
    assert commands == ["make test"]
    assert re.search(r"binder", README, re.I)
