"""The catalog is data: the thirteen papers in teaching order (statuses: tests/test_report.py)."""
import pytest

from course import catalog


def test_thirteen_papers_in_teaching_order():
    assert [p.number for p in catalog.PAPERS] == list(range(1, 14))
    assert catalog.paper("01_mnist1d").arxiv == "2011.14439"
    with pytest.raises(ValueError, match="no paper"):
        catalog.paper("99_nothing")


def test_has_notebook(tmp_path):
    p = catalog.paper("01_mnist1d")
    assert catalog.has_notebook(p) and not catalog.has_notebook(p, tmp_path)
    (tmp_path / "01_mnist1d.ipynb").write_text("{}")
    assert catalog.has_notebook(p, tmp_path)
