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
        assert card.value == card.value, f"{name}: {card.metric} is NaN"


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
