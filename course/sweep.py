"""Run a batch of independent experiments serially, in local processes, or on a Dask cluster.

Used by 08_neural_reparam's benchmark (problems x methods x seeds) and 07_topopt_180's larger
problems: the runs share nothing,
so they parallelise trivially. Each task is a keyword dict for one function; results come
back in task order whatever order they finish in. Local parallelism uses the standard
library's `concurrent.futures`; a cluster is used only through an existing engine
(`dask.distributed`, when installed and given a scheduler address), never a home-made one.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import warnings
from typing import Callable

from tqdm.auto import tqdm

from . import validate


def _call(fn: Callable, task: dict):
    return fn(**task)


def _check(fn, tasks, workers, address) -> list[dict]:
    validate.function("fn", fn)
    tasks = list(tasks)
    for k, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise ValueError(f"tasks must be keyword dicts for fn, task {k} is {type(task).__name__}")
    validate.positive_int("workers", workers)
    if address is not None and not (isinstance(address, str) and address.strip()):
        raise ValueError(f"address must be None or a scheduler address such as 'tcp://host:8786', got {address!r}")
    return tasks


def run_tasks(fn: Callable, tasks, workers: int = 1, address: str | None = None,
              progress: bool = True) -> list:
    """`fn(**task)` for every task; the list of results in task order.

    Args:
        fn: the experiment, a function of keyword arguments. With `workers > 1` it is sent to
            the worker processes by name, which works for module functions everywhere and for
            functions defined in a notebook where the 'fork' start method exists (Linux, macOS).
        tasks: iterable of keyword dicts, one per run.
        workers: 1 runs serially in this process; more runs a local process pool of that size
            (falls back to serial, with a warning, where processes cannot be forked). Do not
            fork after using CUDA: pass 1 on a GPU.
        address: address of a running Dask scheduler (e.g. 'tcp://10.0.0.5:8786'); when given,
            the tasks run there instead (`workers` is then ignored). Needs `dask.distributed`.
        progress: show a tqdm bar.
    Returns:
        list of fn's return values, `results[k]` for `tasks[k]`. An exception in a task is
        raised here.
    """
    tasks = _check(fn, tasks, workers, address)
    if address is not None:
        return _run_dask(fn, tasks, address)
    if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        warnings.warn("this platform cannot fork processes: running the tasks serially", RuntimeWarning)
        workers = 1
    if workers == 1 or len(tasks) <= 1:
        return [_call(fn, task) for task in tqdm(tasks, disable=not progress, desc="tasks")]
    results: list = [None] * len(tasks)
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_call, fn, task): k for k, task in enumerate(tasks)}
        for future in tqdm(concurrent.futures.as_completed(futures), total=len(tasks),
                           disable=not progress, desc=f"tasks ({workers} processes)"):
            results[futures[future]] = future.result()
    return results


def _run_dask(fn: Callable, tasks: list[dict], address: str) -> list:
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise ValueError(f"address={address!r} needs dask.distributed, which is not installed "
                         "(pip install 'dask[distributed]'), or pass address=None to run locally") from err
    with Client(address) as client:
        futures = client.map(_call, [fn] * len(tasks), tasks, pure=False)
        return client.gather(futures)
