"""Tests of the code written in notebooks/10_enigma_rnn.ipynb: the ciphers written in its cells
(bit for bit against course.ciphers), the graded exercises (the transduction framing and the masked
accuracy) and their checks, which must fail on plausible wrong answers, that the notebook runs on the
student's framing (a wrong `frame` changes later results), the training helpers, and the shipped
weights of the class mode."""
import json
import sys
import types
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

from course import ciphers
from tests.nbimport import definitions, graded_cells, run_check

matplotlib.use("Agg")
NB = "10_enigma_rnn"
PAD = ciphers.PAD
WEIGHTS = Path(__file__).resolve().parent.parent / "data" / "weights"


@pytest.fixture(scope="module")
def ns():
    return definitions(NB)


def test_two_graded_exercises_each_followed_by_its_check():
    cells = graded_cells(NB)
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells]
    assert ids == [f"{NB}_frame", f"{NB}_frame_check", f"{NB}_accuracy", f"{NB}_accuracy_check"]
    for sol, chk in zip(cells[::2], cells[1::2]):
        assert sol["metadata"]["nbgrader"]["solution"] and "### BEGIN SOLUTION" in "".join(sol["source"])
        assert chk["metadata"]["nbgrader"]["grade"] and chk["metadata"]["nbgrader"]["locked"]


