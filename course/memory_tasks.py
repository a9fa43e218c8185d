"""Tasks that probe what a recurrent network remembers (12_finite_state).

- The seven Tomita grammars over {0, 1}, each defined by its minimal complete DFA (a table
  of transitions, tested against a plain-Python predicate), with a sampler of balanced
  datasets: half the strings in the language, drawn uniformly among accepted strings of
  their length by counting paths through the DFA.
- The mode-counter environments (Koul, Greydanus & Fern 2019, arXiv 1811.12530): M = 4
  hidden modes, reward for taking the action equal to the mode. The observation is a float
  in U(k/4, k/4 + 0.1) when it reveals mode k, else in U(1.0, 1.1) ("no information").
  Our schedule (the original's lives in gym_x): modes last 1, 2, 3 and 4 steps (mode k lasts
  k + 1). Amnesia: every observation reveals the mode, modes drawn at random. Blind: no
  observation reveals anything, modes cycle 0, 1, 2, 3 (a 10-step counter). Tracker: modes
  drawn at random, revealed only on the first step of each mode.
"""
from __future__ import annotations

import numpy as np

from . import validate

# Minimal complete DFAs: TRANSITIONS[g][state] = (next on '0', next on '1'); start state 0.
TRANSITIONS = {
    1: [(1, 0), (1, 1)],                                        # 1*
    2: [(2, 1), (0, 2), (2, 2)],                                # (10)*
    3: [(0, 1), (2, 0), (3, 4), (2, 1), (4, 4)],                # no odd 1-run then odd 0-run
    4: [(1, 0), (2, 0), (3, 0), (3, 3)],                        # no '000'
    5: [(2, 1), (3, 0), (0, 3), (1, 2)],                        # even 0s and even 1s
    6: [(2, 1), (0, 2), (1, 0)],                                # (#1 - #0) = 0 mod 3
    7: [(0, 1), (2, 1), (2, 3), (4, 3), (4, 4)],                # 0*1*0*1*
}
ACCEPTING = {1: {0}, 2: {0}, 3: {0, 1, 3}, 4: {0, 1, 2}, 5: {0}, 6: {0}, 7: {0, 1, 2, 3}}
DESCRIPTIONS = {
    1: "1*", 2: "(10)*", 3: "no odd run of 1s followed by an odd run of 0s", 4: "no 000",
    5: "an even number of 0s and of 1s", 6: "#1 - #0 divisible by 3", 7: "0*1*0*1*",
}


def _grammar(g) -> int:
    return validate.integer("grammar", g, 1, 7)


def _check_string(s: str) -> str:
    if not isinstance(s, str) or set(s) - {"0", "1"}:
        raise ValueError(f"a Tomita string holds only the characters '0' and '1', got {s!r}")
    return s


def accepts(grammar: int, string: str) -> bool:
    """Whether `string` (of '0' and '1'; may be empty) is in Tomita grammar `grammar` (1-7)."""
    table, state = TRANSITIONS[_grammar(grammar)], 0
    for ch in _check_string(string):
        state = table[state][int(ch)]
    return state in ACCEPTING[grammar]


def minimal_states(grammar: int) -> int:
    """States of the grammar's minimal complete DFA (dead state included)."""
    return len(TRANSITIONS[_grammar(grammar)])


def _accepting_counts(grammar: int, length: int) -> np.ndarray:
    """counts[r, q]: accepted completions of r more symbols from state q (float: no overflow)."""
    table, acc = TRANSITIONS[grammar], ACCEPTING[grammar]
    counts = np.zeros((length + 1, len(table)))
    counts[0] = [q in acc for q in range(len(table))]
    for r in range(1, length + 1):
        counts[r] = [counts[r - 1][a] + counts[r - 1][b] for a, b in table]
    return counts


def sample_strings(grammar: int, n: int, max_len: int = 50, min_len: int = 1,
                   seed: int = 0, positive_fraction: float = 0.5) -> tuple[list[str], np.ndarray]:
    """A balanced dataset: `n` strings with lengths uniform in [min_len, max_len], each
    forced into the language with probability `positive_fraction` (uniform among accepted
    strings of that length; a length with none is redrawn), else uniformly random.

    Returns:
        strings (list of str) and labels (n,) int64, 1 where the string is in the language.
    """
    g = _grammar(grammar)
    n = validate.positive_int("n", n)
    max_len = validate.integer("max_len", max_len, 1, 10_000)
    min_len = validate.integer("min_len", min_len, 0, max_len)
    validate.number("positive_fraction", positive_fraction, 0, 1)
    rng = np.random.default_rng(validate.integer("seed", seed, 0))
    counts, table = _accepting_counts(g, max_len), TRANSITIONS[g]
    strings = []
    for _ in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        if rng.random() < positive_fraction:
            while counts[length][0] == 0:
                length = int(rng.integers(min_len, max_len + 1))
            state, chars = 0, []
            for r in range(length, 0, -1):
                a, b = table[state]
                p_one = counts[r - 1][b] / (counts[r - 1][a] + counts[r - 1][b])
                bit = int(rng.random() < p_one)
                chars.append(str(bit))
                state = table[state][bit]
            strings.append("".join(chars))
        else:
            strings.append("".join(rng.choice(["0", "1"], size=length)))
    labels = np.array([accepts(g, s) for s in strings], dtype=np.int64)
    return strings, labels


def encode(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pad strings into a batch: symbols (n, T) int64 with 0/1 and -1 after the end, lengths (n,)."""
    if isinstance(strings, str) or not len(strings):
        raise ValueError(f"strings must be a non-empty list of strings, got {strings!r}")
    lengths = np.array([len(_check_string(s)) for s in strings], dtype=np.int64)
    symbols = np.full((len(strings), max(1, lengths.max())), -1, dtype=np.int64)
    for i, s in enumerate(strings):
        symbols[i, :len(s)] = [int(c) for c in s]
    return symbols, lengths


MODES = 4
VARIANTS = ("amnesia", "blind", "tracker")
NO_INFORMATION = 1.0          # observations that reveal nothing lie in U(1.0, 1.1)


def mode_counter(variant: str, n_episodes: int, steps: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Episodes of a mode-counter environment, as arrays for imitation learning.

    Args:
        variant: 'amnesia', 'blind' or 'tracker' (see the module docstring).
        n_episodes, steps: how many episodes, of how many steps (300 in the paper).
        seed: seeds the modes and the observation noise.
    Returns:
        observations (n_episodes, steps, 1) float32 and modes (n_episodes, steps) int64: the
        expert's action at each step is the mode, and reward is 1 per step the agent matches it.
    """
    validate.one_of("variant", variant, VARIANTS)
    n = validate.positive_int("n_episodes", n_episodes)
    steps = validate.positive_int("steps", steps)
    rng = np.random.default_rng(validate.integer("seed", seed, 0))
    modes = np.zeros((n, steps), dtype=np.int64)
    first = np.zeros((n, steps), dtype=bool)
    for i in range(n):
        t, mode = 0, 0 if variant == "blind" else int(rng.integers(MODES))
        while t < steps:
            duration = mode + 1
            modes[i, t:t + duration] = mode
            first[i, t] = True
            t += duration
            mode = (mode + 1) % MODES if variant == "blind" else int(rng.integers(MODES))
    reveal = {"amnesia": np.ones_like(first), "blind": np.zeros_like(first), "tracker": first}[variant]
    low = np.where(reveal, modes / MODES, NO_INFORMATION)
    obs = low + 0.1 * rng.random((n, steps))
    return obs[..., None].astype(np.float32), modes
