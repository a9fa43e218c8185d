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


def ci_commands() -> list[str]:
    """The commands .ci/run runs (comments, `set` and `cd` lines left out)."""
    ci = (ROOT / ".ci" / "run").read_text()
    return [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")
            and not line.lstrip().startswith(("set ", "cd "))]


def test_readme_shows_the_two_commands_and_every_command_ci_runs():
    assert "make lab" in README and "make test" in README
    commands = ci_commands()
    assert commands[0] == "make test", "CI starts with what README tells a contributor to run"
    shown = set(re.findall(r"`([^`\n]+)`", README)) | {line.split("#")[0].strip() for line in README.splitlines()}
    missing = [c for c in commands if c not in shown]
    assert not missing, f"README does not show these commands that .ci/run runs: {missing}"
    assert re.search(r"binder", README, re.I)


def test_ci_commands_are_make_targets():
    make = (ROOT / "Makefile").read_text()
    for command in ci_commands():
        assert command.startswith("make "), f".ci/run runs {command!r}: CI runs make targets only"
        target = command.split()[1]
        assert re.search(rf"^{re.escape(target)}:", make, re.M), f"the Makefile has no target {target}"


def test_readme_speed_table_is_the_one_the_saved_races_render():
    import sys
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import race
    block = README.split("<!-- speed table: python benchmarks/race.py -->", 1)[1].split("<!-- /speed table -->", 1)[0]
    assert block.strip() == race.table().strip(), "README's speed table is stale: paste `python benchmarks/race.py`"