def test_no_cell_lists_library_source():
    cells = json.loads((Path(__file__).resolve().parent.parent / "notebooks" / f"{NB}.ipynb").read_text())["cells"]
    assert not any("show_source" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


# ---------------------------------------------------------------- the ciphers of the notebook's cells
def _keys(rng, n, slot=6):
    return ciphers.random_keys(rng, n, slot, 1, slot)


def test_notebook_vigenere_and_autokey_equal_the_library_bit_for_bit(ns):
    rng = np.random.default_rng(0)
    keys, plain = _keys(rng, 300), rng.integers(0, 26, size=(300, 40))
    np.testing.assert_array_equal(ns["vigenere_stream"](keys, 40), ciphers.vigenere_stream(keys, 40))
    for name in ("vigenere", "autokey"):
        ours, lib = ns[name], getattr(ciphers, name)
        c = ours(plain, keys)
        np.testing.assert_array_equal(c, lib(plain, keys))
        np.testing.assert_array_equal(ours(c, keys, decrypt=True), lib(c, keys, decrypt=True))
        np.testing.assert_array_equal(ours(c, keys, decrypt=True), plain)


def test_notebook_step_and_enigma_equal_the_library_bit_for_bit(ns):
    rng = np.random.default_rng(1)
    notches = np.array([16, 4, 21])
    pos = rng.integers(0, 26, size=(5000, 3))
    pos[::3, 1], pos[1::3, 2] = notches[1], notches[2]
    np.testing.assert_array_equal(ns["step"](pos, notches), ciphers.step(pos, notches))
    for rotors, refl, rings, plugs in ((("I", "II", "III"), "A", "BNH", ""), (("II", "I", "III"), "A", "XMV", "AM FI NV PS TU WZ"),
                                       (("V", "III", "IV"), "B", [3, 17, 25], "AB CD EF")):
        machine = ciphers.Enigma(rotors, refl, rings=rings, plugboard=plugs)
        starts = rng.integers(0, 26, size=(200, 3))
        np.testing.assert_array_equal(ns["enigma_permutations"](machine, starts, 700), machine.permutations(starts, 700))
    assert ns["enigma"](ciphers.paper_enigma(), "YOUKNOWNOTHINGJONSNOW", "KEY") == "ZGARCCKUIXRCRZEQGJWMY"


# ---------------------------------------------------------------- exercise 1: the framing
def test_frame_reference_passes_its_check_and_equals_the_library_framing(ns):
    run_check(NB, f"{NB}_frame_check", ns)
    for cipher in ciphers.CIPHERS:
        for pad_first in (True, False):
            got = ns["make_batch"](cipher, 40, 11, rng=np.random.default_rng(5), pad_first=pad_first)
            want = ciphers.batch(cipher, 40, 11, rng=np.random.default_rng(5), pad_first=pad_first)
            for g, w in zip(got, want):
                np.testing.assert_array_equal(g, w)


def _right(keys, pad_first):
    slot = keys.shape[1]
    if pad_first:
        n = (keys != PAD).sum(1)
        keys = np.take_along_axis(keys, (np.arange(slot)[None] + n[:, None]) % slot, 1)
    return keys


def _mask(x, start):
    m = np.zeros(x.shape, dtype=bool)
    m[:, start:] = True
    return m


def _mask_one_early(keys, c, p, pad_first=True):
    k = _right(keys, pad_first)
    x = np.concatenate([k, c], 1)
    return x, np.concatenate([k, p], 1), _mask(x, keys.shape[1] - 1)


def _mask_one_late(keys, c, p, pad_first=True):
    k = _right(keys, pad_first)
    x = np.concatenate([k, c], 1)
    return x, np.concatenate([k, p], 1), _mask(x, keys.shape[1] + 1)


def _key_left_in_place(keys, c, p, pad_first=True):            # ignores pad_first
    x = np.concatenate([keys, c], 1)
    return x, np.concatenate([keys, p], 1), _mask(x, keys.shape[1])


def _key_reversed(keys, c, p, pad_first=True):                 # '---YEK': padding first by reversing
    k = keys[:, ::-1] if pad_first else keys
    x = np.concatenate([k, c], 1)
    return x, np.concatenate([k, p], 1), _mask(x, keys.shape[1])


def _no_key_in_input(keys, c, p, pad_first=True):
    k = _right(keys, pad_first)
    x = np.concatenate([np.full_like(k, PAD), c], 1)
    return x, np.concatenate([k, p], 1), _mask(x, keys.shape[1])


def _no_key_echo(keys, c, p, pad_first=True):                  # targets padded, the key not echoed
    k = _right(keys, pad_first)
    x = np.concatenate([k, c], 1)
    return x, np.concatenate([np.full_like(k, PAD), p], 1), _mask(x, keys.shape[1])


def _targets_not_shifted(keys, c, p, pad_first=True):          # plaintext first, not aligned with c
    k = _right(keys, pad_first)
    x = np.concatenate([k, c], 1)
    return x, np.concatenate([p, k], 1), _mask(x, keys.shape[1])


def _changes_keys_in_place(keys, c, p, pad_first=True):
    out = _right(keys, pad_first)
    keys[:] = out
    x = np.concatenate([keys, c], 1)
    return x, np.concatenate([keys, p], 1), _mask(x, keys.shape[1])


WRONG_FRAMES = [_mask_one_early, _mask_one_late, _key_left_in_place, _key_reversed, _no_key_in_input,
                _no_key_echo, _targets_not_shifted, _changes_keys_in_place]


@pytest.mark.parametrize("wrong", WRONG_FRAMES)
def test_frame_check_fails_on_wrong_answers(ns, wrong):
    with pytest.raises(AssertionError):
        run_check(NB, f"{NB}_frame_check", ns, overrides={"frame": wrong})


def test_the_notebook_trains_on_the_students_frame():
    """Replace the student's `frame` by a wrong one: the batches, a short training run and the
    accuracy of the same network all change."""
    right, wrong = definitions(NB), definitions(NB)
    wrong["frame"] = _targets_not_shifted
    a = right["make_batch"]("vigenere", 8, 14, rng=np.random.default_rng(0))
    b = wrong["make_batch"]("vigenere", 8, 14, rng=np.random.default_rng(0))
    assert not np.array_equal(a[1], b[1])
    runs = [ns_["train_decoder"]("toy_enigma", hidden=16, steps=20, eval_every=20, eval_batches=1, progress=False)[1]
            for ns_ in (right, wrong)]
    assert runs[0]["loss"][-1] != runs[1]["loss"][-1]
    off = definitions(NB)
    off["frame"] = _mask_one_early
    torch.manual_seed(0)
    model = right["CipherLSTM"](16)
    assert right["evaluate"](model, "vigenere", batches=2) != off["evaluate"](model, "vigenere", batches=2)


# ---------------------------------------------------------------- exercise 2: masked accuracy
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
def test_model_shapes_chance_accuracy_and_forget_bias(ns):
    torch.manual_seed(0)
    model = ns["CipherLSTM"](hidden=16, forget_bias=1.0)
    assert torch.all(model.lstm.bias_ih_l0[16:32] > 0.5) and torch.all(model.lstm.bias_ih_l0[:16] < 0.5)
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


def test_curricula(ns):
    kc = ns["key_curriculum"]
    assert [kc(s, 100, 6, 0.0) for s in (0, 50, 99)] == [6, 6, 6]            # the paper: no curriculum
    seq = [kc(s, 100, 6, 0.4) for s in range(100)]
    assert seq[0] == 1 and seq[39] == 6 and seq[-1] == 6
    assert all(b >= a for a, b in zip(seq, seq[1:])) and set(seq) == {1, 2, 3, 4, 5, 6}
    # the waiting curriculum: a network that cannot learn is never promoted; the history says so
    hist = ns["train_decoder"]("vigenere", hidden=4, steps=20, lr=1e-9, promote_at=0.99, eval_every=10,
                               eval_batches=1, progress=False)[1]
    assert hist["keys"] == [1, 1, 1]
    hist = ns["train_decoder"]("vigenere", hidden=4, steps=20, lr=1e-9, promote_at=1e-6, eval_every=10,
                               eval_batches=1, progress=False)[1]
    assert hist["keys"][0] == 1 and hist["keys"][-1] == 6


def test_parallel_runs_equal_serial_runs(ns):
    """train_runs sends each run to a worker process (course.sweep) and rebuilds the network from its
    state_dict: two processes give the same networks and histories as one, run by run."""
    name = ns["_train_state"].__module__           # fork sends functions by name (a kernel finds them in __main__)
    mod = types.ModuleType(name)
    mod.__dict__.update(ns)
    sys.modules[name] = mod
    tasks = [dict(cipher=c, hidden=8, steps=12, eval_every=6, eval_batches=1, progress=False, seed=s, warmup=4,
                  decay=True, grow=0.4) for c in ("autokey", "vigenere") for s in (0, 1)]
    try:
        par, ser = ns["train_runs"](tasks, workers=2), ns["train_runs"](tasks, workers=1)
    finally:
        sys.modules.pop(name, None)
    for (ma, ha), (mb, hb) in zip(par, ser):
        np.testing.assert_array_equal(ha["loss"], hb["loss"])
        assert ha["acc"] == hb["acc"]
        assert all(torch.equal(a, b) for a, b in zip(ma.state_dict().values(), mb.state_dict().values()))
    assert not torch.equal(par[0][0].readout.weight, par[1][0].readout.weight)   # seeds differ


def test_gap_framing_puts_the_key_g_steps_before_the_message(ns):
    """Section 3b: a slot of g + 1 with the key first leaves g padding steps between key and message."""
    for gap in (0, 1, 2, 5):
        x, y, mask = ns["make_batch"]("vigenere", 4, 14, rng=np.random.default_rng(0), max_key=1, pad_first=False,
                                      slot=gap + 1)
        assert x.shape == (4, gap + 1 + 14) and (x[:, 0] < 26).all() and (x[:, 1:gap + 1] == PAD).all()
        assert mask[:, gap + 1:].all() and not mask[:, :gap + 1].any()
    torch.manual_seed(0)
    model = ns["CipherLSTM"](8)
    acc = ns["evaluate"](model, "vigenere", batches=1, max_key=1, pad_first=False, slot=3)
    assert 0.0 <= acc <= 1.0


def test_warmup_ramps_the_learning_rate(ns):
    """With warmup, the first steps move the weights less than without (the same seed and batches)."""
    moved = []
    for warmup in (0, 50):
        torch.manual_seed(0)
        start = ns["CipherLSTM"](8, forget_bias=1.0).readout.weight.detach().clone()
        model = ns["train_decoder"]("vigenere", hidden=8, steps=3, lr=1e-2, warmup=warmup, eval_every=3, eval_batches=1,
                                    progress=False)[0]
        moved.append((model.readout.weight.detach() - start).norm().item())
    assert moved[1] < 0.2 * moved[0]


def test_phase_eta_scores_the_key_phase_not_the_key_length(ns):
    """The timing measure: a unit that codes i mod m scores 1, one that codes only the key length or the
    position scores far less, noise about 0."""
    rng = np.random.default_rng(0)
    key_len = np.repeat(rng.integers(1, 7, size=400), 14)
    pos = np.tile(np.arange(14), 400)
    units = np.stack([pos % key_len, key_len * 1.0, pos * 1.0, rng.normal(size=pos.size)], axis=1).astype(float)
    eta = ns["phase_eta"](units, key_len, pos)
    assert eta[0] == pytest.approx(1.0) and eta[1] < 1e-9 and eta[2] < 0.35 and eta[3] < 0.02


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


# ---------------------------------------------------------------- class mode: the shipped weights
@pytest.mark.parametrize("cipher", ["autokey", "vigenere"])
def test_shipped_weights_reproduce_their_recorded_accuracy(ns, cipher):
    from course import weights
    name = f"10_{cipher}"
    if not (WEIGHTS / f"{name}.pt").exists():
        pytest.skip(f"{name} not shipped yet (a recording FULL run makes it)")
    info = weights.provenance(name)
    model = ns["CipherLSTM"](info["settings"]["hidden"])
    weights.load_weights(model, name)
    acc = 100 * ns["evaluate"](model, cipher, 14, 10, 50, seed=2 * 10**6, pad_first=info["settings"]["pad_first"])
    assert acc == pytest.approx(info["cards"]["message accuracy at length 14 (%)"], abs=0.5)
    assert (WEIGHTS / f"{name}.pt").stat().st_size < 2 * 2**20


# ---------------------------------------------------------------- Bonus 8b: the crack mode (known plaintext)
def test_frame_crack_layout(ns):
    """Input: ciphertext and plaintext side by side, then padding; target: the plaintext echoed, then the key
    right-aligned in its slot (by the student's frame); the mask covers the slot only."""
    keys = np.array([list(ciphers.encode("KEYS---")), list(ciphers.encode("Q------"))])
    plain = np.stack([ciphers.encode("ABCDE"), ciphers.encode("VWXYZ")])
    c = ciphers.vigenere(plain, keys)
    copies = [a.copy() for a in (keys, c, plain)]
    x, y, mask = ns["frame_crack"](keys, c, plain)
    assert all((a == b).all() for a, b in zip((keys, c, plain), copies))
    assert x.shape == (2, 12, 2) and y.shape == mask.shape == (2, 12) and mask.dtype == bool
    np.testing.assert_array_equal(x[:, :5, 0], c)
    np.testing.assert_array_equal(x[:, :5, 1], plain)
    assert (x[:, 5:] == PAD).all()
    assert ciphers.decode(y[0]) == "ABCDE---KEYS" and ciphers.decode(y[1]) == "VWXYZ------Q"
    assert not mask[:, :5].any() and mask[:, 5:].all()


@pytest.mark.parametrize("cipher", ["vigenere", "autokey"])
def test_make_crack_batch_is_consistent_with_the_cipher(ns, cipher):
    x, y, mask = ns["make_crack_batch"](cipher, 200, 14, rng=np.random.default_rng(0))
    slot = ns["CRACK_SLOT"]
    assert x.shape == (200, 14 + slot, 2) and y.shape == (200, 14 + slot)
    right = y[:, 14:]
    n = (right != PAD).sum(1)
    assert (right[:, 0] == PAD).all() and n.min() == 1 and n.max() == slot - 1     # keys of 1-6, never filling the slot
    keys = np.take_along_axis(right, (np.arange(slot)[None] - n[:, None]) % slot, 1)  # back to 'KEY----'
    np.testing.assert_array_equal(x[:, :14, 0], getattr(ciphers, cipher)(x[:, :14, 1], keys))
    np.testing.assert_array_equal(y[:, :14], x[:, :14, 1] if ns["CRACK_ECHO"] == "plain"    # the plaintext echoed,
                                  else (x[:, :14, 0] - x[:, :14, 1]) % 26)              # or the key stream
    for echo, want in (("plain", x[:, :14, 1]), ("stream", (x[:, :14, 0] - x[:, :14, 1]) % 26)):
        got = ns["make_crack_batch"](cipher, 200, 14, rng=np.random.default_rng(0), echo=echo)
        np.testing.assert_array_equal(got[0], x)
        np.testing.assert_array_equal(got[1][:, :14], want)
        np.testing.assert_array_equal(got[1][:, 14:], y[:, 14:])
    assert not any(ciphers.decode(k[k != PAD]) == "KEY" for k in keys)


def test_make_crack_batch_rejects_other_ciphers(ns):
    with pytest.raises(ValueError, match="cipher"):
        ns["make_crack_batch"]("toy_enigma", 4)
    with pytest.raises(ValueError, match="echo"):
        ns["make_crack_batch"]("vigenere", 4, echo="key")


class _VigenereOracle(torch.nn.Module):
    """Reads the key off a crack batch by the algorithm: the stream c - p, its shortest period, right-aligned."""

    def __init__(self, slot, length=14, wrong_length=False):
        super().__init__()
        self.slot, self.length, self.wrong_length, self.w = slot, length, wrong_length, torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        x = x.numpy()
        stream = (x[:, :self.length, 0] - x[:, :self.length, 1]) % 26
        y = np.full(x.shape[:2], PAD)
        y[:, :self.length] = x[:, :self.length, 1]
        for b, s in enumerate(stream):
            m = next(m for m in range(1, self.slot) if all(s[i] == s[i % m] for i in range(self.length)))
            m = min(m + self.wrong_length, self.slot - 1)
            y[b, -m:] = s[:m]
        return torch.nn.functional.one_hot(torch.as_tensor(y), 27).float()


def test_crack_scores(ns):
    slot = ns["CRACK_SLOT"]
    letters, whole = ns["crack_scores"](_VigenereOracle(slot), "vigenere", batches=4)
    assert letters > 0.99 and whole > 0.98           # a key that is itself periodic ('ABAB') is ambiguous: rare
    letters, whole = ns["crack_scores"](_VigenereOracle(slot, wrong_length=True), "vigenere", batches=4)
    assert whole < 0.2                               # one letter too many: the length is part of the key


def test_crack_mode_trains_through_train_decoder_and_train_runs(ns):
    """Two input channels (54 features), the crack sampler; train_runs rebuilds the 2-channel network."""
    task = dict(cipher="autokey", hidden=8, steps=6, eval_every=3, eval_batches=1, progress=False, seed=1,
                slot=ns["CRACK_SLOT"], max_key=ns["CRACK_SLOT"] - 1, grow=0.4, sampler=ns["make_crack_batch"], inputs=2)
    model, hist = ns["train_decoder"](**task)
    assert model.lstm.input_size == 54 and hist.steps == [0, 3, 6] and all(np.isfinite(hist["loss"][1:]))
    (rebuilt, hist2), = ns["train_runs"]([task], workers=1)
    np.testing.assert_array_equal(hist["loss"], hist2["loss"])
    letters, whole = ns["crack_scores"](rebuilt, "autokey", batches=1)
    assert 0 <= letters <= 1 and 0 <= whole <= 1
