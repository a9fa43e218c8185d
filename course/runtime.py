"""Runtime plumbing every notebook starts with: seeds, device, threads, FAST flag.

Taught in 00_start_here. Nothing here runs at import time: `setup()` is the one call
that changes global state, so importing `course` never seeds or reconfigures anything.
"""
from __future__ import annotations

import inspect
import os
import random
import time
from dataclasses import dataclass

import numpy as np
import torch

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

# At or below this many usable cores, one torch thread is faster for the course's
# small models (measured 10-40x on 2 cores: thread hand-off dominates tiny matmuls).
SMALL_CPU_CORES = 4


@dataclass(frozen=True)
class Runtime:
    """What `setup()` chose; notebooks pass `.device` to models and `.seed` to cards."""

    seed: int
    device: torch.device
    fast: bool
    threads: int
    torch_version: str

    @property
    def mode(self) -> str:
        return "FAST" if self.fast else "FULL"

    def pick(self, sizes):
        """The FAST or FULL member of a `(fast, full)` pair from the parameters cell."""
        if not isinstance(sizes, (tuple, list)) or len(sizes) != 2:
            raise ValueError(f"sizes must be a (fast, full) pair, got {sizes!r}")
        return sizes[0] if self.fast else sizes[1]

    def summary(self) -> str:
        switch = ("FULL: set FAST = False in the parameters cell, or start without COURSE_FAST"
                  if self.fast else "FAST: set FAST = True in the parameters cell, or `make lab FAST=1`")
        return (f"device={self.device.type} | torch {self.torch_version} | "
                f"threads={self.threads} | seed={self.seed} | mode={self.mode} (for {switch})")


def fast_mode(default: bool = False) -> bool:
    """True when the environment asks for the quick run (`COURSE_FAST=1`).

    The `parameters` cell calls this for FAST's default; papermill's `-p FAST ...`
    overrides that cell, so both ways of asking agree.
    """
    raw = os.environ.get("COURSE_FAST")
    if raw is None:
        return bool(default)
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"COURSE_FAST must be one of {sorted(_TRUE | _FALSE - {''})}, got {raw!r}")


def _machine_cores() -> int:
    """Cores this process may run on (respects CPU affinity and container limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def usable_cores() -> int:
    """Cores this process may run on, at most `COURSE_CORES` when that is set
    (tools/run_notebook.py --jobs N gives each notebook its share)."""
    cores = _machine_cores()
    share = os.environ.get("COURSE_CORES")
    if share:
        if not share.isdigit() or int(share) < 1:
            raise ValueError(f"COURSE_CORES must be a positive integer, got {share!r}")
        cores = min(cores, int(share))
    return cores


def sharing_cores() -> bool:
    """True when this process was given fewer cores than the machine has (`COURSE_CORES`, set by
    tools/run_notebook.py --jobs N): a wall-time budget measured now says nothing about a run alone."""
    return usable_cores() < _machine_cores()


def choose_threads(cores: int | None = None) -> int:
    """One torch thread on small CPUs, torch's default (all cores) on bigger ones."""
    cores = usable_cores() if cores is None else cores
    if not isinstance(cores, int) or cores < 1:
        raise ValueError(f"cores must be a positive integer, got {cores!r}")
    return 1 if cores <= SMALL_CPU_CORES else cores


