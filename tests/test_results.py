import json

import pytest

from course import results

BASE = dict(notebook="01_mnist1d", paper="Greydanus & Kobak 2020 (arXiv 2011.14439)",
            claim="CNN reaches 94 % test accuracy", metric="CNN test accuracy (%)",
            mode="FULL", device="cpu", seconds=12.3, seed=42, paper_value="94 %")


@pytest.mark.parametrize("comparison,value,target,tol,expected", [
    ("within", 93.0, 94.0, 3.0, True), ("within", 90.0, 94.0, 3.0, False),
    ("at_least", 90.0, 90.0, 0.0, True), ("at_least", 89.9, 90.0, 0.0, False),
    ("at_most", 0.2, 0.2, 0.0, True), ("at_most", 0.21, 0.2, 0.0, False),
    ("within", float("nan"), 0.0, 1e9, False),
])
def test_check(comparison, value, target, tol, expected):
    assert results.check(value, target, tol, comparison) is expected


def test_record_computes_passed_and_writes_json(tmp_path):
    card = results.record(**BASE, value=92.1, target=93, tolerance=3, directory=tmp_path)
    assert card.passed
    data = json.loads((tmp_path / f"{card.key}.json").read_text())
    assert data["value"] == 92.1 and data["passed"] is True and data["mode"] == "FULL"
    failing = results.record(**{**BASE, "metric": "GRU test accuracy (%)"}, value=80, target=90,
                             tolerance=4, directory=tmp_path, note="GRU cut to 3000 steps")
    assert not failing.passed
    assert len(results.load_cards(tmp_path)) == 2
    assert len(results.load_cards(tmp_path, mode="FAST")) == 0


def test_same_metric_and_mode_overwrites(tmp_path):
    results.record(**BASE, value=80, target=93, tolerance=3, directory=tmp_path)
    results.record(**BASE, value=93, target=93, tolerance=3, directory=tmp_path)
    cards = results.load_cards(tmp_path)
    assert [c.value for c in cards] == [93]


def test_report_separates_full_evidence_from_fast_checks(tmp_path):
    results.record(**BASE, value=92.1, target=93, tolerance=3, directory=tmp_path)
    results.record(**{**BASE, "metric": "MLP test accuracy (%)"}, value=50, target=65, tolerance=4,
                   directory=tmp_path, note="undertrained")
    results.record(**{**BASE, "mode": "FAST"}, value=88, target=85, comparison="at_least", directory=tmp_path)
    report = results.render_report(tmp_path)
    assert "FULL: 1 of 2 claims reproduce" in report
    assert "partly (1/2)" in report
    assert "undertrained" in report
    assert "FAST pipeline checks" not in report
    assert "FAST pipeline checks" in results.render_report(tmp_path, include_fast=True)
    out = results.write_report(tmp_path / "R.md", tmp_path)
    assert out.read_text() == report


@pytest.mark.parametrize("bad,match", [
    ({"notebook": "mnist"}, "notebook"), ({"mode": "SLOW"}, "mode"), ({"claim": " "}, "claim"),
    ({"tolerance": -1}, "tolerance"), ({"comparison": "close"}, "comparison"), ({"value": "high"}, "number"),
])
def test_record_rejects_bad_input(tmp_path, bad, match):
    kwargs = {**BASE, "value": 1.0, "target": 1.0, "tolerance": 0.0, **bad}
    with pytest.raises(ValueError, match=match):
        results.record(**kwargs, directory=tmp_path)


def test_load_rejects_foreign_json(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a reproduction card"):
        results.load_cards(tmp_path)
