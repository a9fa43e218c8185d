"""The course's tools (run as scripts: python tools/NAME.py). A package, so that `from tools import
nbimport` finds this folder even when an installed package is also named tools."""
