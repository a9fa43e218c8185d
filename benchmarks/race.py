"""One speed race against a paper's original code, measured like for like.

Every benchmark in this folder builds two zero-argument functions that do the same work, ours
and the original's (the original is fetched and run OUTSIDE this repository, never copied
in), and hands them to `race`, which:

- runs both in this one process, alternated call by call, so both see the same machine load;
- at one and at two torch threads (a small model can be faster at one, a big tensor at two);
- keeps every time, and reports the minimum and the median of each side at each setting;
- gives two ratios (original time / our time, so > 1 means we are faster):
  "as shipped" (each side at the threads it ships with: ours at what `course.setup` picks,
  the original at torch's default, one per core) and "best vs best" (each side's fastest
  setting);
- checks that the two computed the same thing (`same` returns a sentence, or raises).

`--save` writes the result to benchmarks/results/<race>.json with the machine, the load and
the date; README's speed table is rendered from those files (`python benchmarks/race.py
--readme` writes it there), and tests/test_readme.py checks that README shows that table.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


def arguments(description: str, argv=None, default_repeats: int = 3) -> argparse.Namespace:
    """The flags every race takes."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--original", type=Path, default=None,
                    help="a checkout of the original code, outside this repository")
    ap.add_argument("--deps", type=Path, default=None,
                    help="a folder of the original's own dependencies (pip install --target), appended to sys.path")
    ap.add_argument("--repeats", type=int, default=default_repeats, help="timed calls per side and setting")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts to race at")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: checks that it runs (make test)")
    ap.add_argument("--save", action="store_true", help="write benchmarks/results/<race>.json")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.original is not None:
        original = args.original.resolve()
        if not original.is_dir():
            ap.error(f"--original {original}: no such folder")
        if ROOT in original.parents or original == ROOT:
            ap.error("--original must be outside this repository (the original code is never copied in)")
        args.original = original
    if args.deps is not None:
        sys.path.append(str(args.deps.resolve()))
    if args.smoke:
        args.repeats, args.threads = 1, [1]
    return args


def shipped_threads_ours() -> int:
    from course.runtime import choose_threads
    return choose_threads()


def shipped_threads_original() -> int:
    return os.cpu_count() or 1   # torch's default: one thread per core; the originals set none


def _timed(fn: Callable[[], Any], threads: int) -> tuple[float, Any]:
    torch.set_num_threads(threads)
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def race(name: str, what: str, ours: Callable[[], Any], original: Callable[[], Any] | None,
         same: Callable[[Any, Any], str] | None, *, repeats: int = 3, threads=(1, 2),
         unit: str = "s", scale: float = 1.0) -> dict:
    """Time `ours` and `original` alternated at each thread count; return the record.

    Args:
        name: the race's file stem, e.g. '02_hnn_spring'.
        what: one line on the work both sides do.
        ours, original: zero-argument callables doing that work (original None: ours only).
        same: (our output, original's output) -> a sentence saying how they agree; raises if not.
        repeats, threads: timed calls per side at each torch thread count.
        unit, scale: times are reported as seconds * scale in `unit` (e.g. 'ms per step').
    """
    sides = {"ours": ours} if original is None else {"ours": ours, "original": original}
    times = {side: {str(t): [] for t in threads} for side in sides}
    outputs = {}
    load_before, cpu_before, own_before = os.getloadavg(), _cpu_times(), time.process_time()
    for t in threads:
        for side, fn in sides.items():          # warm-up: imports, caches, first-call allocation
            _, outputs[side] = _timed(fn, t)
        for _ in range(repeats):
            for side, fn in sides.items():
                seconds, _ = _timed(fn, t)
                times[side][str(t)].append(seconds * scale)
    summary = {side: {t: {"min": min(v), "median": statistics.median(v), "all": v} for t, v in per.items()}
               for side, per in times.items()}
    record = {"race": name, "what": what, "unit": unit, "threads": list(threads), "repeats": repeats,
              "sides": summary, "load": [round(x, 2) for x in load_before + os.getloadavg()],
              "machine_share": machine_share(cpu_before, _cpu_times(), time.process_time() - own_before),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
              "date": dt.date.today().isoformat()}
    if original is not None:
        record["same"] = same(outputs["ours"], outputs["original"]) if same else "not compared"
        ours_t, orig_t = str(shipped_threads_ours()), str(shipped_threads_original())
        if ours_t in summary["ours"] and orig_t in summary["original"]:
            record["as_shipped"] = summary["original"][orig_t]["min"] / summary["ours"][ours_t]["min"]
        record["best_vs_best"] = (min(s["min"] for s in summary["original"].values())
                                  / min(s["min"] for s in summary["ours"].values()))
    return record


