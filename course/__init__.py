"""Papers from Scratch: the thin shared library behind the notebooks.

One module per concern (see COURSE_DESIGN.md): runtime, train, plots, widgets, results,
and one module per shared domain (mnist1d, physics, fea, ...). Importing `course` changes
no global state; `course.setup()` does, once, at the top of each notebook.
"""
from .runtime import Runtime, Stopwatch, fast_mode, get_device, seed_everything, setup, show_source

__version__ = "0.1.0"
__all__ = ["Runtime", "Stopwatch", "fast_mode", "get_device", "seed_everything", "setup", "show_source"]
