"""Tests of the course library and of the code its notebooks define (a package, so that
`from tests import nbimport` finds this folder even when an installed package is also named tests)."""
