import random

import numpy as np
import pytest
import torch

import course
from course import runtime


def test_fast_mode_reads_environment(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    assert runtime.fast_mode() is False
    assert runtime.fast_mode(default=True) is True
    for raw, expected in [("1", True), ("true", True), ("YES", True), ("0", False), ("off", False), ("", False)]:
        monkeypatch.setenv("COURSE_FAST", raw)
        assert runtime.fast_mode() is expected


def test_fast_mode_rejects_garbage(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST"):
        runtime.fast_mode()


def test_one_thread_on_small_cpus():
    assert runtime.choose_threads(1) == 1
    assert runtime.choose_threads(2) == 1
    assert runtime.choose_threads(4) == 1
    assert runtime.choose_threads(16) == 16
    with pytest.raises(ValueError, match="cores"):
        runtime.choose_threads(0)


def test_setup_seeds_everything_and_reports(capsys):
    rt = course.setup(seed=7, fast=True, threads=1)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    course.setup(seed=7, fast=True, threads=1, quiet=True)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
    assert torch.get_num_threads() == 1
    line = capsys.readouterr().out.strip().splitlines()[0]
    assert "mode=FAST" in line and "torch" in line and "device=" in line
    assert rt.pick((10, 1000)) == 10
    assert course.setup(seed=7, fast=False, quiet=True).pick((10, 1000)) == 1000


def test_setup_and_seed_reject_bad_input():
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(-1)
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(1.5)
    with pytest.raises(ValueError, match="threads"):
        course.setup(seed=0, threads=0, quiet=True)
    with pytest.raises(ValueError, match="'all' or None"):
        course.setup(seed=0, threads="many", quiet=True)
    assert course.setup(seed=0, threads="all", quiet=True).threads == runtime.usable_cores()
    course.setup(seed=0, threads=1, quiet=True)
    with pytest.raises(ValueError, match="prefer"):
        runtime.get_device("tpu")
    rt = course.setup(seed=0, quiet=True)
    with pytest.raises(ValueError, match="pair"):
        rt.pick(5)


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runtime, "_mps_available", lambda: False)
    assert runtime.get_device().type == "cpu"
    with pytest.raises(ValueError, match="no CUDA"):
        runtime.get_device("cuda")
    with pytest.raises(ValueError, match="no Apple MPS"):
        runtime.get_device("mps")
    monkeypatch.setattr(runtime, "_mps_available", lambda: True)
    assert runtime.get_device().type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_device().type == "cuda"


def test_summary_says_how_to_switch_mode():
    fast = course.setup(seed=0, fast=True, quiet=True).summary()
    full = course.setup(seed=0, fast=False, quiet=True).summary()
    assert "mode=FAST" in fast and "for FULL" in fast
    assert "mode=FULL" in full and "make lab FAST=1" in full


def test_stopwatch_and_show_source(capsys):
    with course.Stopwatch() as sw:
        sum(range(10000))
    assert sw.seconds > 0
    course.show_source(runtime.choose_threads)
    shown = capsys.readouterr().out
    assert shown.startswith("def choose_threads(") and "SMALL_CPU_CORES" in shown
    with pytest.raises(ValueError, match="show_source"):
        course.show_source(42)


# ---- a student's Run All meets an unsolved exercise (issue 18, part 3) ----------------------

@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    sh = InteractiveShell.instance()
    yield sh
    sh.set_custom_exc((), None)
    InteractiveShell.clear_instance()


def test_setup_outside_ipython_installs_no_handler():
    assert runtime.explain_unsolved_exercises() is False


def test_an_unsolved_exercise_names_its_function_and_still_fails(shell, capsys):
    shell.run_cell("import course\nrt = course.setup(seed=0, quiet=True)")
    assert shell.custom_exceptions == (NotImplementedError,)
    shell.run_cell("def advect(field, velocity):\n    # YOUR CODE HERE\n    raise NotImplementedError()")
    result = shell.run_cell("advect(1, 2)")
    assert not result.success and isinstance(result.error_in_exec, NotImplementedError)  # nbgrader scores 0
    out = capsys.readouterr().out
    assert "NotImplementedError" in out and "Traceback" in out                          # the usual traceback
    assert ("`advect` is not written yet (an exercise above): the cells below use your function; "
            "write it, then run its check.") in out
    # a method: its qualified name
    shell.run_cell("class Energy:\n    def kinetic(self, m, v):\n        raise NotImplementedError()")
    assert not shell.run_cell("Energy().kinetic(1, 2)").success
    assert "`Energy.kinetic` is not written yet" in capsys.readouterr().out
    # a whole cell that nbgrader stubbed
    assert not shell.run_cell("# YOUR CODE HERE\nraise NotImplementedError()").success
    assert "This cell is an exercise that is not written yet" in capsys.readouterr().out


def test_other_not_implemented_errors_keep_the_usual_traceback(shell, capsys, tmp_path, monkeypatch):
    runtime.explain_unsolved_exercises()
    # raised with a message (a notebook's own "not supported")
    shell.run_cell("def f():\n    raise NotImplementedError('only 2-D grids')")
    assert not shell.run_cell("f()").success
    # raised inside a library (a file, not a notebook cell), even without a message
    (tmp_path / "somelib.py").write_text("def g():\n    raise NotImplementedError()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not shell.run_cell("import somelib\nsomelib.g()").success
    out = capsys.readouterr().out
    assert "only 2-D grids" in out and "somelib.py" in out and "not written yet" not in out
    assert runtime.unsolved_message(NotImplementedError(), None) is None


def test_unsolved_message_reads_the_innermost_frame():
    def stub():
        raise NotImplementedError()

    def caller():
        stub()

    try:
        caller()
    except NotImplementedError as err:
        tb, value = err.__traceback__, err
    here = lambda name: name == __file__  # noqa: E731
    msg = runtime.unsolved_message(value, tb, here)
    assert msg.startswith("`test_unsolved_message_reads_the_innermost_frame.<locals>.stub` is not written yet")
    assert runtime.unsolved_message(value, tb, lambda name: False) is None          # not notebook code
    assert runtime.unsolved_message(NotImplementedError("x"), tb, here) is None     # raised with a message


def test_course_cores_caps_what_a_notebook_asking_for_all_cores_gets(monkeypatch):
    """run_notebook.py --jobs N sets COURSE_CORES so that N notebooks share the machine."""
    monkeypatch.setenv("COURSE_CORES", "1")
    assert runtime.usable_cores() == 1
    assert course.setup(seed=0, threads="all", quiet=True).threads == 1
    monkeypatch.setenv("COURSE_CORES", "0")
    with pytest.raises(ValueError, match="COURSE_CORES"):
        runtime.usable_cores()
    with pytest.raises(ValueError, match="COURSE_CORES"):
        runtime.sharing_cores()
    monkeypatch.delenv("COURSE_CORES")
    course.setup(seed=0, threads=1, quiet=True)


def test_sharing_cores_is_true_only_when_given_fewer_cores_than_the_machine_has(monkeypatch):
    """Budget checks of wall time skip themselves when a run had only its share of the machine."""
    monkeypatch.setattr(runtime, "_machine_cores", lambda: 2)
    monkeypatch.delenv("COURSE_CORES", raising=False)
    assert not runtime.sharing_cores()
    monkeypatch.setenv("COURSE_CORES", "2")
    assert not runtime.sharing_cores()
    monkeypatch.setenv("COURSE_CORES", "8")
    assert not runtime.sharing_cores()
    monkeypatch.setenv("COURSE_CORES", "1")
    assert runtime.sharing_cores()
