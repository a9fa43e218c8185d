"""The notebook importer for tests: it lives in tools/nbimport.py (benchmarks use it too).

`definitions(name)` runs a notebook's parameters, setup and definition cells;
`run_check(name, grade_id, ns, overrides)` runs one nbgrader check cell against a namespace;
`importable(ns)` lets worker processes find a namespace's functions by name.
"""
from tools.nbimport import (NOTEBOOKS, cell_source, defined_names, definitions, graded_cells,  # noqa: F401
                            importable, is_check_cell, is_definition_cell, is_parameters_cell, notebook_path, reach, run_check,
                            stray_statements)