def get_device(prefer: str | None = None) -> torch.device:
    """CUDA when present, else Apple MPS (Apple-silicon Macs), else CPU; `prefer` forces one."""
    if prefer is not None:
        if prefer not in {"cpu", "cuda", "mps"}:
            raise ValueError(f"prefer must be 'cpu', 'cuda' or 'mps', got {prefer!r}")
        if prefer == "cuda" and not torch.cuda.is_available():
            raise ValueError("prefer='cuda' but no CUDA device is available")
        if prefer == "mps" and not _mps_available():
            raise ValueError("prefer='mps' but no Apple MPS device is available")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def seed_everything(seed: int) -> None:
    """Seed python's `random`, NumPy's legacy global RNG and torch (CPU and CUDA)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    torch.manual_seed(int(seed))


def setup(seed: int = 0, fast: bool | None = None, device: str | None = None,
          threads: int | str | None = None, quiet: bool = False) -> Runtime:
    """Seed everything, pick device and threads, set the plot style; print one line.

    Args:
        seed: seed for python, numpy and torch.
        fast: FAST mode; `None` reads `COURSE_FAST` (the parameters cell usually passes FAST).
        device: force 'cpu'/'cuda'/'mps'; `None` takes a GPU when there is one.
        threads: torch CPU threads; `None` picks one on small CPUs (see `choose_threads`), right
            for the small models most notebooks train; "all" takes every usable core (measure the
            whole notebook first: at two threads 04 and 06 gained little or nothing, see their headers).
        quiet: skip the summary line.
    Returns:
        a `Runtime` with the choices made.
    """
    from . import plots  # local: plots imports matplotlib, which runtime users may not need

    seed_everything(seed)
    fast = fast_mode() if fast is None else bool(fast)
    n_threads = choose_threads() if threads is None else usable_cores() if threads == "all" else threads
    if not isinstance(n_threads, int) or isinstance(n_threads, bool) or n_threads < 1:
        raise ValueError(f"threads must be a positive integer, 'all' or None, got {threads!r}")
    torch.set_num_threads(n_threads)
    rt = Runtime(seed=int(seed), device=get_device(device), fast=fast,
                 threads=n_threads, torch_version=torch.__version__)
    plots.use_style()
    explain_unsolved_exercises()
    if not quiet:
        print(rt.summary())
    return rt


def unsolved_message(value, tb, is_notebook_code=None) -> str | None:
    """The plain sentence for a NotImplementedError `value` (without a message) whose innermost
    frame is a notebook's exercise stub, or None when it was raised elsewhere (a library's own
    NotImplementedError) or with a message (a notebook's own "not supported").

    `is_notebook_code(filename)` says whether a frame's file is a notebook cell (default:
    IPython's names for cells)."""
    if tb is None or str(value):       # nbgrader's stub raises NotImplementedError() without a message
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    is_cell = is_notebook_code or (lambda name: name.startswith("<ipython-input") or "ipykernel_" in name)
    if not is_cell(code.co_filename):
        return None
    name = getattr(code, "co_qualname", code.co_name)
    if name == "<module>":
        return ("This cell is an exercise that is not written yet: the cells below use what it defines; "
                "write it, then run its check.")
    return (f"`{name}` is not written yet (an exercise above): the cells below use your function; "
            "write it, then run its check.")


def _unsolved_handler(shell, etype, value, tb, tb_offset=None):
    """IPython custom exception handler: the usual traceback, then the plain sentence. The cell
    still fails (an error output, status error), so nbgrader scores the check zero."""
    names = getattr(getattr(shell, "compile", None), "_filename_map", {})
    message = unsolved_message(value, tb, lambda f: f in names or f.startswith("<ipython-input") or "ipykernel_" in f)
    stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    if message:
        stb = [*stb, "", message]
    shell._showtraceback(etype, value, stb)
    return stb


def explain_unsolved_exercises() -> bool:
    """Under IPython (Jupyter), make a NotImplementedError from an exercise stub say plainly
    which function is not written yet (`unsolved_message`); returns whether it was installed.
    A student's Run All still stops there: the cells after it need that function."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((NotImplementedError,), _unsolved_handler)
    return True


class Stopwatch:
    """Wall-clock timer for reproduction cards: `with Stopwatch() as sw: ...; sw.seconds`."""

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start


def show_source(obj) -> None:
    """Display a course function's source in the notebook, so a lesson can teach code
    that lives in `course/` (shared by two notebooks) without writing a twin of it."""
    try:
        src = inspect.getsource(obj)
    except (TypeError, OSError) as err:
        raise ValueError(f"show_source needs a function or class defined in Python, got {obj!r}") from err
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:
        get_ipython = lambda: None  # noqa: E731
    if get_ipython() is None:  # plain python
        print(src)
    else:
        display(Markdown(f"```python\n{src}\n```"))
