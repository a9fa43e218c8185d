import json
from types import SimpleNamespace

import pytest

from course import results

BASE = dict(notebook="01_mnist1d", paper="Greydanus & Kobak 2020 (arXiv 2011.14439)",
            claim="CNN reaches 94 % test accuracy", metric="CNN test accuracy (%)",
            mode="FULL", device="cpu", seconds=12.3, seed=42, paper_value="94 %")
RT = SimpleNamespace(mode="FULL", device="cpu", seed=0)


@pytest.mark.parametrize("comparison,value,target,tol,expected", [
    ("within", 93.0, 94.0, 3.0, True), ("within", 90.0, 94.0, 3.0, False),
    ("at_least", 90.0, 90.0, 0.0, True), ("at_least", 89.9, 90.0, 0.0, False),
    ("at_most", 0.2, 0.2, 0.0, True), ("at_most", 0.21, 0.2, 0.0, False),
    ("within", float("nan"), 0.0, 1e9, False),
])
def test_check(comparison, value, target, tol, expected):
    assert results.check(value, target, tol, comparison) is expected


def test_record_computes_status_and_writes_json(tmp_path):
    card = results.record(**BASE, value=92.1, target=93, tolerance=3, directory=tmp_path)
    assert card.status == "reproduces" and card.passed and card.kind == "claim"
    data = json.loads((tmp_path / f"{card.key}.json").read_text())
    assert data["value"] == 92.1 and data["status"] == "reproduces" and data["mode"] == "FULL"
    failing = results.record(**{**BASE, "metric": "GRU test accuracy (%)"}, value=80, target=90,
                             tolerance=4, directory=tmp_path, note="GRU cut to 3000 steps")
    assert failing.status == "not yet" and not failing.passed
    assert len(results.load_cards(tmp_path)) == 2
    assert len(results.load_cards(tmp_path, mode="FAST")) == 0


@pytest.mark.parametrize("value,status", [(25.0, "reproduces"), (12.0, "partly"), (0.5, "not yet")])
def test_partly_band_is_computed_from_the_value(tmp_path, value, status):
    card = results.record(**BASE, value=value, target=19, comparison="at_least",
                          partly=results.Band("at_least", 1.0), directory=tmp_path)
    assert card.status == status
    assert "partly: ≥ 1" in card.target_text()


def test_checks_pass_or_fail_and_take_no_partly_band(tmp_path):
    ok = results.record(**BASE, kind="check", value=1e-14, target=0, tolerance=1e-10, directory=tmp_path)
    bad = results.record(**{**BASE, "metric": "m2"}, kind="check", value=1.0, target=0, tolerance=1e-10,
                         directory=tmp_path)
    assert (ok.status, bad.status) == ("passes", "fails")
    with pytest.raises(ValueError, match="claims only"):
        results.record(**BASE, kind="check", value=1, partly=results.Band("at_least", 0), directory=tmp_path)


def test_seed_values_hold_the_median_and_every_seed(tmp_path):
    card = results.record(**BASE, seed_values=[0.47, 0.18, 0.24], seeds=[1, 0, 2], target=0.2,
                          comparison="at_most", directory=tmp_path)
    assert card.value == 0.24 and card.status == "not yet"
    assert card.seed_values == [0.47, 0.18, 0.24] and "median of 3 seeds" in card.value_text()
    with pytest.raises(ValueError, match="same length"):
        results.record(**BASE, seed_values=[1, 2], seeds=[0], directory=tmp_path)
    with pytest.raises(ValueError, match="not both"):
        results.record(**BASE, value=1, seed_values=[1], seeds=[0], directory=tmp_path)


def test_same_metric_and_mode_overwrites(tmp_path):
    results.record(**BASE, value=80, target=93, tolerance=3, directory=tmp_path)
    results.record(**BASE, value=93, target=93, tolerance=3, directory=tmp_path)
    assert [c.value for c in results.load_cards(tmp_path)] == [93]


def test_recorder_takes_the_citation_from_the_catalog_and_clears_stale_cards(tmp_path):
    results.record(**{**BASE, "metric": "a metric renamed since"}, value=1, target=1, directory=tmp_path)
    results.record(**{**BASE, "mode": "FAST"}, value=1, target=1, directory=tmp_path)
    rec = results.Recorder("01_mnist1d", RT, directory=tmp_path)
    card = rec.claim("CNN beats MLP", "CNN - MLP accuracy (points)", 29.0, 10, comparison="at_least")
    rec.check("generator matches the official data", "checksum deviation", 0.0, 0, tolerance=1e-12)
    rec.untested("the GRU costs 10x the CNN", "GRU/CNN time", reason="not yet written", paper_value="10x")
    assert card.paper == "Greydanus & Kobak 2020 (arXiv 2011.14439)" and card.device == "cpu"
    cards = results.load_cards(tmp_path)
    assert sorted((c.mode, c.kind, c.status) for c in cards) == [
        ("FAST", "claim", "reproduces"), ("FULL", "check", "passes"),
        ("FULL", "claim", "reproduces"), ("FULL", "claim", "untested")]
    with pytest.raises(ValueError, match="no paper"):
        results.Recorder("99_nothing", RT, directory=tmp_path)


def test_old_cards_without_kind_still_load(tmp_path):
    old = {k: v for k, v in BASE.items()}
    old.update(value=1.0, target=1.0, tolerance=0.0, comparison="within", passed=False)
    (tmp_path / "old.json").write_text(json.dumps(old))
    (card,) = results.load_cards(tmp_path)
    assert card.kind == "claim" and card.status == "not yet"


@pytest.mark.parametrize("bad,match", [
    ({"notebook": "mnist"}, "notebook"), ({"mode": "SLOW"}, "mode"), ({"claim": " "}, "claim"),
    ({"tolerance": -1}, "tolerance"), ({"comparison": "close"}, "comparison"), ({"value": "high"}, "number"),
    ({"kind": "hope"}, "kind"), ({"partly": (0, 1)}, "Band"),
])
def test_record_rejects_bad_input(tmp_path, bad, match):
    kwargs = {**BASE, "value": 1.0, "target": 1.0, "tolerance": 0.0, **bad}
    with pytest.raises(ValueError, match=match):
        results.record(**kwargs, directory=tmp_path)


def test_untested_needs_a_reason(tmp_path):
    with pytest.raises(ValueError, match="reason"):
        results.record_untested("01_mnist1d", "p", "c", "m", reason=" ", mode="FULL", directory=tmp_path)


def test_load_rejects_foreign_json(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a reproduction card"):
        results.load_cards(tmp_path)


def test_only_a_recording_run_writes_full_cards_to_results(monkeypatch):
    """An autograde or a student's FULL run must never overwrite the committed evidence."""
    monkeypatch.delenv("COURSE_RESULTS_DIR", raising=False)
    monkeypatch.delenv("COURSE_RECORD", raising=False)
    assert results.results_dir("FULL").parts[-2:] == ("build", "results")
    assert results.results_dir("FAST").name == "results"
    monkeypatch.setenv("COURSE_RECORD", "1")
    assert results.recording() and results.results_dir("FULL").parts[-2:] != ("build", "results")
