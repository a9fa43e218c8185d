"""`make site` builds: one executed notebook (00, FAST, run here) and the others as they are,
with README, LECTURES and RESULTS; every page exists, every internal link and image resolves,
navigation follows the course order, and Sphinx reports no broken cross-reference."""
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

pytest.importorskip("myst_nb", reason="the site tools: pip install -e '.[site]' (make test does)")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import build_site  # noqa: E402
import run_notebook  # noqa: E402


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.targets.append(attrs[key])


def parse(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    build = tmp / "build"
    stats = run_notebook.run(ROOT / "notebooks" / "00_start_here.ipynb", fast=True,
                             out=build / "fast" / "00_start_here.ipynb", timeout=300)
    assert stats["ok"], stats["error"]
    used = build_site.stage(tmp / "src", execute_missing=False, build=build)
    warnings = tmp / "warnings.txt"
    status = build_site.build_html(tmp / "src", tmp / "html", warnings=warnings)
    return {"out": tmp / "html", "used": used, "status": status, "warnings": warnings.read_text(),
            "stats": stats}


def test_the_runner_measured_the_kernel(site):
    stats = site["stats"]
    assert stats["mode"] == "FAST" and 50 < stats["peak_mb"] < 2048, stats


def test_build_succeeds_with_every_page(site):
    assert site["status"] == 0, site["warnings"]
    assert site["used"]["00_start_here"] == "FAST"
    out = site["out"]
    for page in ["index.html", "README.html", "LECTURES.html", "RESULTS.html"]:
        assert (out / page).exists(), page
    for name in site["used"]:
        assert (out / "notebooks" / f"{name}.html").exists(), name


def test_no_broken_cross_reference(site):
    broken = [line for line in site["warnings"].splitlines() if "not found" in line or "undefined label" in line]
    assert not broken, "\n".join(broken)


def test_every_internal_link_and_image_resolves(site):
    out = site["out"]
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 8
    ids = {page: parse(page).ids for page in pages}
    for page in pages:
        if page.parent.name.startswith("_"):
            continue
        for target in parse(page).targets:
            url = urlparse(target)
            if url.scheme or target.startswith(("//", "mailto:", "javascript:", "data:")):
                continue
            path = (page.parent / unquote(url.path)).resolve() if url.path else page
            assert path.exists(), f"{page.relative_to(out)} links {target}: missing"
            if url.fragment and path.suffix == ".html" and path in ids:
                assert url.fragment in ids[path], f"{page.relative_to(out)} links {target}: no such anchor"


def test_executed_outputs_and_widget_state_are_on_the_page(site):
    html = (site["out"] / "notebooks" / "00_start_here.html").read_text(encoding="utf-8")
    assert "reproduces" in html and "partly" in html and "untested" in html, "the card table is rendered"
    assert "mode=FAST" in html, "the setup line is rendered"
    assert "application/vnd.jupyter.widget-state+json" in html, "the widgets' static state is kept"


def test_navigation_follows_the_course_order(site):
    html = (site["out"] / "index.html").read_text(encoding="utf-8")
    nav = html[html.index("bd-sidebar"):]
    order = [m for m in re.findall(r'href="notebooks/(\d\d)_', nav)]
    first = list(dict.fromkeys(order))
    assert first == sorted(first) and len(first) == len(site["used"]), first
    for page in ("README.html", "LECTURES.html", "RESULTS.html"):
        assert page in nav
