from types import SimpleNamespace

from course import catalog, report, results

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


def test_status_reads_notebooks_and_full_cards(tmp_path):
    nbs, res = tmp_path / "nb", tmp_path / "res"
    nbs.mkdir()
    p = catalog.paper("01_mnist1d")
    assert report.status(p, nbs, res) == "coming"
    (nbs / "01_mnist1d.ipynb").write_text("{}")
    assert report.status(p, nbs, res).startswith("ready")
    common = dict(notebook="01_mnist1d", paper="x", claim="c", mode="FULL", directory=res)
    results.record(metric="a", value=1, target=1, **common)
    results.record(metric="b", value=0, target=1, **common)
    assert report.status(p, nbs, res) == "1/2 claims reproduce"
    table = report.papers_table(notebook_dir=nbs, results_directory=res)
    assert "[Scaling Down Deep Learning with MNIST-1D](01_mnist1d.ipynb)" in table
    assert table.count("coming") == 12


def test_the_entry_point_writes_the_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    assert report.main([str(tmp_path / "R.md")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "R.md").read_text().startswith("# Reproduction results")
    assert "python -m course.report" in (tmp_path / "R.md").read_text()
