"""Build the course website: the executed notebooks, README, LECTURES and RESULTS as static HTML.

    python tools/build_site.py                  # what `make site` runs; opens nothing
    python tools/build_site.py --no-execute     # notebooks without an executed copy go in unexecuted

Each notebook is taken executed: its FULL run from build/NN_name.ipynb where `make reproduce`
left one, else its FAST run from build/fast/NN_name.ipynb (made now with tools/run_notebook.py
when missing or older than the notebook). The pages are staged in build/site-src/ with the
repository's own layout (README.md, LECTURES.md, RESULTS.md, notebooks/), so every relative link
between them works unchanged, plus an index.md whose navigation follows the course order (one
section per unit, from course/catalog.py). Sphinx with MyST-NB and sphinx-book-theme (site/conf.py)
writes build/site/; open build/site/index.html.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from course import catalog  # noqa: E402

PAGES = ("README.md", "LECTURES.md", "RESULTS.md")


def notebooks(folder: Path = ROOT / "notebooks") -> list[Path]:
    """The course's notebooks in course order (NN_name.ipynb)."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def finished(copy: Path) -> bool:
    """Whether an executed copy is a whole, successful run: tools/run_notebook.py's record, or
    papermill's (which writes its output cell by cell, so a run in progress is a partial copy)."""
    try:
        meta = json.loads(copy.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return False
    if "course_run" in meta:
        return bool(meta["course_run"].get("ok"))
    pm = meta.get("papermill", {})
    return bool(pm.get("end_time")) and not pm.get("exception")


def executed_copy(notebook: Path, build: Path = ROOT / "build") -> tuple[Path | None, str]:
    """The executed copy to render and which run it is ('FULL...' or 'FAST'), or (None, '').
    Only finished, successful runs count (see `finished`)."""
    full, fast = build / notebook.name, build / "fast" / notebook.name
    if full.exists() and finished(full):
        stale = full.stat().st_mtime < notebook.stat().st_mtime
        return full, "FULL" + (" (older than the notebook: `make reproduce` renews it)" if stale else "")
    if fast.exists() and fast.stat().st_mtime >= notebook.stat().st_mtime and finished(fast):
        return fast, "FAST"
    return None, ""


def index_page(names: list[str], pages: list[str]) -> str:
    """index.md: a short welcome and one toctree per unit, in course order."""
    lines = ["# Contents", "",
             "Sam Greydanus's papers, re-implemented from scratch, run, and checked claim by claim.",
             "Each page below is an executed notebook (FULL outputs where `make reproduce` made them,",
             "else a FAST run). Start with the README, the lecture plan and **00 · Start here**.", ""]
    start = [p[:-3] for p in pages if p != "RESULTS.md"] + [n for n in names if n.startswith("00_")]
    lines += ["```{toctree}", ":caption: Start here", ":maxdepth: 1", ""]
    lines += [f"notebooks/{n}" if n.startswith("00_") else n for n in start] + ["```", ""]
    coming = []
    for unit in dict.fromkeys(p.unit for p in catalog.PAPERS):
        papers = [p for p in catalog.PAPERS if p.unit == unit]
        present = [p for p in papers if p.notebook in names]
        coming += [f"{p.number:02d} · {p.title} ({unit})" for p in papers if p.notebook not in names]
        if present:
            lines += ["```{toctree}", f":caption: {unit}", ":maxdepth: 1", ""]
            lines += [f"notebooks/{p.notebook}" for p in present] + ["```", ""]
    if "RESULTS.md" in pages:
        lines += ["```{toctree}", ":caption: Evidence", ":maxdepth: 1", "", "RESULTS", "```", ""]
    if coming:
        lines += ["## Coming", ""] + [f"- {c}" for c in coming] + [""]
    return "\n".join(lines)


RUN_NOTES = {
    "FULL": "This page shows the notebook's **FULL** run: the paper's settings.",
    "FAST": "This page shows the notebook's **FAST** run: small sizes that check the pipeline; "
            "the FULL numbers are in [the results](../RESULTS.md).",
    "not executed": "This page shows the notebook without outputs: run it to see them.",
}


def add_run_note(source: Path, target: Path, run: str) -> None:
    """Copy a notebook, with a line under its title saying which run the page shows."""
    nb = json.loads(Path(source).read_text(encoding="utf-8"))
    kind = next(k for k in RUN_NOTES if run.startswith(k))
    note = RUN_NOTES[kind] + run[len(kind):]
    nb["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": [f"> *{note}*"]})
    nb["cells"][1].update({"id": "course-site-run-note"} if nb.get("nbformat_minor", 0) >= 5 else {})
    target.write_text(json.dumps(nb), encoding="utf-8")


