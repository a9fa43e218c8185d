"""The layering of CONTRIBUTING.md: plumbing never imports a domain module."""
import ast
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parent.parent / "course"
PLUMBING = {"runtime", "train", "plots", "widgets", "results", "report", "catalog", "validate",
            "blur", "sweep", "weights"}
# Top-level modules ('fea') and modules of sub-packages ('physics.systems'); a sub-package
# counts as one domain ('physics') for the import rules.
MODULES = sorted(".".join(p.relative_to(COURSE).with_suffix("").parts)
                 for p in COURSE.rglob("*.py") if p.stem != "__init__")
TOP = {m.split(".")[0] for m in MODULES}


def path_of(module: str) -> Path:
    return COURSE.joinpath(*module.split(".")).with_suffix(".py")


def course_imports(module: str) -> set[str]:
    """The top-level `course` modules or packages that `module` imports (absolute or relative)."""
    tree = ast.parse(path_of(module).read_text())
    found = set()
    to_course = module.count(".") + 1   # the relative level that names course/ itself
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == to_course and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == to_course:
                found.update(a.name for a in node.names)
            elif node.module and node.module.split(".")[0] == "course":
                parts = node.module.split(".")
                found.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("course."))
    return found & TOP


def test_plumbing_modules_exist():
    assert PLUMBING <= TOP, f"listed as plumbing but missing: {PLUMBING - TOP}"


@pytest.mark.parametrize("module", sorted(PLUMBING & TOP))
def test_plumbing_imports_no_domain_module(module):
    domain = course_imports(module) - PLUMBING
    assert not domain, f"course/{module}.py is plumbing but imports domain modules {sorted(domain)}"


@pytest.mark.parametrize("module", MODULES)
def test_no_module_reads_a_notebook(module):
    text = path_of(module).read_text()
    assert ".ipynb" not in text or module == "catalog", f"course/{module}.py reads a notebook"


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_a_mirror_test(module):
    test = f"test_{module.replace('.', '_')}.py"
    assert (COURSE.parent / "tests" / test).exists(), f"{path_of(module)} has no tests/{test}"
