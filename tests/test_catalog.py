import pytest

from course import catalog, results


def test_thirteen_papers_in_teaching_order():
    assert [p.number for p in catalog.PAPERS] == list(range(1, 14))
    assert catalog.paper("01_mnist1d").arxiv == "2011.14439"
    with pytest.raises(ValueError, match="no paper"):
        catalog.paper("99_nothing")


def test_status_reads_notebooks_and_full_cards(tmp_path):
    nbs, res = tmp_path / "nb", tmp_path / "res"
    nbs.mkdir()
    p = catalog.paper("01_mnist1d")
    assert catalog.status(p, nbs, res) == "coming"
    (nbs / "01_mnist1d.ipynb").write_text("{}")
    assert catalog.status(p, nbs, res).startswith("ready")
    common = dict(notebook="01_mnist1d", paper="x", claim="c", mode="FULL", directory=res)
    results.record(metric="a", value=1, target=1, **common)
    results.record(metric="b", value=0, target=1, **common)
    assert catalog.status(p, nbs, res) == "1/2 claims reproduce"
    table = catalog.table(notebook_dir=nbs, results_directory=res)
    assert "[Scaling Down Deep Learning with MNIST-1D](01_mnist1d.ipynb)" in table
    assert table.count("coming") == 12
