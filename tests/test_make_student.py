"""`make student` (tools/make_student.py): the student copies a lecturer hands out.

On a tiny synthetic notebook (built here, so these tests do not depend on the course
notebooks' exercises) and on every course notebook's copy:
- no solution line is left (no `### BEGIN/END SOLUTION`, none of the reference lines);
- each exercise raises NotImplementedError when the student runs it (the check cell after it
  stops there), in a real kernel for the fixture;
- the check cells, and every cell that is not an exercise, are unchanged;
- nbgrader refuses malformed exercises with the notebook's name; the run takes seconds;
- Markdown cells tagged `solution` (collapsed answers) are dropped, an untagged `<details>`
  answer stops the run naming notebook and cell, and no student copy holds a leftover
  (`### BEGIN SOLUTION`, a cell tagged `solution`, a `<details>` answer); the lecturer's
  notebooks keep them; `--tag-solutions` moves answers into tagged cells of their own.
"""
from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import time
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests import nbimport

pytest.importorskip("nbgrader", reason="needs the teach group (make student / make test install it)")

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_student", ROOT / "tools" / "make_student.py")
ms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ms)

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _grader(**kw) -> dict:
    return {"nbgrader": {"schema_version": 3, **kw}}


def synthetic_notebook() -> nbformat.NotebookNode:
    """Two exercises: a function, and a method whose check needs a name made by a plain cell."""
    sol = dict(grade=False, solution=True, locked=False)
    chk = dict(grade=True, solution=False, locked=True, points=1)
    cells = [
        new_markdown_cell("# Fixture\nTwo graded exercises."),
        new_code_cell("import math\n\nSCALE = 2"),
        new_code_cell(f'def double(x):\n    """Return 2 x."""\n    y = SCALE * 1\n    {BEGIN}\n    return y * x\n    {END}',
                      metadata=_grader(grade_id="fx_double", **sol)),
        new_code_cell('got = double(3)\nassert got == 6, f"expected 6, got {got}"\nprint("double: correct")',
                      metadata=_grader(grade_id="fx_double_check", **chk)),
        new_code_cell("values = [double(v) for v in range(3)]\nmass = float(values[1])\nvalues"),
        new_code_cell(f'class Energy:\n    def kinetic(self, m, v):\n        """m v^2 / 2."""\n'
                      f'        {BEGIN}\n        return 0.5 * m * v ** 2\n        {END}',
                      metadata=_grader(grade_id="fx_kinetic", **sol)),
        new_code_cell('got = Energy().kinetic(mass, 3.0)\nassert math.isclose(got, 9.0), f"expected 9.0, got {got}"',
                      metadata=_grader(grade_id="fx_kinetic_check", **chk)),
        new_code_cell('print("the end")'),
    ]
    return new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_lines(source: str) -> list[str]:
    """The reference lines between the delimiters that occur nowhere else in the cell."""
    inside, outside, in_sol = [], [], False
    for line in source.splitlines():
        if BEGIN in line:
            in_sol = True
        elif END in line:
            in_sol = False
        elif line.strip():
            (inside if in_sol else outside).append(line.strip())
    return [ln for ln in inside if ln not in outside]


def kept_cells(nb):
    """The lecturer's cells that the student copy keeps (all but the Markdown cells tagged solution)."""
    out = nbformat.from_dict(nb)
    out.cells = [c for c in nb.cells if not (c.cell_type == "markdown" and ms.tagged_solution(c))]
    return out


def assert_student_copy(original, student, name: str) -> list[tuple[int, int]]:
    """Structural checks of a student copy; returns the (exercise, check) cell index pairs
    (indices in the student copy)."""
    assert ms.leftovers(student) == [], f"{name}: the student copy holds {ms.leftovers(student)}"
    original = kept_cells(original)
    assert len(student.cells) == len(original.cells), f"{name}: cells added or lost"
    pairs = []
    for i, (o, s) in enumerate(zip(original.cells, student.cells)):
        assert BEGIN not in s.source and END not in s.source, f"{name} cell {i}: a solution delimiter is left"
        if _meta(o).get("solution"):
            left = [ln for ln in solution_lines(o.source) if ln in s.source]
            assert not left, f"{name} cell {i} ({_meta(o)['grade_id']}): solution lines left: {left}"
            if o.cell_type == "code":
                assert "raise NotImplementedError()" in s.source, f"{name} cell {i}: no stub"
                nxt = next((j for j in range(i + 1, len(original.cells))
                            if original.cells[j].cell_type == "code"), None)
                if nxt is not None and _meta(original.cells[nxt]).get("grade"):
                    pairs.append((i, nxt))
        else:
            assert s.source == o.source, f"{name} cell {i}: changed although it is not an exercise"
        if _meta(o).get("grade"):
            assert _meta(s)["locked"] and _meta(s)["grade_id"] == _meta(o)["grade_id"], f"{name} cell {i}"
        assert s.get("outputs", []) == [], f"{name} cell {i}: outputs kept"
    return pairs