def stage(src: Path, only: list[str] | None = None, execute_missing: bool = True,
          build: Path = ROOT / "build") -> dict[str, str]:
    """Lay out the pages in `src`; return {notebook: 'FULL' | 'FAST' | 'not executed'}."""
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    pages = [p for p in PAGES if (ROOT / p).exists()]
    for page in pages:
        shutil.copy2(ROOT / page, src / page)
    chosen = [nb for nb in notebooks() if only is None or nb.stem in only]
    used = {}
    for nb in chosen:
        copy, run = executed_copy(nb, build)
        if copy is None and execute_missing:
            import run_notebook
            stats = run_notebook.run(nb, fast=True, out=build / "fast" / nb.name)
            run_notebook.save_stats(stats, build)
            print(f"   {nb.stem}: FAST run for the site, {stats['seconds']:.0f} s, peak {stats['peak_mb']} MB"
                  + ("" if stats["ok"] else f", FAILED: {stats['error']}"), flush=True)
            copy, run = build / "fast" / nb.name, "FAST"
        used[nb.stem] = run or "not executed"
        add_run_note(copy if copy is not None else nb, src / "notebooks" / nb.name, used[nb.stem])
    copy_linked_files(src)
    (src / "index.md").write_text(index_page([nb.stem for nb in chosen], pages))
    return used


LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)")


def copy_linked_files(src: Path, limit: int = 1_000_000) -> list[Path]:
    """Copy the repository files that the pages link to (a script, a data README) into the
    staging tree at the same place, so each link resolves (Sphinx offers them as downloads)."""
    copied = []
    for page in sorted(src.rglob("*.md")) + sorted(src.rglob("*.ipynb")):
        text = page.read_text(encoding="utf-8")
        if page.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown")
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            staged = (page.parent / target).resolve()
            try:
                relative = staged.relative_to(src.resolve())
            except ValueError:
                continue
            original = ROOT / relative
            if staged.exists() or not original.is_file() or original.stat().st_size > limit:
                continue
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(original, staged)
            copied.append(relative)
    return copied


def build_html(src: Path, out: Path, quiet: bool = True, warnings: Path | None = None) -> int:
    """Run Sphinx (site/conf.py) on the staged pages; returns Sphinx's exit status.
    Warnings (a broken link between pages, say) go to stderr and to `warnings` if given."""
    from sphinx.cmd.build import build_main
    args = ["-b", "html", "-c", str(ROOT / "site"), "-d", str(Path(src).parent / (Path(src).name + "-doctrees")),
            str(src), str(out)]
    args += ["-q"] if quiet else []
    args += ["-w", str(warnings)] if warnings is not None else []
    return build_main(args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--src", type=Path, default=ROOT / "build" / "site-src")
    parser.add_argument("--build", type=Path, default=ROOT / "build",
                        help="where the executed notebooks are (FULL in it, FAST in its fast/)")
    parser.add_argument("--only", nargs="*", default=None, help="notebook names (default: all)")
    parser.add_argument("--no-execute", action="store_true",
                        help="do not run notebooks that have no executed copy: render them unexecuted")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    used = stage(args.src, args.only, execute_missing=not args.no_execute, build=args.build)
    for name, run in used.items():
        print(f"   {name}: {run}")
    status = build_html(args.src, args.out)
    print(f"site: {args.out / 'index.html'} ({time.perf_counter() - start:.0f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
