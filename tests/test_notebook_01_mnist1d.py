"""The code 01_mnist1d defines in its cells, tested where it lives (tests/nbimport.py).

The two graded generator steps (translate, shear) must pass their checks with the
reference solution, agree with course.mnist1d, and their check cells must fail on
plausible wrong answers; the models have the paper's parameter counts; the generator
panel's function starts from the defaults written once in mnist1d.Args.
"""
import inspect

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course import mnist1d  # noqa: E402
from tests.nbimport import definitions, run_check  # noqa: E402

NB = "01_mnist1d"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)   # with the parameters and setup cells


# ---------------------------------------------------------------- exercise 1: translate
def test_translate_check_passes_and_agrees_with_the_library(ns):
    run_check(NB, "01_translate_check", ns)
    x = np.random.default_rng(0).normal(size=(5, 72))
    shifts = np.array([0, 1, 47, 71, 72])
    np.testing.assert_array_equal(ns["translate_signal"](x, shifts), mnist1d.translate(x, shifts))
    np.testing.assert_array_equal(ns["translate_signal"](x[2], 13), mnist1d.translate(x[2], 13))


def _left_shift(x, shift):
    x = np.asarray(x, float)
    return np.roll(x, -int(shift)) if x.ndim == 1 else np.stack([np.roll(r, -int(s)) for r, s in zip(x, shift)])


def _no_wrap(x, shift):
    def one(r, s):
        s = int(s) % len(r)
        return np.concatenate([np.zeros(s), r[:len(r) - s]])
    x = np.asarray(x, float)
    return one(x, shift) if x.ndim == 1 else np.stack([one(r, s) for r, s in zip(x, shift)])


def _one_shift_for_all(x, shift):
    x = np.asarray(x, float)
    return np.roll(x, int(np.ravel(shift)[0]), axis=-1)


@pytest.mark.parametrize("wrong", [_left_shift, _no_wrap, _one_shift_for_all], ids=["left", "no-wrap", "one-shift"])
def test_translate_check_fails_on_plausible_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "01_translate_check", ns, overrides={"translate_signal": wrong})


# ---------------------------------------------------------------- exercise 2: shear
def test_shear_check_passes_and_agrees_with_the_library(ns):
    run_check(NB, "01_shear_check", ns)
    x = np.random.default_rng(1).normal(size=(4, 72))
    c = np.array([-0.3, 0.0, 0.1, 0.375])
    np.testing.assert_array_equal(ns["shear_signal"](x, c), mnist1d.shear(x, c))
    np.testing.assert_array_equal(ns["shear_signal"](x[0], 0.2), mnist1d.shear(x[0], 0.2))


def _shear(ramp_fn, sign=1.0, per_row=True):
    def shear(x, coeff):
        x, coeff = np.asarray(x, float), np.asarray(coeff, float)
        if not per_row:
            coeff = np.ravel(coeff)[0]
        c = coeff[:, None] if coeff.ndim == 1 else coeff
        return x - sign * c * ramp_fn(x.shape[-1])
    return shear


@pytest.mark.parametrize("wrong", [
    _shear(lambda n: np.linspace(-0.5, 0.5, n), sign=-1.0),
    _shear(lambda n: np.linspace(0.0, 1.0, n)),
    _shear(lambda n: np.arange(n) / n - 0.5),
    _shear(lambda n: np.linspace(-0.5, 0.5, n), per_row=False),
], ids=["sign-flip", "ramp-0-to-1", "off-by-one", "one-slope"])
def test_shear_check_fails_on_plausible_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, "01_shear_check", ns, overrides={"shear_signal": wrong})


# ---------------------------------------------------------------- the generator step by step, with the student's steps
def test_student_steps_rebuild_one_example_of_the_official_batch(ns):
    args = mnist1d.default_args(num_samples=10)
    draws = mnist1d.draw_random_numbers(args, np.random.RandomState(42))
    batch = mnist1d.transform(mnist1d.make_templates()["x"], draws, args)
    rng = np.random.RandomState(42)
    templates = ns["make_templates"]()["x"]
    for i in range(10):
        d = ns["draw_example"](rng, args)                    # the notebook's draws, in the original order
        for key in d:
            np.testing.assert_array_equal(d[key], draws[key][i])
        np.testing.assert_array_equal(ns["make_example"](templates[i], d, args), batch[i])