def stub_functions(source: str, ns: dict) -> list:
    """The callables that a student cell defines whose body holds the stub (methods included)."""
    def has_stub(fn):
        return any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n) for n in ast.walk(fn))
    found = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and has_stub(node):
            found.append(ns[node.name])
        elif isinstance(node, ast.ClassDef):
            found += [getattr(ns[node.name], f.name) for f in node.body
                      if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and has_stub(f)]
    return found


def exercise_raises(ns: dict, exercise: str, check: str, where: str) -> str:
    """Run the student's exercise cell, then its check cell, in `ns`.

    The check must stop with NotImplementedError. When it cannot get that far because it
    needs a name made by a cell that is not a pure definition (NameError), every stubbed
    function is called with mock arguments instead and must raise NotImplementedError.
    Returns how it was shown ("cell", "check" or "direct call")."""
    try:
        exec(compile(exercise, f"<{where} exercise>", "exec"), ns)
    except NotImplementedError:  # a solution cell without delimiters: nbgrader stubs the whole cell
        return "cell"
    try:
        exec(compile(check, f"<{where} check>", "exec"), ns)
    except NotImplementedError:
        return "check"
    except NameError:
        pass
    else:
        raise AssertionError(f"{where}: the check cell passes on the student stub: it cannot fail")
    stubs = stub_functions(exercise, ns)
    assert stubs, f"{where}: no function with the stub in the exercise cell"
    for fn in stubs:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        args = [mock.MagicMock() for p in params if p.kind != p.KEYWORD_ONLY]
        kwargs = {p.name: mock.MagicMock() for p in params if p.kind == p.KEYWORD_ONLY}
        with pytest.raises(NotImplementedError):
            fn(*args, **kwargs)
    return "direct call"


# ---- the synthetic notebook -------------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_copy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    src = folder / "src" / "98_fixture.ipynb"
    src.parent.mkdir()
    nbformat.write(synthetic_notebook(), src)
    dest, solutions, checks = ms.student_copy(src, folder / "out")
    return nbformat.read(src, as_version=4), nbformat.read(dest, as_version=4), solutions, checks


def test_the_fixture_copy_has_no_solution_and_keeps_every_other_cell(fixture_copy):
    original, student, solutions, checks = fixture_copy
    assert (solutions, checks) == (2, 2)
    assert assert_student_copy(original, student, "fixture") == [(2, 3), (5, 6)]
    text = nbformat.writes(student)
    assert "return y * x" not in text and "0.5 * m * v" not in text
    # what is outside the solution region stays: signature, docstring, the line before it
    assert 'def double(x):\n    """Return 2 x."""\n    y = SCALE * 1\n    # YOUR CODE HERE\n    raise NotImplementedError()' \
        == student.cells[2].source
    assert [_meta(c).get("checksum") is not None for c in student.cells[2:4]] == [True, True]


def test_each_fixture_exercise_raises_not_implemented_in_a_kernel(fixture_copy, tmp_path):
    """The student copy run top to bottom in a real kernel, as a student meets it: the first
    check stops with NotImplementedError; once the first exercise is solved, the second check
    does. The original runs clean."""
    import copy

    from nbclient import NotebookClient

    def errors(nb):
        NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        return {i: o["ename"] for i, c in enumerate(nb.cells) if c.cell_type == "code"
                for o in c.outputs if o.output_type == "error"}

    original, student, _, _ = fixture_copy
    assert errors(copy.deepcopy(original)) == {}
    assert errors(copy.deepcopy(student))[3] == "NotImplementedError"        # double's check
    first_solved = copy.deepcopy(student)
    first_solved.cells[2].source = original.cells[2].source
    assert errors(first_solved) == {6: "NotImplementedError"}                 # kinetic's check


