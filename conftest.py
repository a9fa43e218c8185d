"""pytest set-up shared by unit tests and notebook runs (nbval).

When notebooks are executed (`--nbval-lax`), their kernels inherit this process's
environment: FAST mode, one thread, and a per-session results folder, so FAST cards from
tests never mix with the FULL evidence in results/. Card checks run after every notebook.
"""
import os
import tempfile
import time

import pytest

SESSION = {"start": None, "results": None, "notebooks": set()}


def pytest_configure(config):
    SESSION["start"] = time.time()
    if getattr(config.option, "nbval_lax", False) or getattr(config.option, "nbval", False):
        os.environ.setdefault("COURSE_FAST", "1")
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("MPLBACKEND", "Agg")
        SESSION["results"] = tempfile.mkdtemp(prefix="course-test-results-")
        os.environ["COURSE_RESULTS_DIR"] = SESSION["results"]


def pytest_collection_modifyitems(config, items):
    """Checks marked `after_notebooks` look at what the notebooks wrote: run them last."""
    items.sort(key=lambda item: item.get_closest_marker("after_notebooks") is not None)
    SESSION["notebooks"] = {item.path.stem for item in items if item.path.suffix == ".ipynb"}


@pytest.fixture
def notebook_session():
    """Where this session's notebooks wrote their cards, and when it started; skips
    when no notebook was executed (plain `pytest tests`)."""
    if SESSION["results"] is None:
        pytest.skip("notebooks were not executed in this session (run with --nbval-lax notebooks)")
    return SESSION