# ---------------------------------------------------------------- the notebook's generator == course.mnist1d, bit for bit
@pytest.mark.parametrize("overrides", [{}, {"shuffle_seq": True}, {"num_samples": 200, "max_translation": 1, "seed": 3,
                                                                    "corr_noise_scale": 0.5, "shear_scale": 2.0}],
                         ids=["official", "shuffled-positions", "other-settings"])
def test_the_notebooks_generator_gives_the_batch_versions_data_bit_for_bit(ns, overrides):
    args = mnist1d.default_args(**overrides)
    by_hand, batch = ns["make_dataset_by_hand"](args), mnist1d.make_dataset(args)
    for key in ("x", "x_test", "y", "y_test", "t"):
        np.testing.assert_array_equal(by_hand[key], batch[key], err_msg=key)
    np.testing.assert_array_equal(by_hand["templates"]["x"], batch["templates"]["x"])
    if args.shuffle_seq:
        np.testing.assert_array_equal(by_hand["permutation"], batch["permutation"])
    else:
        assert by_hand["permutation"] is None and batch["permutation"] is None


def test_the_notebooks_data_come_from_the_students_functions(ns, monkeypatch):
    """A wrong translate (left instead of right) changes the dataset the notebook trains on."""
    args = mnist1d.default_args(num_samples=200)
    right = ns["make_dataset_by_hand"](args)
    monkeypatch.setitem(ns, "translate_signal", _left_shift)   # the notebook's functions look it up here
    wrong = ns["make_dataset_by_hand"](args)
    assert not np.array_equal(right["x"], wrong["x"])


# ---------------------------------------------------------------- models and the panel's function
def test_models_have_the_papers_parameter_counts(ns):
    counts = {"MLP": 15_210, "CNN": 5_210, "GRU": 5_134}
    for name, n in counts.items():
        assert sum(p.numel() for p in ns[name]().parameters()) == n, name


def test_cnn_lengths_follow_eq_11(ns):
    import torch
    cnn = ns["CNN"]()
    assert cnn.features(torch.zeros(2, 1, 40)).shape == (2, 25, 5)


def test_generator_panel_function_has_no_defaults_of_its_own(ns):
    """The defaults live once, in mnist1d.Args; the panel reads them (defaults=)."""
    params = inspect.signature(ns["draw_generator"]).parameters
    assert all(p.default is inspect.Parameter.empty for p in params.values())
    args = mnist1d.default_args()
    assert set(params) <= set(vars(args))
    drawn = ns["draw_generator"](**{k: getattr(args, k) for k in params})
    assert drawn.shape == (10, 40)
    import matplotlib.pyplot as plt
    plt.close("all")


def test_the_gru_model_through_fast_gru_gives_nn_grus_answers(ns):
    """train_model trains the GRU through course.fast_gru: same outputs and gradients as with ATen's nn.GRU."""
    import torch
    from course import fast_gru
    torch.manual_seed(3)
    x, y = torch.randn(16, 40), torch.randint(0, 10, (16,))
    ref, fast = ns["GRU"](), ns["GRU"]()
    fast.load_state_dict(ref.state_dict())
    fast_gru.accelerate(fast)
    assert list(fast.state_dict()) == list(ref.state_dict())
    outs = []
    for m in (ref, fast):
        loss = torch.nn.functional.cross_entropy(m(x), y)
        outs.append([loss.detach()] + list(torch.autograd.grad(loss, list(m.parameters()))))
    for a, b in zip(*outs):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)


def test_the_cost_claim_times_torchs_own_gru(ns, monkeypatch):
    """The 'GRU costs 10x the CNN' card times nn.GRU as torch runs it, never the fast path."""
    from course import fast_gru

    def refuse(*args, **kwargs):
        raise AssertionError("the cost claim must not run course.fast_gru")

    monkeypatch.setattr(fast_gru, "gru", refuse)
    monkeypatch.setitem(ns, "MODELS", {"GRU": ns["GRU"], "CNN": ns["CNN"]})   # a run-time cell of the notebook
    rng = np.random.default_rng(0)
    dataset = {"x": rng.normal(size=(200, 40)), "y": rng.integers(0, 10, 200)}
    ms = ns["time_training_steps"](("GRU", "CNN"), dataset, 3)
    assert set(ms) == {"GRU", "CNN"} and all(v > 0 for v in ms.values())
