"""Run course notebooks in FAST or FULL mode; print each one's wall time and peak memory.

    python tools/run_notebook.py --full --jobs 2 notebooks/*.ipynb   # what `make reproduce` runs
    python tools/run_notebook.py --fast notebooks/00_start_here.ipynb

With --jobs N, N notebooks run at once (each in its own process and kernel, one thread each),
longest first by their last recorded time, each one's log in build/logs/; the total wall time
is printed at the end. Each gets COURSE_CORES = cores // jobs (one on a 2-core machine with the
default --jobs 2), and the committed FULL cards are runs with COURSE_CORES=1: each notebook seeds
itself, so its cards do not depend on what runs beside it. (13 takes every core it is given,
`threads="all"`: alone with COURSE_CORES unset it trains at two threads, faster, but rounds
differently from the committed one-thread run.)

Each notebook runs in its own fresh kernel (working directory notebooks/), with FAST injected
into its `parameters` cell as papermill does (papermill's own parameterizer), and is written
executed, widget state included, to build/NN_name.ipynb (FULL) or build/fast/NN_name.ipynb
(FAST): `make site` renders those. Peak memory is the kernel's own maximum resident set size
(getrusage, read inside the kernel after the last cell, or after the cell that failed), and
separately the largest child process the kernel started (worker processes); Binder gives
about 2 GB. Every run is added to build/run_stats.json.

Taught nowhere: this is the course's plumbing (README, "Memory").
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
STATS = "run_stats.json"
MARK = "__COURSE_PEAK_RSS__"
# Runs inside the kernel: max RSS of the kernel itself and of its largest waited-for child.
PROBE = f"""\
import json as _json, sys as _sys
try:
    import resource as _resource
    _unit = 1 if _sys.platform == "darwin" else 1024   # ru_maxrss: bytes on macOS, KiB on Linux
    _self, _kids = _resource.getrusage(_resource.RUSAGE_SELF), _resource.getrusage(_resource.RUSAGE_CHILDREN)
    _peak = {{"kernel": _self.ru_maxrss * _unit, "children": _kids.ru_maxrss * _unit,
              "cpu_s": _self.ru_utime + _self.ru_stime + _kids.ru_utime + _kids.ru_stime}}
except ImportError:                                       # Windows: psutil's peak working set
    import psutil as _psutil
    _times = _psutil.Process().cpu_times()
    _peak = {{"kernel": getattr(_psutil.Process().memory_info(), "peak_wset", 0), "children": 0,
              "cpu_s": _times.user + _times.system}}
try:    # Linux: ru_maxrss survives execve, so a kernel started by a big process inherits its peak;
    with open("/proc/self/status") as _f:     # VmHWM is this process image's own high-water mark
        _peak["kernel"] = next(int(_l.split()[1]) * 1024 for _l in _f if _l.startswith("VmHWM:"))
except (OSError, StopIteration, ValueError):
    pass
