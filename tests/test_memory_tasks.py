import itertools
import re

import numpy as np
import pytest

from course import memory_tasks as mt


def runs(s):
    return [(m.group()[0], len(m.group())) for m in re.finditer(r"0+|1+", s)]


def tomita3(s):
    r = runs(s)
    return not any(a == ("1", a[1]) and a[1] % 2 and b[0] == "0" and b[1] % 2 for a, b in zip(r, r[1:]))


PREDICATES = {
    1: lambda s: set(s) <= {"1"},
    2: lambda s: s == "10" * (len(s) // 2),
    3: tomita3,
    4: lambda s: "000" not in s,
    5: lambda s: s.count("0") % 2 == 0 and s.count("1") % 2 == 0,
    6: lambda s: (s.count("1") - s.count("0")) % 3 == 0,
    7: lambda s: re.fullmatch(r"0*1*0*1*", s) is not None,
}


def all_strings(max_len):
    for n in range(max_len + 1):
        for bits in itertools.product("01", repeat=n):
            yield "".join(bits)


@pytest.mark.parametrize("g", range(1, 8))
def test_each_dfa_agrees_with_the_grammars_definition(g):
    for s in all_strings(11):
        assert mt.accepts(g, s) == PREDICATES[g](s), f"grammar {g} disagrees on {s!r}"


def minimise(g):
    """Moore's partition refinement on the complete DFA: the number of classes."""
    table, acc = mt.TRANSITIONS[g], mt.ACCEPTING[g]
    part = [int(q in acc) for q in range(len(table))]
    while True:
        sig = [(part[q], part[table[q][0]], part[table[q][1]]) for q in range(len(table))]
        ids = {s: i for i, s in enumerate(sorted(set(sig)))}
        new = [ids[s] for s in sig]
        if len(set(new)) == len(set(part)):
            return len(set(new))
        part = new


@pytest.mark.parametrize("g,states", [(1, 2), (2, 3), (3, 5), (4, 4), (5, 4), (6, 3), (7, 5)])
def test_the_tables_are_minimal_and_have_the_known_sizes(g, states):
    assert mt.minimal_states(g) == states == minimise(g)


@pytest.mark.parametrize("g", range(1, 8))
def test_samples_are_balanced_labelled_and_within_the_lengths(g):
    strings, labels = mt.sample_strings(g, 400, max_len=30, min_len=1, seed=g)
    assert all(1 <= len(s) <= 30 for s in strings)
    assert all(label == PREDICATES[g](s) for s, label in zip(strings, labels))
    assert 0.4 < labels.mean() < 0.75
    assert mt.sample_strings(g, 5, seed=3)[0] == mt.sample_strings(g, 5, seed=3)[0]


def test_positive_strings_are_uniform_among_accepted_strings_of_their_length():
    strings, _ = mt.sample_strings(4, 4000, max_len=4, min_len=4, positive_fraction=1.0, seed=0)
    accepted = [s for s in all_strings(4) if len(s) == 4 and "000" not in s]
    freq = np.array([strings.count(s) for s in accepted]) / len(strings)
    assert len(accepted) == 13 and np.allclose(freq, 1 / 13, atol=0.02)


def test_encode_pads_with_minus_one():
    symbols, lengths = mt.encode(["10", "", "111"])
    assert symbols.tolist() == [[1, 0, -1], [-1, -1, -1], [1, 1, 1]] and lengths.tolist() == [2, 0, 3]


def test_mode_counter_variants_reveal_what_they_say():
    obs, modes = mt.mode_counter("amnesia", 3, 300, seed=0)
    assert obs.shape == (3, 300, 1) and modes.shape == (3, 300)
    assert np.array_equal(np.floor(obs[..., 0] * mt.MODES).astype(int), modes)
    obs, modes = mt.mode_counter("blind", 2, 40, seed=0)
    assert np.all(obs >= mt.NO_INFORMATION)
    assert modes[0, :10].tolist() == [0, 1, 1, 2, 2, 2, 3, 3, 3, 3] and np.array_equal(modes[0, :30], np.tile(modes[0, :10], 3))
    obs, modes = mt.mode_counter("tracker", 4, 300, seed=1)
    revealed = obs[..., 0] < mt.NO_INFORMATION
    switches = np.concatenate([np.ones((4, 1), bool), modes[:, 1:] != modes[:, :-1]], axis=1)
    assert np.all(revealed[switches])          # every change of mode is announced
    assert revealed.mean() < 0.6               # and most steps say nothing
    starts = np.flatnonzero(revealed[0])
    for a, b in zip(starts, starts[1:]):       # mode k lasts k + 1 steps
        assert b - a == modes[0, a] + 1


@pytest.mark.parametrize("call,match", [
    (lambda: mt.accepts(8, "01"), "grammar must be an integer in"),
    (lambda: mt.accepts(1, "012"), "only the characters"),
    (lambda: mt.sample_strings(1, 0), "n must be"),
    (lambda: mt.sample_strings(1, 5, max_len=3, min_len=5), "min_len must be"),
    (lambda: mt.sample_strings(1, 5, positive_fraction=2), "positive_fraction"),
    (lambda: mt.encode("0101"), "non-empty list"),
    (lambda: mt.mode_counter("forgetful", 1), "variant must be one of"),
    (lambda: mt.mode_counter("blind", 1, steps=0), "steps must be"),
])
def test_bad_input_is_rejected_with_a_sentence(call, match):
    with pytest.raises(ValueError, match=match):
        call()
