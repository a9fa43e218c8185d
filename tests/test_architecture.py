"""The layering of CONTRIBUTING.md: plumbing never imports a domain module."""
import ast
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parent.parent / "course"
PLUMBING = {"runtime", "train", "plots", "widgets", "results", "report", "catalog", "validate",
            "blur", "sweep"}
MODULES = sorted(p.stem for p in COURSE.glob("*.py") if p.stem != "__init__")


def course_imports(module: str) -> set[str]:
    """The `course` modules that `module` imports (absolute or relative, at any depth)."""
    tree = ast.parse((COURSE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(a.name for a in node.names)
            elif node.module and node.module.split(".")[0] == "course":
                parts = node.module.split(".")
                found.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("course."))
    return found & set(MODULES)


def test_plumbing_modules_exist():
    assert PLUMBING <= set(MODULES), f"listed as plumbing but missing: {PLUMBING - set(MODULES)}"


@pytest.mark.parametrize("module", sorted(PLUMBING & set(MODULES)))
def test_plumbing_imports_no_domain_module(module):
    domain = course_imports(module) - PLUMBING
    assert not domain, f"course/{module}.py is plumbing but imports domain modules {sorted(domain)}"


@pytest.mark.parametrize("module", MODULES)
def test_no_module_reads_a_notebook(module):
    text = (COURSE / f"{module}.py").read_text()
    assert ".ipynb" not in text or module == "catalog", f"course/{module}.py reads a notebook"


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_a_mirror_test(module):
    assert (COURSE.parent / "tests" / f"test_{module}.py").exists(), f"course/{module}.py has no tests/test_{module}.py"
