"""course.train is transitional: it re-exports course.fitting (tested in tests/test_fitting.py)."""
from course import fitting, train


def test_train_is_course_fitting():
    for name in ("History", "accuracy", "as_tensor", "evaluate", "fit"):
        assert getattr(train, name) is getattr(fitting, name)
