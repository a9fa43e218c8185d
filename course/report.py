"""The course-wide ledger (RESULTS.md) and the papers' table with each paper's status.

Claims and checks are kept apart: only a paper's claims count in the summary lines
(reproduces / partly / not yet / untested); checks of ours are listed in their own table.
The layers: `catalog` is the papers (data), `results` the cards, this module the rendering
and the entry point: `make report` runs `python -m course.report RESULTS.md [--fast]`.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from . import catalog
from .results import Card, cards_table, fmt, load_cards

CLAIM_STATUSES = ("reproduces", "partly", "not yet", "untested")


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
             "Written by `make report` (`python -m course.report`) from the FULL cards in `results/`.",
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


def status(p: catalog.Paper, notebook_dir: Path | None = None, results_directory: Path | None = None) -> str:
    """'coming' without a notebook; else how many FULL claims reproduce (checks not counted)."""
    if not catalog.has_notebook(p, notebook_dir):
        return "coming"
    full = load_cards(results_directory, notebook=p.notebook, mode="FULL")
    if not full:
        return "ready (no FULL run recorded)"
    t = tally(full)
    text = f"{t['reproduces']}/{t['claims']} claims reproduce"
    if t["partly"]:
        text += f", {t['partly']} partly"
    if t["untested"]:
        text += f", {t['untested']} untested"
    return text


def papers_table(link_prefix: str = "", notebook_dir: Path | None = None,
                 results_directory: Path | None = None) -> str:
    """Markdown table of the papers with links to the notebooks that exist, and their status."""
    rows = ["| # | paper | unit | arXiv | status |", "|---|---|---|---|---|"]
    for p in catalog.PAPERS:
        name = f"[{p.title}]({link_prefix}{p.notebook}.ipynb)" if catalog.has_notebook(p, notebook_dir) else p.title
        rows.append(f"| {p.number:02d} | {name} ({p.authors}, {p.year}) | {p.unit} | "
                    f"[{p.arxiv}](https://arxiv.org/abs/{p.arxiv}) | {status(p, notebook_dir, results_directory)} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """`python -m course.report [OUT.md] [--fast]`: write RESULTS.md (default: the repository's)."""
    argv = sys.argv[1:] if argv is None else argv
    args = [a for a in argv if a != "--fast"]
    out = write_report(args[0] if args else Path(__file__).resolve().parent.parent / "RESULTS.md",
                       include_fast="--fast" in argv)
    print(f"wrote {out}")
    return 0


__all__ = ["cards_table", "main", "papers_table", "render_report", "status", "summary_line", "tally",
           "write_report", "fmt"]


if __name__ == "__main__":
    sys.exit(main())
