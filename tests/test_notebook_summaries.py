"""Issue 24: a notebook's Summary states no number that its cards contradict.

For the notebooks of the course's first half (01, 02, 03, 07, 08, 09) the Summary's measured numbers are
printed from the card objects by a code cell (`rec.cards`), so the text cannot drift from the ledger. What the
Summary's prose may still quote are the paper's own numbers: every decimal number or percentage in it must
occur in one of the notebook's FULL cards (its claim, the paper's value or the band), never a number of ours
typed by hand.
"""
import json
import re
from pathlib import Path

import pytest

from course import results

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["01_mnist1d", "02_hamiltonian_nn", "03_lagrangian_nn", "07_topopt_180", "08_neural_reparam", "09_wings"]
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+(?:e[-+]?\d+)?|\d+(?:\.\d+)?(?=\s*(?:%|×|x\b)))")


def _cells(name):
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())["cells"]


def _summary(name):
    cells = _cells(name)
    for k, cell in enumerate(cells):
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and re.search(r"^#+ .*Summary", text, re.M):
            return text.split("## Exercises")[0].split("## 9 · Exercises")[0], cells, k
    raise AssertionError(f"{name}: no Summary cell")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_summary_numbers_come_from_the_cards(name):
    _, cells, k = _summary(name)
    later_code = "".join("".join(c["source"]) for c in cells[k + 1:] if c["cell_type"] == "code")
    assert "rec.cards" in later_code, f"{name}: a code cell after the Summary prints its numbers from the cards"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_summary_quotes_only_the_papers_numbers(name):
    text, _, _ = _summary(name)
    cards = results.load_cards(ROOT / "results", notebook=name)
    assert cards, f"{name}: no cards in results/"
    allowed = " ".join(f"{c.claim} {c.paper_value} {c.target_text()}" for c in cards)
    stray = [n for n in NUMBER.findall(text) if n not in allowed]
    assert not stray, f"{name}: the Summary types numbers that are not the paper's (print them from the cards): {stray}"
