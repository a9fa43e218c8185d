"""tools/run_notebook.py: `make reproduce` runs notebooks two at a time, longest first, and
keeps each run's wall time, CPU time and peak memory in build/run_stats.json."""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import run_notebook  # noqa: E402


def stats(tmp_path, **seconds):
    for name, s in seconds.items():
        run_notebook.save_stats({"notebook": name, "mode": "FULL", "seconds": s}, tmp_path)


def test_longest_first_with_unknown_notebooks_first(tmp_path):
    stats(tmp_path, a=10.0, b=300.0, c=50.0)
    order = run_notebook.longest_first([Path("a.ipynb"), Path("b.ipynb"), Path("new.ipynb"), Path("c.ipynb")],
                                       "FULL", tmp_path)
    assert [p.stem for p in order] == ["new", "b", "c", "a"]


def test_a_fresh_clone_orders_by_the_syllabus_times(tmp_path):
    """No build/run_stats.json yet (a fresh clone): the syllabus's FULL times order the runs."""
    from course.syllabus import TIMES
    names = ["05_action", "11_atari_saliency", "00_start_here", "04_dissipative_hnn"]
    order = [p.stem for p in run_notebook.longest_first([Path(f"{n}.ipynb") for n in names], "FULL", tmp_path)]
    assert order == sorted(names, key=lambda n: TIMES[n].full_min, reverse=True)
    assert order[0] == "11_atari_saliency" and order[-1] == "00_start_here"


def test_stats_merge_by_notebook_and_mode(tmp_path):
    stats(tmp_path, a=1.0)
    run_notebook.save_stats({"notebook": "a", "mode": "FAST", "seconds": 2.0}, tmp_path)
    data = json.loads((tmp_path / run_notebook.STATS).read_text())
    assert data["a"]["FULL"]["seconds"] == 1.0 and data["a"]["FAST"]["seconds"] == 2.0


def test_bad_arguments_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_notebook.main(["--full", "--jobs", "0", str(tmp_path / "x.ipynb")])
    assert "--jobs must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_notebook.main(["--full", str(tmp_path / "missing.ipynb")])
    assert "no such notebook" in capsys.readouterr().err


def test_full_runs_record_and_fast_runs_do_not(monkeypatch):
    monkeypatch.delenv("COURSE_RECORD", raising=False)
    assert run_notebook._kernel_env(fast=False)["COURSE_RECORD"] == "1"
    assert "COURSE_RECORD" not in run_notebook._kernel_env(fast=True)


def test_kernel_peak_is_the_kernels_own_not_its_parents(tmp_path):
    """ru_maxrss survives execve: a kernel started by a big process (pytest after many tests)
    would report the parent's peak. The probe reads the kernel's own high-water mark."""
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("FAST = True", metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "98_tiny.ipynb"
    nbformat.write(nb, path)
    ballast = bytearray(800 * 2 ** 20)
    ballast[::4096] = b"\x01" * len(ballast[::4096])        # touch every page: an 800 MB parent
    stats = run_notebook.run(path, fast=True, out=tmp_path / "out.ipynb")
    del ballast
    assert stats["ok"] and stats["peak_mb"] < 600, stats


def test_jobs_share_the_cores_longest_first_and_every_notebook_gets_its_share(tmp_path, monkeypatch):
    """--jobs 2 on two cores: every notebook, even one whose setup asks for every core (13's
    threads="all"), runs with COURSE_CORES=1 beside another, longest first (the committed FULL cards
    are one-thread runs), and at most two run at once."""
    import subprocess
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    paths = {}
    for name, call in (("a", 'course.setup(seed=0, threads=None if FAST else "all")'),
                       ("b", "course.setup(seed=0)"), ("c", "course.setup(seed=0)")):
        paths[name] = tmp_path / f"{name}.ipynb"
        paths[name].write_text(json.dumps({"cells": [dict(cell, source=[call])], "metadata": {},
                                           "nbformat": 4, "nbformat_minor": 5}))
    for name, seconds in (("a", 10.0), ("b", 300.0), ("c", 50.0)):
        run_notebook.save_stats({"notebook": name, "mode": "FULL", "seconds": seconds, "ok": True}, tmp_path)
    live, events = [], []

    class FakeRun:
        def __init__(self, cmd, env, **kwargs):
            self.name = Path(cmd[3]).stem
            live.append(self.name)
            events.append((self.name, env["COURSE_CORES"], sorted(live)))
            self.polls, self.returncode = 0, None

        def poll(self):
            self.polls += 1
            if self.polls < 2:
                return None
            if self.name in live:
                live.remove(self.name)
            self.returncode = 0
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeRun)
    monkeypatch.setattr(run_notebook.time, "sleep", lambda s: None)
    monkeypatch.setattr(run_notebook, "BUILD", tmp_path)
    monkeypatch.setattr(run_notebook.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    run_notebook.run_parallel([paths["a"], paths["b"], paths["c"]], fast=False, jobs=2, out_dir=tmp_path,
                              timeout=None)
    assert [e[:2] for e in events] == [("b", "1"), ("c", "1"), ("a", "1")]   # longest first, one core each
    assert events[1][2] == ["b", "c"] and max(len(e[2]) for e in events) == 2


def test_a_notebook_process_skips_the_iri_parser_and_still_validates():
    """The CLI's process blocks rfc3987_syntax (2.8 s to import, checks nothing notebooks use):
    nbformat still validates and writes notebooks without it."""
    import subprocess
    import sys
    code = ("import sys; sys.path.insert(0, 'tools'); import run_notebook; run_notebook.skip_iri_parser(); "
            "import nbformat; nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')]); "
            "nbformat.validate(nb); nbformat.reads(nbformat.writes(nb), as_version=4); "
            "assert sys.modules['rfc3987_syntax'] is None, 'the parser was imported'; "
            "bad = nbformat.v4.new_notebook(); bad.cells.append({'cell_type': 'code'}); "
            "raised = False\n"
            "try:\n    nbformat.validate(bad)\nexcept nbformat.ValidationError:\n    raised = True\n"
            "assert raised, 'validation no longer catches a bad cell'")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
