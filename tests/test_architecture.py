"""The layering of CONTRIBUTING.md: plumbing never imports a domain module."""
import ast
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parent.parent / "course"
PLUMBING = {"runtime", "fitting", "plots", "widgets", "results", "report", "catalog", "validate",
            "blur", "sweep", "weights", "syllabus"}
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
    # catalog knows whether a notebook file exists and report links it; neither opens one
    assert ".ipynb" not in text or module in ("catalog", "report"), f"course/{module}.py reads a notebook"


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_a_mirror_test(module):
    test = f"test_{module.replace('.', '_')}.py"
    assert (COURSE.parent / "tests" / test).exists(), f"{path_of(module)} has no tests/{test}"


# ---- no import cycle ----------------------------------------------------------------------

def _dotted(path: Path) -> str:
    parts = ("course",) + path.relative_to(COURSE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


NODES = {_dotted(p): p for p in COURSE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """Every course module (and package __init__) -> the course modules it imports, at any
    depth of its code: an import inside a function is an edge too, so it cannot hide a cycle."""
    graph = {}
    for name, path in NODES.items():
        package = name if path.stem == "__init__" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in NODES else module for a in node.names]
            else:
                continue
            for target in targets:   # `import course.fea.x` counts as course.fea if no deeper module
                while target and target not in NODES:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, ..., a], or [] when the graph has none."""
    state: dict[str, int] = {}   # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_graph_sees_relative_absolute_and_function_level_imports():
    graph = import_graph()
    assert "course.results" in graph["course.report"] and "course.catalog" in graph["course.report"]
    assert "course.validate" in graph["course.physics.systems"] or \
        any(n.startswith("course.physics.") for n in graph["course.physics"])
    assert "course.plots" in graph["course.runtime"], "setup()'s import inside a function is an edge"


def test_course_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle in course/: " + " -> ".join(cycle)


def test_the_catalog_is_data():
    assert not import_graph()["course.catalog"], "course/catalog.py imports nothing of the course"
