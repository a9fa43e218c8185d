"""course.mnist1d: the generator reproduces the official dataset, and every step does its job."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from course import mnist1d as M


@pytest.fixture(scope="module")
def ours():
    return M.make_dataset()


@pytest.fixture(scope="module")
def reference():
    """The official generator (PyPI `mnist1d`, test-only); speed is benchmarks/mnist1d_speed.py's job."""
    data = pytest.importorskip("mnist1d.data")
    return data.make_dataset()  # never get_dataset: that one downloads


def _reference_args(**changes):
    data = pytest.importorskip("mnist1d.data")
    args = data.get_dataset_args()
    for k, v in changes.items():
        setattr(args, k, v)
    return data, args


# ---------------------------------------------------------------- the official dataset

def test_default_dataset_equals_the_official_generator(ours, reference):
    ref = reference
    for key in ("x", "x_test", "t"):
        assert ours[key].shape == ref[key].shape
        assert np.abs(ours[key] - ref[key]).max() < 1e-8, key
    np.testing.assert_array_equal(ours["y"], ref["y"])
    np.testing.assert_array_equal(ours["y_test"], ref["y_test"])
    for key in ("x", "t", "y"):
        np.testing.assert_array_equal(ours["templates"][key], ref["templates"][key])


def test_shuffled_and_non_default_datasets_equal_the_official_generator():
    data, args = _reference_args(shuffle_seq=True, seed=7, num_samples=600, padding=[10, 30],
                                 max_translation=20, final_seq_length=33, shear_scale=2.0)
    ref = data.make_dataset(args)
    ours = M.make_dataset(**{k: v for k, v in vars(args).items() if k != "url"})
    assert np.abs(ours["x"] - ref["x"]).max() < 1e-8
    assert np.abs(ours["x_test"] - ref["x_test"]).max() < 1e-8
    np.testing.assert_array_equal(ours["y_test"], ref["y_test"])


# ---------------------------------------------------------------- dataset properties

def test_shapes_and_dtypes(ours):
    assert ours["x"].shape == (4000, 40) and ours["x_test"].shape == (1000, 40)
    assert ours["y"].shape == (4000,) and ours["y_test"].shape == (1000,)
    assert ours["t"].shape == (40,)
    assert ours["templates"]["x"].shape == (10, 12)
    assert ours["x"].dtype == np.float64 and np.issubdtype(ours["y"].dtype, np.integer)
    assert ours["permutation"] is None


def test_500_examples_per_class_before_the_split(ours):
    counts = np.bincount(np.concatenate([ours["y"], ours["y_test"]]), minlength=10)
    np.testing.assert_array_equal(counts, np.full(10, 500))


