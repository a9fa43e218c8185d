"""Reproduction cards: each notebook's evidence, claim by claim, as JSON in `results/`.

A card is either a `claim` (a statement of the paper, with its number) or a `check` (an
implementation check, a by-construction property, a timing). Only claims count as
evidence. A card's status is always computed here from the measured value and the bands
the notebook states, never given by the caller, so a notebook cannot declare success:

- claim: `reproduces` (within the target band), `partly` (within the stated weaker band:
  right direction, weaker effect), `not yet`, or `untested` (listed in the paper's spec but
  not run, with the reason);
- check: `passes` or `fails`.

FAST cards prove the pipeline runs; FULL cards are the evidence. Taught in 00_start_here.
Each notebook makes one `Recorder` (citation from `course.catalog`) and shows its cards with
`Recorder.show` (`cards_table`); `course.report` renders the course-wide RESULTS.md
(`python -m course.report RESULTS.md`).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import catalog

#: How a measured value is compared with a band's target.
COMPARISONS = {
    "within": "|value - target| <= tolerance",
    "at_least": "value >= target - tolerance",
    "at_most": "value <= target + tolerance",
}
MODES = ("FAST", "FULL")
KINDS = ("claim", "check")
#: Statuses that count as meeting the target.
MET = ("reproduces", "passes")


_ROOT = Path(__file__).resolve().parent.parent
#: Set to 1 by `make reproduce` (tools/run_notebook.py --full): only then does a FULL run
#: replace the committed evidence in `results/` (and the shipped weights in data/weights/).
RECORD_ENV = "COURSE_RECORD"


def recording() -> bool:
    """True when this run may overwrite the committed FULL cards and shipped weights.

    A lecturer's autograde, a student's FULL run or a helper's experiment must not replace
    the evidence, so FULL cards go to `build/results/` unless `COURSE_RECORD=1`.
    """
    return os.environ.get(RECORD_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def results_dir(mode: str | None = None) -> Path:
    """Where cards go: `$COURSE_RESULTS_DIR` if set; else `results/` (FAST cards, and FULL
    cards of a recording run), or `build/results/` (FULL cards of any other run)."""
    env = os.environ.get("COURSE_RESULTS_DIR")
    if env:
        return Path(env)
    if mode == "FULL" and not recording():
        return _ROOT / "build" / "results"
    return _ROOT / "results"


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:60] or "claim"


def fmt(x) -> str:
    """A number as the report prints it (4 significant digits, scientific when tiny/huge)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    ax = abs(x)
    if ax != 0 and (ax < 1e-3 or ax >= 1e5):
        return f"{x:.3g}"
    return f"{x:.4g}"


@dataclass(frozen=True)
class Band:
    """A target band: `comparison` of the value against `target` give or take `tolerance`."""

    comparison: str
    target: float
    tolerance: float = 0.0

    def __post_init__(self):
        if self.comparison not in COMPARISONS:
            raise ValueError(f"comparison must be one of {list(COMPARISONS)}, got {self.comparison!r}")
        try:
            target, tolerance = float(self.target), float(self.tolerance)
        except (TypeError, ValueError) as err:
            raise ValueError(f"target and tolerance must be numbers, got {self.target!r}, {self.tolerance!r}") from err
        if not tolerance >= 0 or not math.isfinite(target):
            raise ValueError(f"tolerance must be >= 0 and target finite, got tolerance={tolerance}, target={target}")
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "tolerance", tolerance)

    def met(self, value: float) -> bool:
        return check(value, self.target, self.tolerance, self.comparison)

    def text(self) -> str:
        t, tol = fmt(self.target), fmt(self.tolerance)
        if self.comparison == "within":
            return f"{t} ± {tol}"
        if self.comparison == "at_least":
            return f"≥ {fmt(self.target - self.tolerance)}"
        return f"≤ {fmt(self.target + self.tolerance)}"


def check(value: float, target: float, tolerance: float, comparison: str) -> bool:
    """Whether `value` meets `target` under `comparison` (see COMPARISONS); NaN never does."""
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison must be one of {list(COMPARISONS)}, got {comparison!r}")
    if value is None or math.isnan(value):
        return False
    if comparison == "within":
        return abs(value - target) <= tolerance
    if comparison == "at_least":
        return value >= target - tolerance
    return value <= target + tolerance


@dataclass
class Card:
    """One claim (or check) of one notebook, measured once (see `record`)."""

    notebook: str
    paper: str
    claim: str
    metric: str
    value: float | None
    target: float | None
    tolerance: float
    comparison: str
    passed: bool
    mode: str
    device: str
    seconds: float
    seed: int
    paper_value: str = ""
    note: str = ""
    kind: str = "claim"
    status: str = ""
    partly: dict | None = None
    seeds: list = field(default_factory=list)
    seed_values: list = field(default_factory=list)
    fast_fails_because: str = ""
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    def __post_init__(self):
        if not self.status:  # cards written before kinds existed
            self.status = ("reproduces" if self.passed else "not yet") if self.kind == "claim" else \
                          ("passes" if self.passed else "fails")

    @property
    def key(self) -> str:
        return f"{self.notebook}__{_slug(self.metric)}__{self.mode.lower()}"

    @property
    def band(self) -> Band | None:
        return None if self.target is None else Band(self.comparison, self.target, self.tolerance)

    def target_text(self) -> str:
        if self.band is None:
            return "—"
        text = self.band.text()
        if self.partly:
            text += f" (partly: {Band(**self.partly).text()})"
        return text

    def value_text(self) -> str:
        if self.seed_values:
            spread = ", ".join(fmt(v) for v in self.seed_values)
            return f"{fmt(self.value)} (median of {len(self.seed_values)} seeds: {spread})"
        return fmt(self.value)


