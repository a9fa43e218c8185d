"""After nbval has executed every notebook in FAST mode: did each write its card?
And does papermill's parameter injection override the environment's FAST flag?"""
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from course import results

ROOT = Path(__file__).resolve().parent.parent
PAPER_NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
                         if not p.name.startswith("00_"))


def unexpected_fast_misses(cards) -> list[str]:
    """FAST cards that missed their target without saying why FAST is expected to miss it."""
    return [f"{c.metric}: {c.status} (value {c.value}, target {c.target_text()})" for c in cards
            if c.status not in results.MET + ("untested",) and not c.fast_fails_because.strip()]


def test_an_unexpected_fast_miss_is_caught(tmp_path):
    common = dict(notebook="01_mnist1d", paper="p", claim="c", mode="FAST", directory=tmp_path)
    results.record(metric="met", value=1, target=1, **common)
    results.record(metric="missed", value=0, target=1, **common)
    results.record(metric="declared", value=0, target=1, fast_fails_because="300 steps in FAST", **common)
    results.record(metric="partly", value=0.5, target=1, partly=results.Band("at_least", 0.4), **common)
    misses = unexpected_fast_misses(results.load_cards(tmp_path))
    assert [m.split(":")[0] for m in misses] == ["missed", "partly"]


@pytest.mark.after_notebooks
@pytest.mark.parametrize("name", PAPER_NOTEBOOKS)
def test_notebook_wrote_fast_card(name, notebook_session):
    if name not in notebook_session["notebooks"]:
        pytest.skip(f"{name} was not executed in this session")
    cards = results.load_cards(notebook_session["results"], notebook=name, mode="FAST")
    assert cards, f"{name} wrote no FAST card to {notebook_session['results']}"
    started = dt.datetime.fromtimestamp(notebook_session["start"], dt.timezone.utc)
    for card in cards:
        assert dt.datetime.fromisoformat(card.created) >= started.replace(microsecond=0)
        assert card.mode == "FAST"
        assert card.status == "untested" or card.value == card.value, f"{name}: {card.metric} is NaN"
    misses = unexpected_fast_misses(cards)
    assert not misses, f"{name}: FAST cards missed their targets (declare fast_fails_because if expected): {misses}"


@pytest.mark.notebook
def test_papermill_parameters_override_environment(tmp_path):
    """`papermill -p FAST False` must win over COURSE_FAST=1, or FULL runs would be FAST."""
    out = tmp_path / "out.ipynb"
    env = dict(os.environ, COURSE_FAST="1", COURSE_RESULTS_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-m", "papermill", "--cwd", str(ROOT / "notebooks"),
                    "-p", "FAST", "False", "--log-level", "ERROR",
                    str(ROOT / "notebooks" / "00_start_here.ipynb"), str(out)],
                   check=True, env=env, timeout=300)
    nb = json.loads(out.read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "FAST = False" in "".join(injected[0]["source"])
    texts = [o.get("text", "") for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    printed = "".join(t if isinstance(t, str) else "".join(t) for t in texts)
    assert "mode=FULL" in printed