def test_each_fixture_exercise_raises_in_a_namespace_of_definitions(fixture_copy):
    """The quick route used on the course notebooks: definitions, stub, check (or a direct call)."""
    original, student, _, _ = fixture_copy
    ns = {"math": __import__("math"), "SCALE": 2}
    assert exercise_raises(ns, student.cells[2].source, student.cells[3].source, "fx_double") == "check"
    # kinetic's check needs `mass`, made by a plain cell: the stub is called directly
    assert exercise_raises(ns, student.cells[5].source, student.cells[6].source, "fx_kinetic") == "direct call"
    # a solution cell without delimiters: nbgrader replaces the whole cell, which then raises
    assert exercise_raises(ns, "# YOUR CODE HERE\nraise NotImplementedError()", "double(1)", "whole") == "cell"
    # a check that passes whatever the student writes is caught
    with pytest.raises(AssertionError, match="cannot fail"):
        exercise_raises(ns, student.cells[2].source, "assert True", "vacuous")


@pytest.mark.parametrize("break_it,message", [
    (lambda nb: nb.cells[1].__setitem__("source", f"X = 1\n{BEGIN}\nY = 2\n{END}"), "non-solution cell"),
    (lambda nb: nb.cells[2].__setitem__("source", f"def double(x):\n    {BEGIN}\n    return 2 * x"), "no end solution"),
    (lambda nb: nb.cells[6].metadata["nbgrader"].__setitem__("grade_id", "fx_double_check"), "validate"),
])
def test_malformed_exercises_stop_the_run_with_the_notebooks_name(tmp_path, break_it, message):
    nb = synthetic_notebook()
    break_it(nb)
    src = tmp_path / "97_broken.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(RuntimeError, match=f"97_broken.ipynb.*{message}"):
        ms.student_copy(src, tmp_path / "out")


def test_a_notebook_without_exercises_is_copied_with_outputs_cleared(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# Plain"), new_code_cell("1 + 1", outputs=[
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)])],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    src = tmp_path / "96_plain.ipynb"
    nbformat.write(nb, src)
    dest, solutions, checks = ms.student_copy(src, tmp_path / "out")
    student = nbformat.read(dest, as_version=4)
    assert (solutions, checks) == (0, 0)
    assert [c.source for c in student.cells] == ["# Plain", "1 + 1"] and student.cells[1].outputs == []


# ---- collapsed answers: tagged cells dropped, untagged ones stop the run --------------------

ANSWER = "<details><summary>Solution</summary>\n\nReturn `2 * x`.\n</details>"


def with_answers(tagged: bool):
    nb = synthetic_notebook()
    meta = {"tags": ["solution"]} if tagged else {}
    nb.cells += [new_markdown_cell("## Exercises\n\n**1 · Double it.** Why 2?"),
                 new_markdown_cell(ANSWER, metadata=meta),
                 new_markdown_cell("**Predict first:** what is 3 doubled?"),
                 new_markdown_cell("<details><summary>Answer</summary>6</details>", metadata=dict(meta)),
                 new_markdown_cell("<details><summary>More about doubling</summary>a note, not an answer</details>"),
                 new_markdown_cell("**Next:** [01](01_mnist1d.ipynb)")]
    return nb


def test_tagged_answers_are_dropped_and_the_lecturer_keeps_them(tmp_path):
    src = tmp_path / "95_answers.ipynb"
    nbformat.write(with_answers(tagged=True), src)
    dest, _, _ = ms.student_copy(src, tmp_path / "out")
    student, lecturer = nbformat.read(dest, as_version=4), nbformat.read(src, as_version=4)
    assert ms.leftovers(student) == []
    assert len(student.cells) == len(lecturer.cells) - 2
    text = nbformat.writes(student)
    assert "Return `2 * x`" not in text and "<summary>Answer" not in text
    assert "**1 · Double it.** Why 2?" in text and "**Predict first:** what is 3 doubled?" in text
    assert "a note, not an answer" in text                      # a <details> that is not an answer stays
    assert sum(ms.tagged_solution(c) for c in lecturer.cells) == 2 and ANSWER in [c.source for c in lecturer.cells]


def test_an_untagged_answer_stops_the_run_naming_notebook_and_cell(tmp_path, capsys):
    src = tmp_path / "94_untagged.ipynb"
    nbformat.write(with_answers(tagged=False), src)
    with pytest.raises(RuntimeError, match=r"94_untagged.ipynb.*cell 9.*Solution.*cell 11.*Answer.*tag 'solution'"):
        ms.student_copy(src, tmp_path / "out")
    assert not (tmp_path / "out" / src.name).exists()
    assert ms.main(["--out", str(tmp_path / "out"), str(src)]) == 1
    assert "94_untagged" in capsys.readouterr().err


