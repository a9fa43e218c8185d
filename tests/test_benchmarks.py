"""benchmarks/: every race runs (tiny sizes, no timing asserted), and the harness measures
like for like: alternated sides, both thread counts, ratios the right way round, a result
check that can fail, and no original code inside the repository."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import race  # noqa: E402

RACES = sorted(p.name for p in (ROOT / "benchmarks").glob("*_speed.py"))


@pytest.mark.parametrize("script", RACES)
def test_every_race_runs_at_smoke_size(script):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, f"{script} --smoke failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def test_race_alternates_and_reports_both_ratios(monkeypatch):
    calls = []
    monkeypatch.setattr(race, "shipped_threads_ours", lambda: 1)
    monkeypatch.setattr(race, "shipped_threads_original", lambda: 2)
    record = race.race("99_toy", "toy", lambda: calls.append("ours") or 1, lambda: calls.append("orig") or 1,
                       lambda a, b: "equal", repeats=2, threads=(1, 2))
    assert calls == ["ours", "orig"] * 6            # warm-up + 2 repeats, at each of 2 thread counts
    assert set(record["sides"]["ours"]) == {"1", "2"} and record["same"] == "equal"
    assert record["as_shipped"] > 0 and record["best_vs_best"] > 0


def test_ratio_is_original_over_ours(monkeypatch):
    ticks = iter(range(1000))
    monkeypatch.setattr(race.time, "perf_counter", lambda: next(ticks) * 1.0)
    # every call takes one tick; make the original's calls take two by ticking once more inside
    record = race.race("99_toy", "toy", lambda: None, lambda: race.time.perf_counter(), None,
                       repeats=1, threads=(1,))
    assert record["best_vs_best"] == pytest.approx(2.0)


def test_a_disagreeing_result_fails_the_race():
    def same(a, b):
        raise AssertionError("results differ")
    with pytest.raises(AssertionError, match="results differ"):
        race.race("99_toy", "toy", lambda: 1, lambda: 2, same, repeats=1, threads=(1,))


def test_original_must_live_outside_the_repository(tmp_path):
    with pytest.raises(SystemExit):
        race.arguments("x", ["--original", str(ROOT / "course")])
    assert race.arguments("x", ["--original", str(tmp_path)]).original == tmp_path.resolve()
    with pytest.raises(SystemExit):
        race.arguments("x", ["--repeats", "0"])


def test_table_lists_saved_races(tmp_path):
    side = {"1": {"min": 2.0, "median": 2.0, "all": [2.0]}}
    (tmp_path / "a.json").write_text(json.dumps({"race": "a", "what": "toy race", "unit": "s", "sides": {
        "ours": side, "original": {"1": {"min": 6.0, "median": 6.0, "all": [6.0]}}}, "as_shipped": 3.0,
        "best_vs_best": 3.0, "same": "equal", "load": [0.5, 0.4, 0.3], "date": "2026-12-06"}))
    table = race.table(tmp_path)
    assert "| toy race | s | 2 (1) | 6 (1) | 3.0x | 3.0x | equal | 0.5, 2026-12-06 |" in table


def test_machine_share_says_what_else_ran_during_a_race():
    """10 s of two cores' time: 6 s busy, of which 4 s were the race's own and 1 s stolen -> others 5 %, steal 5 %."""
    import os
    tick = os.sysconf("SC_CLK_TCK")
    before, after = (0.0, 0.0, 0.0), (6.0 * tick, 1.0 * tick, 20.0 * tick)
    share = race.machine_share(before, after, own_cpu_seconds=4.0)
    assert share["others"] == 0.05 and share["steal"] == 0.05
    assert race.machine_share(None, after, 1.0) is None
    assert race._cpu_times() is None or len(race._cpu_times()) == 3
