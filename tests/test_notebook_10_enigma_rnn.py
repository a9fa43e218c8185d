"""Tests of the code written in notebooks/10_enigma_rnn.ipynb: the graded exercises' reference
solutions, their check cells (which must fail on plausible wrong answers), the training and
evaluation helpers, the hidden-unit score and the Explore function."""
import matplotlib
import numpy as np
import pytest
import torch

from course import ciphers
from tests.nbimport import definitions, graded_cells, run_check

matplotlib.use("Agg")
NB = "10_enigma_rnn"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)


def test_three_graded_exercises_each_followed_by_its_check():
    cells = graded_cells(NB)
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells]
    assert ids == [f"{NB}_autokey", f"{NB}_autokey_check", f"{NB}_step", f"{NB}_step_check",
                   f"{NB}_accuracy", f"{NB}_accuracy_check"]
    for sol, chk in zip(cells[::2], cells[1::2]):
        assert sol["metadata"]["nbgrader"]["solution"] and "### BEGIN SOLUTION" in "".join(sol["source"])
        assert chk["metadata"]["nbgrader"]["grade"] and chk["metadata"]["nbgrader"]["locked"]


# ---------------------------------------------------------------- exercise 1: Autokey decryption
def test_autokey_reference_passes_its_check(ns):
    run_check(NB, f"{NB}_autokey_check", ns)


def _ciphertext_autokey(cipher_text, key):  # uses the ciphertext as running key: another cipher
    out = []
    for i, c in enumerate(cipher_text):
        k = key[i] if i < len(key) else cipher_text[i - len(key)]
        out.append((c - k) % 26)
    return out


def _lag_one(cipher_text, key):              # previous plaintext letter, whatever the key length
    out = []
    for i, c in enumerate(cipher_text):
        k = key[i] if i < len(key) else out[i - 1]
        out.append((c - k) % 26)
    return out


def _adds(cipher_text, key):                 # encrypts instead of decrypting
    out = []
    for i, c in enumerate(cipher_text):
        k = key[i] if i < len(key) else out[i - len(key)]
        out.append((c + k) % 26)
    return out


@pytest.mark.parametrize("wrong", [_ciphertext_autokey, _lag_one, _adds])
def test_autokey_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, f"{NB}_autokey_check", ns, overrides={"autokey_decrypt": wrong})


# ---------------------------------------------------------------- exercise 2: the stepping rule
def test_step_reference_agrees_with_the_library(ns):
    run_check(NB, f"{NB}_step_check", ns)
    rng = np.random.default_rng(0)
    notches = np.array([16, 4, 21])
    pos = rng.integers(0, 26, size=(5000, 3))
    np.testing.assert_array_equal(ns["step_rotors"](pos, notches), ciphers.step(pos, notches))


def _no_double_step(positions, notches):
    l, m, r = positions.T
    return np.stack([l + (m == notches[1]) * (r == notches[2]), m + (r == notches[2]), r + 1], 1) % 26


def _left_on_right_notch(positions, notches):
    l, m, r = positions.T
    return np.stack([l + (r == notches[2]), m + ((r == notches[2]) | (m == notches[1])), r + 1], 1) % 26


def _notch_after_stepping(positions, notches):   # off by one: checks the notch one letter late
    l, m, r = positions.T
    mn, rn = m == (notches[1] + 1) % 26, r == (notches[2] + 1) % 26
    return np.stack([l + mn, m + (rn | mn), r + 1], 1) % 26


def _no_wrap(positions, notches):
    l, m, r = positions.T
    mn, rn = m == notches[1], r == notches[2]
    return np.stack([l + mn, m + (rn | mn), r + 1], 1)


@pytest.mark.parametrize("wrong", [_no_double_step, _left_on_right_notch, _notch_after_stepping, _no_wrap])
def test_step_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, f"{NB}_step_check", ns, overrides={"step_rotors": wrong})


# ---------------------------------------------------------------- exercise 3: masked accuracy
def test_accuracy_reference_passes_its_check(ns):
    run_check(NB, f"{NB}_accuracy_check", ns)


def _with_key_positions(logits, targets, mask):
    return (logits.argmax(-1) == targets).float().mean().item()


def _inverted_mask(logits, targets, mask):
    return (logits.argmax(-1) == targets)[~mask].float().mean().item()


def _argmax_over_time(logits, targets, mask):
    return (logits.argmax(1)[:, None, :].expand(-1, targets.shape[1], -1)[..., 0] == targets)[mask].float().mean().item()


