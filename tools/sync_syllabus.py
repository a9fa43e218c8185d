"""Write the lecture plan's facts from course/syllabus.py into LECTURES.md and the notebook headers.

    python tools/sync_syllabus.py                      # LECTURES.md's generated parts
    python tools/sync_syllabus.py --notebooks          # ... and every notebook header's block
    python tools/sync_syllabus.py --notebooks notebooks/05_action.ipynb
    python tools/sync_syllabus.py --check [--notebooks]   # write nothing; exit 1 on a difference
    python tools/sync_syllabus.py --from-stats [build/run_stats.json]   # first the times, from
                                                       # tools/run_notebook.py's measurements

Generated text lies between HTML comments, invisible in JupyterLab and on the website:
LECTURES.md has `<!-- syllabus:NN_name -->` ... `<!-- /syllabus -->` in each session; a
notebook header (its first Markdown cell) has `<!-- syllabus:times -->` ... `<!-- /syllabus -->`.
A header without markers gets them: the block takes the place of the header's own core-path
and run-time sentences (a paragraph from `**Core path`, `**Run time` or `**Time:` on, keeping a
closing "lecture plan" link), and the tool prints what it removed. Running it twice changes
nothing. tests/test_lectures.py fails, naming the notebook, when a header or LECTURES differs.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course import syllabus  # noqa: E402

LECTURES_MD = ROOT / "LECTURES.md"
SYLLABUS_PY = ROOT / "course" / "syllabus.py"
END = "<!-- /syllabus -->"
HEADER_OPEN = "<!-- syllabus:times -->"
_BLOCK = re.compile(r"<!-- syllabus:([\w-]+) -->\n(.*?)\n<!-- /syllabus -->", re.S)
# where a header states its own core path / run time (replaced by the block when it has none)
_LEAD = re.compile(r"\*\*(Core path|Run times?|Time|Times)\b")
_KEEP_TAIL = re.compile(r"(Where this (?:fits|sits)|Lecture plan:|See the \[lecture plan\]|Part of the \[lecture plan\]"
                        r"|Peak memory).*\Z", re.S)
# a time stated outside the block ("FAST about 60 s", "FULL ≈ 5.5 min")
_STATED_TIME = re.compile(r"\b(FAST|FULL)\b[^.\n|]{0,30}?\d+(?:[.,]\d+)?\s*(?:s|sec|min|minutes)\b")


# ---- notebooks -------------------------------------------------------------------------

def _source(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _set_source(cell, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


def graded(nb: dict) -> bool:
    """Whether the notebook has graded exercises (nbgrader solution cells)."""
    return any(c.get("metadata", {}).get("nbgrader", {}).get("solution") for c in nb["cells"])


def header_cell(nb: dict):
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            return cell
    raise ValueError("the notebook has no Markdown cell")


def expected_header_block(name: str, nb: dict) -> str:
    return f"{HEADER_OPEN}\n{syllabus.header_block(name, graded(nb))}\n{END}"


def rewrite_header(text: str, block: str) -> tuple[str, str]:
    """The header `text` with `block` in place; returns (new text, what was removed)."""
    found = [m for m in _BLOCK.finditer(text) if m.group(1) == "times"]
    if found:
        m = found[0]
        return text[:m.start()] + block + text[m.end():], ""
    paragraphs = text.split("\n\n")
    first = next((i for i, p in enumerate(paragraphs) if _LEAD.search(p)), None)
    if first is None:
        return text.rstrip("\n") + "\n\n" + block, ""
    last = first + 1        # the following paragraphs that also start with one (01: two paragraphs) go too
    while last < len(paragraphs) and _LEAD.match(paragraphs[last].lstrip()):
        last += 1
    heads, kept, removed = [], [], []
    for para in paragraphs[first:last]:
        lead = _LEAD.search(para)
        head, tail = para[:lead.start()].rstrip(), para[lead.start():]
        keep = _KEEP_TAIL.search(tail)
        heads += [head] if head else []
        removed.append(tail[:keep.start()].rstrip() if keep else tail)
        kept += [keep.group(0)] if keep else []
    new = paragraphs[:first] + heads + [block] + kept + paragraphs[last:]
    return "\n\n".join(new), "\n\n".join(removed)


def header_problems(name: str, nb: dict) -> list[str]:
    """What in the header disagrees with the syllabus (empty: it agrees)."""
    text = _source(header_cell(nb))
    blocks = [m for m in _BLOCK.finditer(text) if m.group(1) == "times"]
    if not blocks:
        return [f"{name}: the header has no {HEADER_OPEN} block (run tools/sync_syllabus.py --notebooks)"]
    problems = []
    want = syllabus.header_block(name, graded(nb))
    if blocks[0].group(2) != want:
        problems.append(f"{name}: the header's block says\n    {blocks[0].group(2)!r}\n  the syllabus says\n    {want!r}")
    outside = text[:blocks[0].start()] + text[blocks[0].end():]
    for m in _STATED_TIME.finditer(outside):
        problems.append(f"{name}: the header states a time outside its syllabus block: {m.group(0)!r}")
    if re.search(r"core path", outside, re.I):
        problems.append(f"{name}: the header states its core path outside its syllabus block")
    return problems


def sync_notebook(path: Path, write: bool = True) -> tuple[bool, str]:
    """Put the syllabus block into one notebook's header; returns (changed, removed text)."""
    nb = json.loads(path.read_text())
    cell = header_cell(nb)
    old = _source(cell)
    new, removed = rewrite_header(old, expected_header_block(path.stem, nb))
    if new != old and write:
        _set_source(cell, new)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return new != old, removed


# ---- exercises -------------------------------------------------------------------------

