"""Transitional: the cone filter is `course.fea.cone_filter` (deleted once 08 imports it from there)."""
from .fea import cone_filter  # noqa: F401