@pytest.mark.parametrize("wrong", [_with_key_positions, _inverted_mask, _argmax_over_time])
def test_accuracy_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, f"{NB}_accuracy_check", ns, overrides={"message_accuracy": wrong})


# ---------------------------------------------------------------- model, training, evaluation
def test_model_shapes_and_chance_accuracy(ns):
    torch.manual_seed(0)
    model = ns["CipherLSTM"](hidden=16)
    x = torch.as_tensor(ciphers.batch("vigenere", 5, 14, rng=np.random.default_rng(0))[0])
    logits, h = model(x, return_hidden=True)
    assert logits.shape == (5, 20, 27) and h.shape == (5, 20, 16)
    acc = ns["evaluate"](model, "autokey", batches=4)
    assert 0.0 <= acc < 0.15   # untrained: near 1/26


def test_training_runs_and_records_history(ns):
    calls = []
    model, hist = ns["train_decoder"]("toy_enigma", hidden=16, steps=30, eval_every=10, eval_batches=2,
                                      progress=False, callback=lambda h: calls.append(len(h.steps)))
    assert hist.steps == [0, 10, 20, 30] and calls == [1, 2, 3, 4]
    assert np.isnan(hist["loss"][0]) and all(np.isfinite(hist["loss"][1:]))
    out = ns["decrypt"](model, "K", "ABCDEFGHIJKLMN", slot=1)
    assert len(out) == 14 and set(out) <= set(ciphers.SYMBOLS)


def test_training_is_reproducible_for_a_seed(ns):
    a = ns["train_decoder"]("vigenere", hidden=8, steps=5, eval_every=5, eval_batches=1, progress=False, seed=3)[1]
    b = ns["train_decoder"]("vigenere", hidden=8, steps=5, eval_every=5, eval_batches=1, progress=False, seed=3)[1]
    np.testing.assert_array_equal(a["loss"], b["loss"])
    assert a["acc"] == b["acc"]


def test_the_key_echo_is_learned_first(ns):
    """The loss covers every position: within a few hundred steps the network echoes the key and
    padding (6 of 20 positions), so the loss falls from ln 27 = 3.3 to about 14/20 ln 26 = 2.3."""
    model, hist = ns["train_decoder"]("vigenere", hidden=32, steps=300, lr=1e-2, eval_every=300,
                                      eval_batches=2, progress=False)
    assert hist["loss"][-1] < 2.6, hist["loss"]


def test_correlation_ratio(ns):
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 5, size=2000)
    values = np.stack([groups * 1.0, rng.normal(size=2000), groups + rng.normal(size=2000)], axis=1)
    eta = ns["correlation_ratio"](values, groups)
    assert eta[0] == pytest.approx(1.0) and eta[1] < 0.01 and 0.5 < eta[2] < 0.8


def test_explore_runs_headless(ns):
    import matplotlib.pyplot as plt
    out = ns["explore"](cipher="vigenere", key_length=2, hidden=8, steps=4)
    plt.close("all")
    assert 0 <= out["accuracy"] <= 1 and set(out["by_length"]) == {5, 10, 14, 20, 30, 50}


def test_key_curriculum_grows_from_one_to_the_longest_key(ns):
    kc = ns["key_curriculum"]
    assert [kc(s, 100, 6, 0.0) for s in (0, 50, 99)] == [6, 6, 6]            # the paper: no curriculum
    seq = [kc(s, 100, 6, 0.4) for s in range(100)]
    assert seq[0] == 1 and seq[39] == 6 and seq[-1] == 6
    assert all(b >= a for a, b in zip(seq, seq[1:])) and set(seq) == {1, 2, 3, 4, 5, 6}
    assert kc(10, 100, 3, 0.4) == 1 + int(3 * 10 / 40)


def test_pad_first_framing_puts_the_key_next_to_the_message(ns):
    rng = np.random.default_rng(0)
    x_paper, y_paper, _ = ciphers.batch("vigenere", 50, 10, rng=np.random.default_rng(7))
    x_ours, y_ours, mask = ciphers.batch("vigenere", 50, 10, rng=np.random.default_rng(7), pad_first=True)
    np.testing.assert_array_equal(x_paper[:, 6:], x_ours[:, 6:])            # same ciphertext
    for a, b in zip(x_paper[:, :6], x_ours[:, :6]):
        key = a[a != ciphers.PAD]
        np.testing.assert_array_equal(b[6 - len(key):], key)                  # key right-aligned
        assert (b[:6 - len(key)] == ciphers.PAD).all()
    assert ns["decrypt"](ns["CipherLSTM"](8), "AB", "XYZ", pad_first=True) is not None
    del rng