print("{MARK}", _json.dumps(_peak))
"""
MIB = 2 ** 20


def output_path(notebook: Path, fast: bool, out_dir: Path | None = None) -> Path:
    """Where the executed copy goes: build/NN.ipynb (FULL) or build/fast/NN.ipynb (FAST)."""
    folder = out_dir if out_dir is not None else (BUILD / "fast" if fast else BUILD)
    return Path(folder) / Path(notebook).name


def _kernel_env(fast: bool) -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")       # small CPUs: one thread is faster (see course.runtime)
    env["COURSE_FAST"] = "1" if fast else "0"    # agrees with the injected parameter
    if not fast:                                 # make reproduce: FULL cards and weights are the evidence
        env.setdefault("COURSE_RECORD", "1")
    env.pop("MPLBACKEND", None)                  # let the kernel use the inline backend: figures in the output
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def _read_probe(cell) -> dict:
    for out in cell.get("outputs", []):
        text = out.get("text", "")
        text = text if isinstance(text, str) else "".join(text)
        for line in text.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
    raise RuntimeError(f"the memory probe printed nothing: {cell.get('outputs')}")


def run(notebook: str | Path, fast: bool, out: str | Path | None = None,
        timeout: int | None = None) -> dict:
    """Execute one notebook in a fresh kernel; write the executed copy; return its stats.

    Args:
        notebook: path to notebooks/NN_name.ipynb.
        fast: FAST (True) or FULL (False), injected into the parameters cell.
        out: the executed notebook's path (default: see `output_path`).
        timeout: seconds allowed per cell (None: no limit).
    Returns:
        {"notebook", "mode", "seconds", "cpu_seconds" (the kernel's, with its children), "peak_mb"
        (kernel), "children_mb", "ok", "error", "output"}.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    notebook = Path(notebook).resolve()
    if not notebook.exists():
        raise ValueError(f"notebook {notebook} does not exist")
    out = Path(out) if out is not None else output_path(notebook, fast)
    nb = load_notebook_node(str(notebook))      # as papermill reads it (every cell gets its tags list)
    nb = parameterize_notebook(nb, {"FAST": bool(fast)})
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    probe = nbformat.v4.new_code_cell(PROBE)
    error, peak = "", {"kernel": 0, "children": 0}
    start = time.perf_counter()
    with client.setup_kernel(env=_kernel_env(fast)):
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        except CellExecutionError as err:
            lines = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()   # no ANSI colours
            error = lines[-1] if lines else type(err).__name__
        seconds = time.perf_counter() - start
        nb.cells.append(probe)                  # run in the same kernel, then taken out again
        client.execute_cell(probe, len(nb.cells) - 1)
        peak = _read_probe(nb.cells.pop())
        client.set_widgets_metadata()
    stats = {"notebook": notebook.stem, "mode": "FAST" if fast else "FULL",
             "seconds": round(seconds, 1), "cpu_seconds": round(peak.get("cpu_s", 0.0), 1),
             "peak_mb": round(peak["kernel"] / MIB),
             "children_mb": round(peak["children"] / MIB), "ok": not error, "error": error,
             "output": str(out), "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    nb.metadata["course_run"] = {k: stats[k] for k in ("mode", "seconds", "cpu_seconds", "peak_mb", "ok", "error",
                                                       "when")}
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)                       # complete runs only: a partial copy is never left
    return stats


def save_stats(stats: dict, folder: Path = BUILD) -> Path:
    """Merge one run into build/run_stats.json (keyed by notebook, then mode); runs that end at
    the same time (--jobs) take turns through a lock file."""
    path = Path(folder) / STATS
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:                       # Windows: no flock; runs are rarely parallel there
            pass
        data = json.loads(path.read_text()) if path.exists() else {}
        data.setdefault(stats["notebook"], {})[stats["mode"]] = stats
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def load_stats(folder: Path = BUILD) -> dict:
    path = Path(folder) / STATS
    return json.loads(path.read_text()) if path.exists() else {}


def longest_first(notebooks: list[Path], mode: str, folder: Path = BUILD) -> list[Path]:
    """Order notebooks by their last recorded wall time, longest first, so that N parallel runs
    end close together. A fresh clone has no records: the syllabus's times stand in; a notebook
    in neither goes first (a new notebook may be long)."""
    from course.syllabus import TIMES
    known = load_stats(folder)
    def seconds(nb: Path) -> float:
        stem = Path(nb).stem
        if mode in known.get(stem, {}):
            return known[stem][mode]["seconds"]
        if stem in TIMES:
            return TIMES[stem].fast_s if mode == "FAST" else 60 * TIMES[stem].full_min
        return float("inf")
    return sorted(notebooks, key=seconds, reverse=True)