@pytest.mark.parametrize("leftover,found", [
    (new_code_cell(f"x = 1\n{BEGIN}\ny = 2\n{END}"), "a solution region"),
    (new_markdown_cell("fine", metadata={"tags": ["solution"]}), "tagged 'solution'"),
    (new_markdown_cell("<details>\n<summary>Solutions</summary>1. 42</details>"), "<details> answer"),
])
def test_leftovers_finds_each_kind(leftover, found):
    nb = new_notebook(cells=[new_markdown_cell("# ok"), leftover])
    assert [found in item for item in ms.leftovers(nb)] == [True]


def test_tag_solutions_moves_each_answer_into_a_tagged_cell_of_its_own(tmp_path):
    nb = synthetic_notebook()
    nb.cells += [new_markdown_cell("## Exercises\n\n1. First?\n2. Second?\n\n<details><summary>Solutions</summary>"
                                   "\n\n1. Yes.\n2. No.\n</details>\n\n**3 · Third.** Why?\n\n" + ANSWER),
                 new_markdown_cell("**Predict first:** more?\n\n<details><summary>Answer</summary>Less.</details>\n\n"
                                   "Then the text goes on.")]
    src = tmp_path / "93_tag.ipynb"
    nbformat.write(nb, src)
    assert ms.tag_solutions(src) == 3
    tagged = nbformat.read(src, as_version=4)
    md = [(c.source, ms.tagged_solution(c)) for c in tagged.cells if c.cell_type == "markdown"][1:]
    assert md == [("## Exercises\n\n1. First?\n2. Second?", False),
                  ("<details><summary>Solutions</summary>\n\n1. Yes.\n2. No.\n</details>", True),
                  ("**3 · Third.** Why?", False), (ANSWER, True),
                  ("**Predict first:** more?", False), ("<details><summary>Answer</summary>Less.</details>", True),
                  ("Then the text goes on.", False)]
    assert len({c.get("id") for c in tagged.cells}) == len(tagged.cells)     # cell ids stay unique
    assert ms.untagged_answers(tagged) == []
    before = src.read_text()
    assert ms.tag_solutions(src) == 0 and src.read_text() == before          # a second run changes nothing
    ms.student_copy(src, tmp_path / "out")                                   # and the student build accepts it


# ---- the course notebooks ----------------------------------------------------------------

@pytest.fixture(scope="module")
def course_copies(tmp_path_factory):
    out = tmp_path_factory.mktemp("student-course")
    t0 = time.perf_counter()
    status = ms.main(["--out", str(out), *map(str, NOTEBOOKS)])
    return out, time.perf_counter() - t0, status


def test_make_student_copies_every_notebook(course_copies):
    out, seconds, status = course_copies
    missing = sorted({p.name for p in NOTEBOOKS} - {p.name for p in out.glob("*.ipynb")})
    assert status == 0 and not missing, (
        f"make student wrote no copy of {missing}: an untagged <details> answer (its message names the cell); "
        "fix: python tools/make_student.py --tag-solutions notebooks/NN_name.ipynb")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_answer_would_reach_the_students(path):
    """Every collapsed answer of the lecturer's notebook is in a Markdown cell tagged solution."""
    nb = nbformat.read(path, as_version=4)
    left = ms.untagged_answers(nb)
    assert not left, (f"{path.stem}: <details> answers outside a cell tagged 'solution': {left}; "
                      f"fix: python tools/make_student.py --tag-solutions notebooks/{path.name}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_course_student_copy(course_copies, path, monkeypatch):
    out, _, _ = course_copies
    original = nbformat.read(path, as_version=4)
    assert (out / path.name).exists(), f"{path.stem}: no student copy (see make_student's message above)"
    student = nbformat.read(out / path.name, as_version=4)
    pairs = assert_student_copy(original, student, path.stem)
    original = kept_cells(original)
    if not any(_meta(c).get("solution") for c in original.cells):
        pytest.skip(f"{path.stem} has no graded exercise yet")
    assert pairs, f"{path.stem}: no exercise is followed by its check cell"
    monkeypatch.setenv("COURSE_FAST", "1")
    ns = nbimport.definitions(path)
    for i, j in pairs:
        exercise_raises(ns, student.cells[i].source, student.cells[j].source,
                        f"{path.stem}:{_meta(student.cells[i])['grade_id']}")
