"""The course-wide ledger (RESULTS.md) and the card tables a notebook shows.

Claims and checks are kept apart: only a paper's claims count in the summary lines
(reproduces / partly / not yet / untested); checks of ours are listed in their own table.
Written by `make report` (`python -m course.results`).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from .results import Card, fmt, load_cards

CLAIM_STATUSES = ("reproduces", "partly", "not yet", "untested")


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


def tally(cards: list[Card]) -> dict:
    """Counts of claim statuses and of checks passed, for a summary line."""
    counts = Counter(c.status for c in cards if c.kind == "claim")
    checks = [c for c in cards if c.kind == "check"]
    return {**{s: counts.get(s, 0) for s in CLAIM_STATUSES},
            "claims": sum(counts.values()), "checks": len(checks),
            "checks passed": sum(c.status == "passes" for c in checks)}


def summary_line(name: str, cards: list[Card]) -> str:
    t = tally(cards)
    return (f"| {name} | {t['claims']} | {t['reproduces']} | {t['partly']} | {t['not yet']} | "
            f"{t['untested']} | {t['checks passed']}/{t['checks']} |")


def render_report(directory: str | Path | None = None, include_fast: bool = False) -> str:
    """RESULTS.md: FULL cards as the evidence (FAST cards, made on every test run and not
    committed, only on request)."""
    cards = load_cards(directory)
    full = [c for c in cards if c.mode == "FULL"]
    fast = [c for c in cards if c.mode == "FAST"]
    by_nb: dict[str, list[Card]] = {}
    for c in full:
        by_nb.setdefault(c.notebook, []).append(c)
    lines = ["# Reproduction results", "",
             "Written by `make report` (`python -m course.results`) from the FULL cards in `results/`.",
             "A **claim** is a statement of the paper; a **check** is ours (an implementation check, a",
             "property true by construction, a timing) and is never counted as evidence. A claim",
             "*reproduces* within its target band, is *partly* reproduced within a stated weaker band",
             "(right direction, weaker effect), is *not yet* reproduced, or is *untested* (listed in",
             "the paper's spec, not run here, with the reason). A seed-dependent claim holds the",
             "median over seeds, with every seed's value.", "",
             "| notebook | claims | reproduce | partly | not yet | untested | checks passed |",
             "|---|---|---|---|---|---|---|"]
    lines += [summary_line(nb, group) for nb, group in by_nb.items()]
    lines += [summary_line("**course**", full), ""]
    for nb, group in by_nb.items():
        lines += [f"## {nb} — {group[0].paper}", "", cards_table(group), ""]
        notes = [c for c in group if c.note]
        for c in notes:
            lines.append(f"- *{c.metric}* ({c.status}): {c.note}")
        if notes:
            lines.append("")
    if not full:
        lines += ["No FULL cards yet: run `make reproduce`.", ""]
    if fast and include_fast:
        lines += ["## FAST pipeline runs", "", cards_table(fast), ""]
    return "\n".join(lines)


def write_report(path: str | Path = "RESULTS.md", directory: str | Path | None = None,
                 include_fast: bool = False) -> Path:
    """Write `render_report()` to `path` and return the path."""
    path = Path(path)
    path.write_text(render_report(directory, include_fast))
    return path


__all__ = ["cards_table", "render_report", "summary_line", "tally", "write_report", "fmt"]