def run_parallel(notebooks: list[Path], fast: bool, jobs: int, out_dir: Path | None,
                 timeout: int | None) -> list[dict]:
    """Run `jobs` notebooks at a time, each in its own process (logs in build/logs/)."""
    import subprocess
    folder = BUILD if out_dir is None else Path(out_dir)
    mode = "FAST" if fast else "FULL"
    logs = BUILD / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    queue = longest_first(list(notebooks), mode, folder)
    running, finished = [], {}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    while queue or running:
        while queue and len(running) < jobs:
            nb = queue.pop(0)
            cmd = [sys.executable, __file__, "--fast" if fast else "--full", str(nb)]
            cmd += ["--out-dir", str(out_dir)] if out_dir is not None else []
            cmd += ["--timeout", str(timeout)] if timeout is not None else []
            log = open(logs / f"{Path(nb).stem}_{mode.lower()}.log", "w")
            print(f"== {Path(nb).stem} ({mode}) started, log {log.name}", flush=True)
            env = dict(os.environ, COURSE_CORES=str(max(1, cores // jobs)))
            running.append((nb, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log))
        time.sleep(0.2)                           # a free slot waits at most 0.2 s for the next notebook
        for item in [r for r in running if r[1].poll() is not None]:
            running.remove(item)
            item[2].close()
            nb = item[0]
            stats = load_stats(folder).get(Path(nb).stem, {}).get(mode)
            if stats is None or item[1].returncode not in (0, 1):
                stats = {"notebook": Path(nb).stem, "mode": mode, "seconds": 0.0, "cpu_seconds": 0.0,
                         "peak_mb": 0, "children_mb": 0, "ok": False,
                         "error": f"the run exited with {item[1].returncode} (see build/logs/)"}
            finished[nb] = stats
            print(f"   {stats['notebook']}: {stats['seconds']:.1f} s" + ("" if stats["ok"] else ", FAILED"),
                  flush=True)
    return [finished[nb] for nb in notebooks]


def table(rows: list[dict]) -> str:
    """The plain-text table `make reproduce` prints."""
    lines = [f"{'notebook':<22} {'mode':<5} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} {'children MB':>12}  status",
             "-" * 80]
    for r in rows:
        status = "ok" if r["ok"] else f"FAILED: {r['error'][:60]}"
        lines.append(f"{r['notebook']:<22} {r['mode']:<5} {r['seconds']:>7.1f} {r.get('cpu_seconds', 0):>7.1f} "
                     f"{r['peak_mb']:>8d} "
                     f"{r['children_mb']:>12d}  {status}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--fast", action="store_true", help="FAST mode (under 90 s each)")
    mode.add_argument("--full", action="store_true", help="FULL mode (the paper's settings)")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="folder for the executed notebooks (default build/ or build/fast/)")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: none)")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at once (default 1)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    missing = [str(nb) for nb in args.notebooks if not nb.exists()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    start, rows = time.perf_counter(), []
    if args.jobs > 1 and len(args.notebooks) > 1:
        rows = run_parallel(args.notebooks, args.fast, args.jobs, args.out_dir, args.timeout)
    for nb in ([] if rows else args.notebooks):
        print(f"== {nb.stem} ({'FAST' if args.fast else 'FULL'})", flush=True)
        stats = run(nb, fast=args.fast, out=output_path(nb, args.fast, args.out_dir), timeout=args.timeout)
        save_stats(stats, BUILD if args.out_dir is None else args.out_dir)
        print(f"   {stats['seconds']:.1f} s, peak {stats['peak_mb']} MB"
              + ("" if stats["ok"] else f", FAILED: {stats['error']}"), flush=True)
        rows.append(stats)
    print()
    print(table(rows))
    print(f"total: {time.perf_counter() - start:.0f} s wall for {len(rows)} notebook(s), {args.jobs} at a time")
    return 0 if all(r["ok"] for r in rows) else 1


def skip_iri_parser() -> None:
    """nbformat imports jsonschema, which on import builds rfc3987_syntax's Earley parser for the
    'iri' string format: 2.8 s of CPU in each notebook's process (14 per `make reproduce`). The
    notebook schemas check no string format, so this process goes without it (an import of the
    module then fails and jsonschema leaves the 'iri' check out, as when it is not installed)."""
    sys.modules.setdefault("rfc3987_syntax", None)


if __name__ == "__main__":
    skip_iri_parser()
    sys.exit(main())