def status_of(kind: str, value: float, band: Band, partly: Band | None = None) -> str:
    """The computed status of a measured card (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "check":
        return "passes" if band.met(value) else "fails"
    if band.met(value):
        return "reproduces"
    if partly is not None and partly.met(value):
        return "partly"
    return "not yet"


def _check_text(**texts) -> None:
    for name, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{name} must be a non-empty string, got {text!r}")


def _write(card: Card, directory) -> Card:
    folder = Path(directory) if directory is not None else results_dir(card.mode)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{card.key}.json").write_text(json.dumps(asdict(card), indent=2) + "\n")
    return card


def record(notebook: str, paper: str, claim: str, metric: str, value: float | None = None,
           target: float = 0.0, tolerance: float = 0.0, comparison: str = "within", *, mode: str,
           kind: str = "claim", partly: Band | None = None, seed_values=None, seeds=None,
           device: str = "cpu", seconds: float = 0.0, seed: int = 0, paper_value: str = "",
           note: str = "", fast_fails_because: str = "", directory: str | Path | None = None) -> Card:
    """Write one measured card to `results_dir(mode)` and return it (notebooks use `Recorder`).

    Args:
        notebook: the notebook's short name, e.g. '01_mnist1d'.
        paper: short citation, e.g. 'Greydanus & Kobak 2020 (arXiv 2011.14439)'.
        claim: the paper's claim in words, with its number (or what a check checks).
        metric: what was measured, e.g. 'CNN test accuracy (%)'; unique within a notebook.
        value: our measured number; with `seed_values`, leave it None: the median is taken.
        target, tolerance, comparison: the band that counts as reproducing (COMPARISONS).
        mode: 'FAST' or 'FULL'.
        kind: 'claim' (the paper's) or 'check' (ours: implementation, construction, timing).
        partly: a weaker `Band` (right direction, weaker effect): status 'partly' in it.
        seed_values, seeds: a seed-dependent claim's value at each seed; the card holds the median.
        device, seconds, seed: how it was measured.
        paper_value: the paper's own number as text ('..., re-run of the original code' if so).
        note: why it does or does not reproduce, or what differs from the paper.
        fast_fails_because: in FAST, why this card is expected to miss its target (tests read it).
    Returns:
        the `Card`, whose status was computed from the value.
    """
    if not re.fullmatch(r"\d\d_[a-z0-9_]+", str(notebook)):
        raise ValueError(f"notebook must look like '01_mnist1d', got {notebook!r}")
    _check_text(paper=paper, claim=claim, metric=metric)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "check" and partly is not None:
        raise ValueError("a check passes or fails: partly is for claims only")
    if partly is not None and not isinstance(partly, Band):
        raise ValueError(f"partly must be a results.Band, got {partly!r}")
    band = Band(comparison, target, tolerance)
    seed_values = [] if seed_values is None else [float(v) for v in seed_values]
    seeds = [] if seeds is None else [int(s) for s in seeds]
    if seed_values:
        if value is not None:
            raise ValueError("give either value or seed_values (the card holds their median), not both")
        if len(seeds) != len(seed_values):
            raise ValueError(f"seeds and seed_values must have the same length, got {len(seeds)} and {len(seed_values)}")
        value = statistics.median(seed_values)
    try:
        value = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"value must be a number, got {value!r}") from err
    if not seconds >= 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
    status = status_of(kind, value, band, partly)
    card = Card(notebook=notebook, paper=paper, claim=claim, metric=metric, value=value,
                target=band.target, tolerance=band.tolerance, comparison=comparison,
                passed=status in MET, mode=mode, device=str(device), seconds=round(float(seconds), 2),
                seed=int(seed), paper_value=str(paper_value), note=note, kind=kind, status=status,
                partly=asdict(partly) if partly is not None else None, seeds=seeds,
                seed_values=seed_values, fast_fails_because=fast_fails_because)
    return _write(card, directory)


def record_untested(notebook: str, paper: str, claim: str, metric: str, reason: str, *, mode: str,
                    paper_value: str = "", directory: str | Path | None = None) -> Card:
    """Write a row for a claim of the paper that the notebook does not run, with why."""
    if not re.fullmatch(r"\d\d_[a-z0-9_]+", str(notebook)):
        raise ValueError(f"notebook must look like '01_mnist1d', got {notebook!r}")
    _check_text(paper=paper, claim=claim, metric=metric, reason=reason)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    card = Card(notebook=notebook, paper=paper, claim=claim, metric=metric, value=None, target=None,
                tolerance=0.0, comparison="within", passed=False, mode=mode, device="", seconds=0.0,
                seed=0, paper_value=str(paper_value), note=reason, kind="claim", status="untested")
    return _write(card, directory)


class Recorder:
    """One notebook's card writer: the citation comes from `course.catalog`, and mode,
    device and seed from the notebook's `Runtime`, so each card states only its claim.

    Creating it clears this notebook's cards of the same mode, so a run's ledger holds
    exactly what that run measured (no stale card survives a renamed metric).
    """

    def __init__(self, notebook: str, rt, directory: str | Path | None = None, clear: bool = True):
        self.notebook, self.rt = notebook, rt
        if notebook.startswith("00_"):
            self.paper = "course tour"
        else:
            p = catalog.paper(notebook)
            self.paper = f"{p.authors} {p.year} (arXiv {p.arxiv})"
        self.directory = directory
        self.cards: list[Card] = []
        if clear:
            folder = Path(directory) if directory is not None else results_dir(rt.mode)
            for path in folder.glob(f"{notebook}__*__{rt.mode.lower()}.json"):
                path.unlink()

    def _common(self) -> dict:
        return dict(notebook=self.notebook, paper=self.paper, mode=self.rt.mode,
                    directory=self.directory)

    def _measured(self, kind: str, claim: str, metric: str, value, target, tolerance, comparison,
                  kwargs: dict) -> Card:
        kwargs.setdefault("device", str(self.rt.device))
        kwargs.setdefault("seed", self.rt.seed)
        card = record(claim=claim, metric=metric, value=value, target=target, tolerance=tolerance,
                      comparison=comparison, kind=kind, **self._common(), **kwargs)
        self.cards.append(card)
        return card

    def claim(self, claim: str, metric: str, value: float | None = None, target: float = 0.0,
              tolerance: float = 0.0, comparison: str = "within", **kwargs) -> Card:
        """Record a claim of the paper (see `record` for the keyword arguments)."""
        return self._measured("claim", claim, metric, value, target, tolerance, comparison, kwargs)

    def check(self, claim: str, metric: str, value: float | None = None, target: float = 0.0,
              tolerance: float = 0.0, comparison: str = "within", **kwargs) -> Card:
        """Record a check of ours: implementation, by-construction property or timing."""
        return self._measured("check", claim, metric, value, target, tolerance, comparison, kwargs)

    def untested(self, claim: str, metric: str, reason: str, paper_value: str = "") -> Card:
        """Record a claim of the paper that this notebook does not run, and why."""
        card = record_untested(claim=claim, metric=metric, reason=reason, paper_value=paper_value,
                               **self._common())
        self.cards.append(card)
        return card

    def show(self) -> None:
        """This run's cards as a table in the notebook."""
        show(self.cards)


def load_cards(directory: str | Path | None = None, notebook: str | None = None,
               mode: str | None = None) -> list[Card]:
    """Every card in `directory` (default `results/`), optionally filtered, sorted by notebook."""
    folder = Path(directory) if directory is not None else results_dir()
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES} or None, got {mode!r}")
    cards = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            card = Card(**json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError) as err:
            raise ValueError(f"{path} is not a reproduction card: {err}") from err
        if notebook is not None and card.notebook != notebook:
            continue
        if mode is not None and card.mode != mode:
            continue
        cards.append(card)
    return sorted(cards, key=lambda c: (c.notebook, c.mode, c.kind, c.created))


