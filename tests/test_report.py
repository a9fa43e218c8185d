from types import SimpleNamespace

from course import report, results

RT = SimpleNamespace(mode="FULL", device="cpu", seed=0)
BASE = dict(notebook="01_mnist1d", paper="Greydanus & Kobak 2020 (arXiv 2011.14439)",
            claim="CNN reaches 94 % test accuracy", metric="CNN test accuracy (%)",
            device="cpu", seconds=12.3, seed=42, paper_value="94 %")


def test_report_counts_claims_only_and_lists_checks_apart(tmp_path):
    rec = results.Recorder("01_mnist1d", RT, directory=tmp_path)
    rec.claim("CNN reaches 94 %", "CNN test accuracy (%)", 93.7, 94, tolerance=2)
    rec.claim("MLP reaches 68 %", "MLP test accuracy (%)", 50, 68, tolerance=4, note="undertrained",
              partly=results.Band("at_least", 45))
    rec.claim("GRU reaches 91 %", "GRU test accuracy (%)", 10, 91, tolerance=4)
    rec.check("volume met", "volume excess", 0.0, 0, tolerance=1e-9)
    rec.untested("three-body works", "three-body ratio", reason="compute")
    results.record(**BASE, mode="FAST", value=88, target=85, comparison="at_least", directory=tmp_path)
    text = report.render_report(tmp_path)
    assert "| 01_mnist1d | 4 | 1 | 1 | 1 | 1 | 1/1 |" in text
    assert "| **course** | 4 | 1 | 1 | 1 | 1 | 1/1 |" in text
    assert "| check | metric |" in text and "undertrained" in text
    assert "FAST pipeline runs" not in text
    assert "FAST pipeline runs" in report.render_report(tmp_path, include_fast=True)
    out = report.write_report(tmp_path / "R.md", tmp_path)
    assert out.read_text() == text


def test_tally_and_cards_table_keep_checks_apart(tmp_path):
    rec = results.Recorder("01_mnist1d", RT, directory=tmp_path)
    rec.claim("c", "m1", 1.0, 1.0)
    rec.check("k", "m2", 5.0, 0.0)
    assert report.tally(rec.cards) == {"reproduces": 1, "partly": 0, "not yet": 0, "untested": 0,
                                       "claims": 1, "checks": 1, "checks passed": 0}
    table = report.cards_table(rec.cards)
    assert table.index("| claim |") < table.index("| check |")
    assert report.cards_table([]) == "(no cards)"
