import numpy as np
import pytest
import torch

from course import validate as v


def test_accepts_and_normalises_good_values():
    assert v.integer("n", np.int64(3), 1, 5) == 3 and isinstance(v.integer("n", np.int64(3)), int)
    assert v.positive_int("steps", 1) == 1
    assert v.number("lr", 1, lo=0, lo_open=True) == 1.0
    assert v.positive("sigma", 0.5) == 0.5
    assert v.one_of("mode", "a", "ab") == "a"
    assert v.boolean("flag", np.bool_(True)) is True
    assert v.shape("x", torch.zeros(3, 2), (None, 2)) == (3, 2)
    v.finite("x", np.ones(3))
    assert v.fraction("volfrac", 0.4) == 0.4
    assert v.function("fn", len) is len and v.function("fn", None, optional=True) is None
    assert v.callback(None) is None and v.callback(print) is print
    t = torch.zeros(2, 3)
    assert v.tensor_2d("x", t) is t


@pytest.mark.parametrize("call,match", [
    (lambda: v.integer("nelx", 0, 2, 4096), r"nelx must be an integer in \[2, 4096\], got 0"),
    (lambda: v.integer("n", True), "n must be an integer"),
    (lambda: v.integer("n", 2.0), "n must be an integer"),
    (lambda: v.positive_int("steps", 0), "steps must be an integer >= 1"),
    (lambda: v.number("x", float("nan")), "x must be a number finite"),
    (lambda: v.number("p", 1.5, 0, 1), r"p must be a number in \[0, 1\]"),
    (lambda: v.positive("lr", 0), "lr must be a number > 0"),
    (lambda: v.number("t", 1, hi=1, hi_open=True), "t must be a number < 1"),
    (lambda: v.one_of("cipher", "rot13", ["vigenere", "autokey"]), "cipher must be one of"),
    (lambda: v.boolean("fast", 1), "fast must be True or False"),
    (lambda: v.shape("frames", np.zeros((2, 80)), (None, 80, 80)), r"frames must have shape \(any, 80, 80\), got \(2, 80\)"),
    (lambda: v.shape("x", [1, 2], (2,)), "x must have shape"),
    (lambda: v.finite("u", torch.tensor([1.0, float("inf")])), "1 non-finite"),
    (lambda: v.fraction("volfrac", 1.0), r"volfrac must be a number in \(0, 1\), got 1.0"),
    (lambda: v.fraction("volfrac", 0), r"volfrac must be a number in \(0, 1\)"),
    (lambda: v.function("fn", 42), "fn must be callable, got 42"),
    (lambda: v.function("objective", None, "objective(x)"), r"objective must be callable as objective\(x\), got None"),
    (lambda: v.callback("plot"), r"callback must be callable as callback\(history\) \(or None\), got 'plot'"),
    (lambda: v.callback(3, "callback(history, model)"), r"as callback\(history, model\)"),
    (lambda: v.tensor_2d("x", np.ones((3, 3)), "(nely, nelx)"), r"x must be a 2-D torch tensor \(nely, nelx\), got \(3, 3\)"),
    (lambda: v.tensor_2d("x", torch.ones(3)), r"x must be a 2-D torch tensor \(rows, cols\), got torch.Size\(\[3\]\)"),
])
def test_rejects_bad_values_with_a_sentence(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_matches_reference_probes_each_function_once_and_refuses_a_non_function():
    calls = []

    def probe(fn):
        calls.append(fn)
        return fn(2) == 4

    def double(x):
        return 2 * x

    def square_plus_one(x):
        return x * x + 1

    assert v.matches_reference("f", double, probe)
    assert v.matches_reference("f", double, probe)                     # cached: probed once
    assert not v.matches_reference("f", square_plus_one, probe)        # a wrong answer is not the reference
    assert calls == [double, square_plus_one]
    with pytest.raises(TypeError, match="f must be a function, got str"):
        v.matches_reference("f", "double", probe)