def cards_table(cards: list[Card]) -> str:
    """Markdown tables: the claims, then the checks (each only when present)."""
    claims = [c for c in cards if c.kind == "claim"]
    checks = [c for c in cards if c.kind == "check"]
    parts = []
    if claims:
        rows = ["| claim | metric | paper | ours | target | status | mode | s |",
                "|---|---|---|---|---|---|---|---|"]
        for c in claims:
            rows.append(f"| {c.claim} | {c.metric} | {c.paper_value} | {c.value_text()} | "
                        f"{c.target_text()} | **{c.status}** | {c.mode} | {c.seconds:.0f} |")
        parts.append("\n".join(rows))
    if checks:
        rows = ["| check | metric | ours | target | status | mode | s |", "|---|---|---|---|---|---|---|"]
        for c in checks:
            rows.append(f"| {c.claim} | {c.metric} | {c.value_text()} | {c.target_text()} | "
                        f"{c.status} | {c.mode} | {c.seconds:.0f} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts) if parts else "(no cards)"


def show(cards: list[Card]) -> None:
    """Render cards as tables in the notebook (plain text outside Jupyter)."""
    table = cards_table(cards)
    try:
        from IPython.display import Markdown, display
        display(Markdown(table))
    except ImportError:
        print(table)


if __name__ == "__main__":
    raise SystemExit("RESULTS.md is written by course.report: python -m course.report RESULTS.md [--fast]")
