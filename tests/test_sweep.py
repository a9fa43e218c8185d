"""course.sweep: results in task order, serial and parallel agree, errors surface, bad inputs."""
import importlib.util
import multiprocessing
import os

import pytest

from course import sweep

CAN_FORK = "fork" in multiprocessing.get_all_start_methods()


def power(base, exponent=2):
    return base ** exponent


def whoami(k):
    return k, os.getpid()


def fails(k):
    if k == 2:
        raise RuntimeError("task 2 broke")
    return k


def test_serial_results_in_task_order():
    tasks = [dict(base=b, exponent=e) for b in (3, 1, 2) for e in (1, 3)]
    assert sweep.run_tasks(power, tasks, progress=False) == [3, 27, 1, 1, 2, 8]


@pytest.mark.skipif(not CAN_FORK, reason="needs the fork start method")
def test_processes_agree_with_serial_and_use_other_processes():
    tasks = [dict(base=b) for b in range(7, 0, -1)]
    assert sweep.run_tasks(power, tasks, workers=2, progress=False) == [b * b for b in range(7, 0, -1)]
    pids = {pid for _, pid in sweep.run_tasks(whoami, [dict(k=k) for k in range(4)], workers=2, progress=False)}
    assert os.getpid() not in pids


@pytest.mark.parametrize("workers", [1, 2] if CAN_FORK else [1])
def test_a_failing_task_raises(workers):
    with pytest.raises(RuntimeError, match="task 2 broke"):
        sweep.run_tasks(fails, [dict(k=k) for k in range(4)], workers=workers, progress=False)


def test_empty_task_list():
    assert sweep.run_tasks(power, [], workers=2, progress=False) == []


@pytest.mark.parametrize("kwargs, match", [
    (dict(fn=42, tasks=[{}]), "fn must be callable"),
    (dict(fn=power, tasks=[(1, 2)]), "task 0 is tuple"),
    (dict(fn=power, tasks=[dict(base=1)], workers=0), "workers must be an integer >= 1"),
    (dict(fn=power, tasks=[dict(base=1)], workers=1.5), "workers must be an integer >= 1"),
    (dict(fn=power, tasks=[dict(base=1)], address=""), "address must be None or a scheduler address"),
])
def test_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sweep.run_tasks(progress=False, **kwargs)


@pytest.mark.skipif(importlib.util.find_spec("dask") is not None, reason="dask is installed here")
def test_cluster_address_without_dask_says_what_is_missing():
    with pytest.raises(ValueError, match="needs dask.distributed"):
        sweep.run_tasks(power, [dict(base=2)], address="tcp://127.0.0.1:8786", progress=False)