def test_standardised_with_global_statistics(ours):
    everything = np.concatenate([ours["x"], ours["x_test"]])
    assert abs(everything.mean()) < 1e-12 and abs(everything.std() - 1) < 1e-12
    assert abs(ours["x"].mean()) > 1e-6  # the train part alone is not exactly centred


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = (M.make_dataset(num_samples=200, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a["x"], b["x"])
    np.testing.assert_array_equal(a["y"], b["y"])
    assert not np.allclose(a["x"], c["x"])


def test_generation_leaves_the_global_numpy_rng_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    M.make_dataset(num_samples=20)
    assert np.random.rand() == expected


def test_shuffled_positions_apply_one_fixed_permutation(ours):
    shuffled = M.make_dataset(shuffle_seq=True)
    perm = shuffled["permutation"]
    assert sorted(perm) == list(range(40)) and not np.array_equal(perm, np.arange(40))
    np.testing.assert_array_equal(shuffled["y"], ours["y"])  # same examples, same order
    np.testing.assert_allclose(shuffled["x"], ours["x"][:, perm], atol=1e-12)
    np.testing.assert_allclose(shuffled["x_test"], ours["x_test"][:, perm], atol=1e-12)


def test_templates_start_and_end_at_zero():
    tpl = M.make_templates()
    assert np.all(tpl["x"][:, 0] == 0) and np.all(tpl["x"][:, -1] == 0)
    np.testing.assert_allclose(tpl["x"].std(axis=1), 1 / 6)
    np.testing.assert_array_equal(tpl["y"], np.arange(10))


# ---------------------------------------------------------------- the steps

def test_padding_lengths_cover_36_to_60():
    draws = M.draw_random_numbers(M.default_args(num_samples=1000), np.random.RandomState(0))
    assert draws["n_zeros"].min() == 36 and draws["n_zeros"].max() == 60
    assert 0 <= draws["shift"].min() and draws["shift"].max() == 47
    assert np.all(np.abs(draws["factor"] - 1) <= 0.2) and np.all(np.abs(draws["shear"]) <= 0.375)
    assert draws["corr"].shape == draws["iid"].shape == (1000, 72)


def test_pad_appends_zeros():
    x = np.arange(1.0, 13.0)
    out = M.pad(x, 5)
    assert out.shape == (17,)
    np.testing.assert_array_equal(out[:12], x)
    assert np.all(out[12:] == 0)
    assert M.pad(np.ones((3, 12)), 0).shape == (3, 12)


def test_resample_is_linear_interpolation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 30))
    out = M.resample(x, 72)
    for row, res in zip(x, out):
        np.testing.assert_array_equal(res, np.interp(np.linspace(0, 1, 72), np.linspace(0, 1, 30), row))
    np.testing.assert_array_equal(M.resample(x, 30), x)          # same grid: unchanged
    ramp = np.linspace(-1, 3, 13)
    np.testing.assert_allclose(M.resample(ramp, 40), np.linspace(-1, 3, 40), atol=1e-14)
    padded = M.pad(np.ones(12), 60)                               # zeros stay exactly zero
    assert np.all(M.resample(padded, 72)[13:] == 0)


def test_scale_multiplies_each_row():
    x = np.ones((3, 5))
    np.testing.assert_array_equal(M.scale(x, np.array([1.0, 2.0, 0.5]))[:, 0], [1.0, 2.0, 0.5])


def test_translate_is_circular():
    x = np.arange(10.0)
    np.testing.assert_array_equal(M.translate(x, 3), np.roll(x, 3))
    np.testing.assert_array_equal(M.translate(x, 0), x)
    np.testing.assert_array_equal(M.translate(x, 10), x)          # a full turn
    np.testing.assert_array_equal(M.translate(M.translate(x, 4), 6), x)
    batch = M.translate(np.stack([x, x]), np.array([1, 2]))
    np.testing.assert_array_equal(batch, np.stack([np.roll(x, 1), np.roll(x, 2)]))


def test_correlated_noise_is_smoothed_white_noise():
    white = np.random.default_rng(1).normal(size=(3, 400))
    noise = M.correlated_noise(white, 0.25)
    np.testing.assert_array_equal(noise[1], gaussian_filter(0.25 * white[1], 2))
    lag1 = np.corrcoef(noise[0, :-1], noise[0, 1:])[0, 1]
    assert lag1 > 0.8 and abs(np.corrcoef(white[0, :-1], white[0, 1:])[0, 1]) < 0.2
    assert noise.std() < 0.25 * white.std()


def test_fill_background_replaces_only_exact_zeros():
    x = np.array([0.0, 1e-12, 2.0, 0.0])
    out = M.fill_background(x, np.full(4, 7.0))
    np.testing.assert_array_equal(out, [7.0, 1e-12, 2.0, 7.0])


def test_iid_noise_adds_scaled_draws():
    x, white = np.zeros(5), np.arange(5.0)
    np.testing.assert_array_equal(M.add_iid_noise(x, white, 0.02), 0.02 * white)