def exercise_text(nb: dict, number: int) -> str | None:
    """The text of end-of-notebook exercise `number` (its statement, without the solution)."""
    cells = [_source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    start = next((i for i, t in enumerate(cells) if re.search(r"^#+ .*Exercises", t, re.M)), None)
    if start is None:
        return None
    text = "\n".join(cells[start:])
    text = text[re.search(r"^#+ .*Exercises", text, re.M).start():]
    text = re.split(r"^#+ Further reading", text, flags=re.M)[0]
    text = re.sub(r"<details>.*?</details>", "", text, flags=re.S)
    starts = re.compile(r"^(?:\*\*Exercise (\d+)\b|\*\*(\d+)\s*[·.]|(\d+)\.\s)", re.M)
    marks = [(m.start(), int(next(g for g in m.groups() if g))) for m in starts.finditer(text)]
    for k, (pos, n) in enumerate(marks):
        if n == number:
            end = marks[k + 1][0] if k + 1 < len(marks) else len(text)
            return text[pos:end]
    return None


# ---- LECTURES.md -----------------------------------------------------------------------

def sync_lectures(text: str) -> tuple[str, list[str]]:
    """LECTURES.md's text with every generated block rewritten; returns (text, changed notebooks)."""
    changed = []
    for lec in syllabus.LECTURES:
        name = lec.notebook
        pattern = re.compile(rf"<!-- syllabus:{name} -->\n(.*?)\n<!-- /syllabus -->", re.S)
        m = pattern.search(text)
        if not m:
            raise ValueError(f"LECTURES.md has no <!-- syllabus:{name} --> block: add the two markers to its session")
        want = syllabus.lectures_block(name)
        if m.group(1) != want:
            changed.append(name)
            text = text[:m.start(1)] + want + text[m.end(1):]
    return text, changed


# ---- times from tools/run_notebook.py ----------------------------------------------------

def _measured(run: dict) -> float:
    """A run's time as the syllabus states it: the kernel's CPU seconds (with one torch thread,
    the wall time of an idle machine; a shared machine's load inflates the wall time), else wall."""
    return run.get("cpu_seconds") or run["seconds"]


def times_from_stats(stats: dict, old: dict) -> dict:
    """New TIMES entries (notebook -> (fast_s, full_min, source)) from build/run_stats.json:
    successful runs only; a notebook without one keeps its entry."""
    new = {}
    for name, t in old.items():
        runs = stats.get(name, {})
        fast, full = runs.get("FAST", {}), runs.get("FULL", {})
        if not (fast.get("ok") or full.get("ok")):
            new[name] = (t.fast_s, t.full_min, t.source)
            continue
        parts = t.source.split("; ")
        f_s, u_m = t.fast_s, t.full_min
        if fast.get("ok"):
            f_s = round(_measured(fast), 1)
            parts[0] = (f"FAST: run_notebook.py {fast.get('cpu_seconds', 0)} s CPU, {fast['seconds']} s wall, "
                        f"{fast.get('when', '')[:10]}")
        if full.get("ok"):
            u_m = round(_measured(full) / 60, 2)
            parts[-1] = (f"FULL: run_notebook.py {full.get('cpu_seconds', 0)} s CPU, {full['seconds']} s wall, "
                         f"{full.get('when', '')[:10]}")
        new[name] = (f_s, u_m, "; ".join([parts[0], parts[-1]]))
    return new


def rewrite_times_block(py_text: str, entries: dict) -> str:
    lines = [f'    "{n}": Times({f:g}, {m:g}, {json.dumps(s, ensure_ascii=False)}),' for n, (f, m, s) in entries.items()]
    pattern = re.compile(r"(# <times>[^\n]*\nTIMES = \{\n)(.*?)(\n\}\n# </times>)", re.S)
    if not pattern.search(py_text):
        raise ValueError("course/syllabus.py has no '# <times>' block")
    return pattern.sub(lambda m: m.group(1) + "\n".join(lines) + m.group(3), py_text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--notebooks", nargs="*", type=Path, default=None,
                    help="also the notebook headers (all of them when no path is given)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 when anything differs")
    ap.add_argument("--from-stats", nargs="?", const=ROOT / "build" / "run_stats.json", type=Path, default=None,
                    help="first rewrite course/syllabus.py's times from tools/run_notebook.py's stats")
    args = ap.parse_args(argv)
    global syllabus
    differ = False
    if args.from_stats is not None:
        stats = json.loads(Path(args.from_stats).read_text())
        py = SYLLABUS_PY.read_text()
        new_py = rewrite_times_block(py, times_from_stats(stats, syllabus.TIMES))
        if new_py != py:
            differ = True
            print(f"course/syllabus.py: times {'would change' if args.check else 'rewritten'} from {args.from_stats}")
            if not args.check:
                SYLLABUS_PY.write_text(new_py)
                import importlib
                syllabus = importlib.reload(syllabus)
    text = LECTURES_MD.read_text()
    new, changed = sync_lectures(text)
    if changed:
        differ = True
        print(f"LECTURES.md: {'would rewrite' if args.check else 'rewrote'} the blocks of {', '.join(changed)}")
        if not args.check:
            LECTURES_MD.write_text(new)
    else:
        print("LECTURES.md: agrees with course/syllabus.py")
    if args.notebooks is not None:
        paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        for path in paths:
            was, removed = sync_notebook(Path(path), write=not args.check)
            differ |= was
            print(f"{Path(path).name}: {('would change' if args.check else 'header block written') if was else 'agrees'}")
            if removed:
                print("  in place of:\n    " + removed.replace("\n", "\n    "))
            problems = [p for p in header_problems(Path(path).stem, json.loads(Path(path).read_text()))
                        if args.check is False or "no <!-- syllabus" not in p]
            for p in problems if not args.check else []:
                print("  still to fix by hand: " + p)
    return 1 if (differ and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
