"""course.fea_filters is transitional: it re-exports course.fea.cone_filter (tested in tests/test_fea.py)."""
from course import fea, fea_filters


def test_the_cone_filter_is_course_feas():
    assert fea_filters.cone_filter is fea.cone_filter