def test_shear_removes_a_linear_ramp():
    ramp = 0.3 * np.linspace(-0.5, 0.5, 72)
    np.testing.assert_allclose(M.shear(ramp, 0.3), 0, atol=1e-15)
    x = np.random.default_rng(2).normal(size=(2, 72))
    diff = M.shear(x, np.array([0.5, -0.2])) - x
    np.testing.assert_allclose(np.diff(diff, axis=1), [[-0.5 / 71] * 71, [0.2 / 71] * 71], atol=1e-14)


def test_shuffle_positions_reorders_columns():
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(M.shuffle_positions(x, [3, 0, 2, 1]), x[:, [3, 0, 2, 1]])


def test_steps_by_hand_equal_transform():
    args = M.default_args(num_samples=10)
    draws = M.draw_random_numbers(args, np.random.RandomState(3))
    templates = M.make_templates()["x"]
    batch = M.transform(templates, draws, args)
    i = 4
    x = M.resample(M.pad(templates[i] + M.EPS, int(draws["n_zeros"][i])), 72)
    x = M.translate(M.scale(x, draws["factor"][i]), int(draws["shift"][i]))
    x = M.fill_background(x, M.correlated_noise(draws["corr"][i], 0.25))
    x = M.resample(M.shear(M.add_iid_noise(x, draws["iid"][i], 0.02), draws["shear"][i]), 40)
    np.testing.assert_array_equal(x, batch[i])


# ---------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("changes, match", [
    ({"num_samples": 5}, "num_samples must be an integer >= 10"),
    ({"num_samples": 1005}, "multiple of 10"),
    ({"train_split": 0.0}, r"train_split must be a number in \(0, 1\)"),
    ({"train_split": 1.2}, r"train_split must be a number in \(0, 1\)"),
    ({"final_seq_length": 1}, "final_seq_length"),
    ({"corr_noise_scale": -0.1}, "corr_noise_scale"),
    ({"iid_noise_scale": -1.0}, "iid_noise_scale"),
    ({"shear_scale": float("nan")}, "shear_scale"),
    ({"max_translation": 0}, "max_translation"),
    ({"max_translation": 100}, "max_translation"),
    ({"padding": (60, 36)}, "padding"),
    ({"scale_coeff": 2.0}, "scale_coeff"),
    ({"seed": -1}, "seed"),
    ({"shuffle_seq": "yes"}, "shuffle_seq"),
    ({"learning_rate": 0.1}, "unknown MNIST-1D argument"),
])
def test_bad_arguments_raise(changes, match):
    with pytest.raises(ValueError, match=match):
        M.make_dataset(**changes)


def test_bad_step_inputs_raise():
    with pytest.raises(ValueError, match="n_zeros"):
        M.pad(np.ones(12), -1)
    with pytest.raises(ValueError, match="length"):
        M.resample(np.ones(12), 1)
    with pytest.raises(ValueError, match="signal"):
        M.resample(np.ones((2, 3, 4)), 10)
    with pytest.raises(ValueError, match="shift must be integer"):
        M.translate(np.ones(12), 1.5)
    with pytest.raises(ValueError, match="one value per row"):
        M.scale(np.ones((3, 12)), np.ones(4))
    with pytest.raises(ValueError, match="noise must have the shape"):
        M.fill_background(np.ones(12), np.ones(11))
    with pytest.raises(ValueError, match="noise_scale"):
        M.correlated_noise(np.ones(12), -0.5)
    with pytest.raises(ValueError, match="permutation"):
        M.shuffle_positions(np.ones((2, 4)), [0, 1, 1, 2])
    with pytest.raises(ValueError, match="Args object"):
        M.make_dataset(args={"seed": 1})
    args = M.default_args(num_samples=10)
    with pytest.raises(ValueError, match="RandomState"):
        M.draw_random_numbers(args, np.random.default_rng(0))
    draws = M.draw_random_numbers(args, np.random.RandomState(0))
    with pytest.raises(ValueError, match="one row of draws per example"):
        M.transform(M.make_templates()["x"][:5], draws, args)
