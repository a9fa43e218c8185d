"""Reproduction cards: each notebook's evidence, claim by claim, as JSON in `results/`.

A card holds the paper's claim, the number we measured, the target and tolerance, and
whether the measurement met it. `passed` is always computed here from the value, never
given by the caller, so a notebook cannot declare success. FAST cards prove the
pipeline runs; FULL cards are the evidence. Taught in 00_start_here.

Command line: `python -m course.results` writes RESULTS.md from every card.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: How a measured value is compared with the target.
COMPARISONS = {
    "within": "|value - target| <= tolerance",
    "at_least": "value >= target - tolerance",
    "at_most": "value <= target + tolerance",
}
MODES = ("FAST", "FULL")


def results_dir() -> Path:
    """`$COURSE_RESULTS_DIR`, else `results/` at the repository root."""
    env = os.environ.get("COURSE_RESULTS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "results"


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:60] or "claim"


@dataclass
class Card:
    """One claim of one paper, measured once (see `record`)."""

    notebook: str
    paper: str
    claim: str
    metric: str
    value: float
    target: float
    tolerance: float
    comparison: str
    passed: bool
    mode: str
    device: str
    seconds: float
    seed: int
    paper_value: str = ""
    note: str = ""
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    @property
    def key(self) -> str:
        return f"{self.notebook}__{_slug(self.metric)}__{self.mode.lower()}"

    def target_text(self) -> str:
        t, tol = _fmt(self.target), _fmt(self.tolerance)
        if self.comparison == "within":
            return f"{t} ± {tol}"
        if self.comparison == "at_least":
            return f"≥ {_fmt(self.target - self.tolerance)}"
        return f"≤ {_fmt(self.target + self.tolerance)}"


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    ax = abs(x)
    if ax != 0 and (ax < 1e-3 or ax >= 1e5):
        return f"{x:.3g}"
    return f"{x:.4g}"


def check(value: float, target: float, tolerance: float, comparison: str) -> bool:
    """Whether `value` meets `target` under `comparison` (see COMPARISONS); NaN never does."""
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison must be one of {list(COMPARISONS)}, got {comparison!r}")
    if math.isnan(value):
        return False
    if comparison == "within":
        return abs(value - target) <= tolerance
    if comparison == "at_least":
        return value >= target - tolerance
    return value <= target + tolerance


def record(notebook: str, paper: str, claim: str, metric: str, value: float, target: float,
           tolerance: float = 0.0, comparison: str = "within", *, mode: str, device: str = "cpu",
           seconds: float = 0.0, seed: int = 0, paper_value: str = "", note: str = "",
           directory: str | Path | None = None) -> Card:
    """Write one reproduction card to `results/` and return it.

    Args:
        notebook: the notebook's short name, e.g. '01_mnist1d'.
        paper: short citation, e.g. 'Greydanus & Kobak 2020 (arXiv 2011.14439)'.
        claim: the paper's claim in words, with its number.
        metric: what was measured, e.g. 'CNN test accuracy (%)'; unique within a notebook.
        value: our measured number.
        target, tolerance, comparison: pass when the value meets the target (COMPARISONS).
        mode: 'FAST' or 'FULL'.
        device, seconds, seed: how it was measured.
        paper_value: the paper's own number, as text.
        note: why it does or does not reproduce, or what differs from the paper.
    Returns:
        the `Card`, whose `passed` was computed from the value.
    """
    if not re.fullmatch(r"\d\d_[a-z0-9_]+", str(notebook)):
        raise ValueError(f"notebook must look like '01_mnist1d', got {notebook!r}")
    for name, text in (("paper", paper), ("claim", claim), ("metric", metric)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{name} must be a non-empty string, got {text!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    try:
        value, target, tolerance = float(value), float(target), float(tolerance)
    except (TypeError, ValueError) as err:
        raise ValueError(f"value, target and tolerance must be numbers, got {value!r}, {target!r}, {tolerance!r}") from err
    if not tolerance >= 0 or math.isinf(target):
        raise ValueError(f"tolerance must be >= 0 and target finite, got tolerance={tolerance}, target={target}")
    if not seconds >= 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
    passed = check(value, target, tolerance, comparison)
    card = Card(notebook=notebook, paper=paper, claim=claim, metric=metric, value=value,
                target=target, tolerance=tolerance, comparison=comparison, passed=passed,
                mode=mode, device=str(device), seconds=round(float(seconds), 2), seed=int(seed),
                paper_value=str(paper_value), note=note)
    folder = Path(directory) if directory is not None else results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{card.key}.json").write_text(json.dumps(asdict(card), indent=2) + "\n")
    return card


def load_cards(directory: str | Path | None = None, notebook: str | None = None,
               mode: str | None = None) -> list[Card]:
    """Every card in `directory` (default `results/`), optionally filtered, sorted by notebook."""
    folder = Path(directory) if directory is not None else results_dir()
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES} or None, got {mode!r}")
    cards = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            data = json.loads(path.read_text())
            card = Card(**data)
        except (json.JSONDecodeError, TypeError) as err:
            raise ValueError(f"{path} is not a reproduction card: {err}") from err
        if notebook is not None and card.notebook != notebook:
            continue
        if mode is not None and card.mode != mode:
            continue
        cards.append(card)
    return sorted(cards, key=lambda c: (c.notebook, c.mode, c.created))


def _status(card: Card) -> str:
    return "reproduces" if card.passed else "not yet"


def cards_table(cards: list[Card]) -> str:
    """Markdown table of cards: claim, paper's number, ours, target, status."""
    rows = ["| notebook | claim | metric | paper | ours | target | status | mode | device | s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for c in cards:
        status = _status(c) + (f" — {c.note}" if c.note and not c.passed else "")
        rows.append(f"| {c.notebook} | {c.claim} | {c.metric} | {c.paper_value} | {_fmt(c.value)} | "
                    f"{c.target_text()} | {status} | {c.mode} | {c.device} | {c.seconds:.0f} |")
    return "\n".join(rows)


def show(cards: list[Card]) -> None:
    """Render cards as a table in the notebook (plain text outside Jupyter)."""
    table = cards_table(cards)
    try:
        from IPython.display import Markdown, display
        display(Markdown(table))
    except ImportError:
        print(table)


def render_report(directory: str | Path | None = None, include_fast: bool = False) -> str:
    """The course-wide RESULTS.md: FULL cards as the evidence (FAST pipeline checks on request:
    they are made on every test run and not committed, so the shared report leaves them out)."""
    cards = load_cards(directory)
    full = [c for c in cards if c.mode == "FULL"]
    fast = [c for c in cards if c.mode == "FAST"]
    n_ok = sum(c.passed for c in full)
    lines = ["# Reproduction results", "",
             "Written by `make report` (`python -m course.results`) from the cards in `results/`.",
             "FULL cards are the evidence that a claim reproduces; FAST cards only show that the",
             "pipeline runs end to end in CI.", "",
             f"**FULL: {n_ok} of {len(full)} claims reproduce.**", ""]
    by_nb: dict[str, list[Card]] = {}
    for c in full:
        by_nb.setdefault(c.notebook, []).append(c)
    for nb, group in by_nb.items():
        ok = sum(c.passed for c in group)
        verdict = "reproduces" if ok == len(group) else ("partly" if ok else "not yet")
        lines += [f"## {nb} — {group[0].paper}: {verdict} ({ok}/{len(group)})", "", cards_table(group), ""]
        notes = [c for c in group if c.note]
        for c in notes:
            lines.append(f"- *{c.metric}*: {c.note}")
        if notes:
            lines.append("")
    if not full:
        lines += ["No FULL cards yet: run `make reproduce`.", ""]
    if fast and include_fast:
        lines += ["## FAST pipeline checks", "", cards_table(fast), ""]
    return "\n".join(lines)


def write_report(path: str | Path = "RESULTS.md", directory: str | Path | None = None,
                 include_fast: bool = False) -> Path:
    """Write `render_report()` to `path` and return the path."""
    path = Path(path)
    path.write_text(render_report(directory, include_fast))
    return path


if __name__ == "__main__":  # python -m course.results [OUT.md] [--fast]
    import sys
    args = [a for a in sys.argv[1:] if a != "--fast"]
    out = write_report(args[0] if args else Path(__file__).resolve().parent.parent / "RESULTS.md",
                       include_fast="--fast" in sys.argv)
    print(f"wrote {out}")