def _cpu_times() -> tuple[float, float, float] | None:
    """(busy, steal, total) clock ticks of the whole machine since boot (Linux /proc/stat), or None."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)          # idle + iowait
    steal = fields[7] if len(fields) > 7 else 0.0
    return sum(fields[:8]) - idle, steal, sum(fields[:8])


def machine_share(before, after, own_cpu_seconds: float) -> dict | None:
    """What else the machine did during a race: the share of all cores' time that other processes
    used ('others', from /proc/stat's busy time less this process's CPU time) and the hypervisor stole.
    A load average says how many ran over the last minute; this says what competed with the race."""
    if before is None or after is None or after[2] <= before[2]:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = (after[2] - before[2]) / tick
    busy, steal = (after[0] - before[0]) / tick, (after[1] - before[1]) / tick
    return {"others": round(max(0.0, busy - steal - own_cpu_seconds) / total, 3), "steal": round(steal / total, 3),
            "cores": os.cpu_count()}


def report(record: dict, save: bool = False) -> dict:
    """Print the record; with `save`, write it to benchmarks/results/."""
    print(f"{record['race']}: {record['what']}")
    for side, per in record["sides"].items():
        for t, s in per.items():
            print(f"  {side:>8}, {t} thread(s): min {s['min']:.4g}, median {s['median']:.4g} {record['unit']}")
    for key in ("as_shipped", "best_vs_best"):
        if key in record:
            print(f"  {key.replace('_', ' ')}: {record[key]:.2f}x (original time / ours)")
    if "same" in record:
        print(f"  same result: {record['same']}")
    print(f"  load average before/after: {record['load']}")
    if record.get("machine_share"):
        share = record["machine_share"]
        print(f"  during the race: other processes used {share['others']:.1%} of the machine's CPU time, "
              f"steal {share['steal']:.1%} ({share['cores']} cores)")
    if save:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{record['race']}.json"
        path.write_text(json.dumps(record, indent=2) + "\n")
        print(f"  wrote {path.relative_to(ROOT)}")
    return record


def _cell(side: dict, unit: str) -> str:
    parts = [f"{side[t]['min']:.3g} ({t})" for t in sorted(side)]
    return ", ".join(parts)


def _quiet(record: dict) -> str:
    share = record.get("machine_share")
    others = f", others {share['others']:.0%}, steal {share['steal']:.0%}" if share else ""
    return f"{record['load'][0]:.1f}{others}"


def table(folder: Path = RESULTS) -> str:
    """README's speed table, from the saved races (thread count in brackets)."""
    lines = ["| race | unit | ours, min (threads) | original, min (threads) | as shipped | best vs best | same result "
             "| load (others' CPU share, steal), date |", "|---|---|---|---|---|---|---|---|"]
    for path in sorted(Path(folder).glob("*.json")):
        r = json.loads(path.read_text())
        if "original" not in r["sides"]:
            continue
        lines.append(f"| {r['what']} | {r['unit']} | {_cell(r['sides']['ours'], r['unit'])} | "
                     f"{_cell(r['sides']['original'], r['unit'])} | "
                     f"{format(r['as_shipped'], '.1f') + 'x' if 'as_shipped' in r else '—'} | "
                     f"{r['best_vs_best']:.1f}x | {r['same']} | {_quiet(r)}, {r['date']} |")
    return "\n".join(lines)


def add_original_to_path(directory: Path, *subfolders: str) -> None:
    """Make the original's modules importable (its folder first on sys.path)."""
    for sub in reversed(("",) + subfolders):
        path = str(Path(directory) / sub) if sub else str(directory)
        if path not in sys.path:
            sys.path.insert(0, path)


README_START, README_END = "<!-- speed table: python benchmarks/race.py -->", "<!-- /speed table -->"


def write_readme(readme: Path = ROOT / "README.md") -> None:
    """Put the rendered table between README's speed-table markers."""
    text = readme.read_text()
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{table()}\n{README_END}{tail}")


if __name__ == "__main__":   # python benchmarks/race.py [--readme]: the table README shows
    if "--readme" in sys.argv:
        write_readme()
    print(table())
