"""Transitional: the training loop and its history are `course.fitting` now (deleted once the
notebooks and course/a2c.py import course.fitting)."""
from .fitting import History, accuracy, as_tensor, evaluate, fit  # noqa: F401
