"""Classical ciphers in NumPy, vectorised over a batch of messages, and the decryption task.

Taught in 10_enigma_rnn (Greydanus 2017, arXiv 1708.07576): the Vigenère and Autokey
ciphers (eq. 1-2 of the notebook), an Enigma machine with rotors I-V, reflectors A/B/C,
ring settings, the double-stepping rule (eq. 4) and an optional plugboard (eq. 3), and the
paper's framing of decryption as transduction: key + padding + ciphertext in, key + padding
+ plaintext out (`batch`).

Letters are integers 0-25 (A-Z); 26 is the padding symbol '-'. Every function takes a batch:
messages as (B, L) integer arrays, keys as (B, K) arrays padded with 26.
"""
from __future__ import annotations

import functools

import numpy as np

from . import validate

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PAD = 26                       # the padding symbol's index
SYMBOLS = ALPHABET + "-"       # the network's 27-symbol alphabet

#: Rotor wirings (entry A..Z -> exit letter) and turnover notches (Heer/Luftwaffe I-V).
ROTORS = {
    "I": ("EKMFLGDQVZNTOWYHXUSPAIBRCJ", "Q"),
    "II": ("AJDKSIRUXBLHWTMCQGZNPYFVOE", "E"),
    "III": ("BDFHJLCPRTXVZNYEIWGAKMUSQO", "V"),
    "IV": ("ESOVPZJAYQUIRHXLNFTGKDCMWB", "J"),
    "V": ("VZBRGITYUPSDNHLXAWMJQOFECK", "Z"),
}
REFLECTORS = {
    "A": "EJMZALYXVBWFCRQUONTSPIKHGD",
    "B": "YRUHQSLDPXNGOKMIEBFZCWVJAT",
    "C": "FVPJIAOYEDRZXWGCTKUQSBNMHL",
}
CIPHERS = ("vigenere", "autokey", "enigma", "toy_enigma")


# ---------------------------------------------------------------- text <-> integers
def _letters(name: str, text, allow_pad: bool = False, allow_empty: bool = False) -> str:
    allowed = SYMBOLS if allow_pad else ALPHABET
    if not isinstance(text, str) or (not text and not allow_empty) or any(ch not in allowed for ch in text):
        what = "A-Z or '-'" if allow_pad else "upper-case letters A-Z"
        raise ValueError(f"{name} must be a {'' if allow_empty else 'non-empty '}string of {what}, got {text!r}")
    return text


def encode(text: str) -> np.ndarray:
    """'AB-' -> array([0, 1, 26]); raises ValueError on anything but A-Z and '-'."""
    _letters("text", text, allow_pad=True)
    return np.array([SYMBOLS.index(ch) for ch in text], dtype=np.int64)


def decode(codes) -> str:
    """Integers 0-26 (a 1-D array or list) back to a string of A-Z and '-'."""
    codes = np.asarray(codes)
    if codes.ndim != 1 or codes.size and (codes.min() < 0 or codes.max() > PAD):
        raise ValueError(f"codes must be a 1-D array of integers in [0, 26], got shape {codes.shape}")
    return "".join(SYMBOLS[int(c)] for c in codes)


def _messages(name: str, x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer) or x.size and (x.min() < 0 or x.max() > 25):
        raise ValueError(f"{name} must be a (batch, length) integer array of letters 0-25, "
                         f"got shape {x.shape} dtype {x.dtype}")
    return x.astype(np.int64)


def _keys(keys, batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(B, K) keys padded with 26 on the right -> (keys, lengths); every key needs a letter."""
    keys = np.asarray(keys)
    batch = keys.shape[0] if batch is None and keys.ndim == 2 else batch
    if keys.ndim != 2 or keys.shape[0] != batch or not np.issubdtype(keys.dtype, np.integer) or \
            keys.size and (keys.min() < 0 or keys.max() > PAD):
        raise ValueError(f"keys must be a ({batch}, K) integer array of letters 0-25 padded with 26, "
                         f"got shape {keys.shape}")
    letters = keys != PAD
    lengths = letters.sum(axis=1)
    letters_first = not (letters[:, 1:] & ~letters[:, :-1]).any()     # no letter after a padding
    if keys.shape[1] == 0 or lengths.min() < 1 or not letters_first:
        raise ValueError("keys must hold at least one letter each, letters first, then padding 26")
    return keys.astype(np.int64), lengths


# ---------------------------------------------------------------- Vigenère and Autokey
def vigenere_stream(keys, length: int) -> np.ndarray:
    """The Vigenère key stream K_i = k_(i mod |k|) of each key, shape (B, length)."""
    keys, lengths = _keys(keys)
    return _stream(keys, lengths, validate.integer("length", length, lo=0))


def _stream(keys, lengths, length: int) -> np.ndarray:
    i = np.arange(length)[None, :] % lengths[:, None]
    return np.take_along_axis(keys, i, axis=1)


def vigenere(plain, keys, decrypt: bool = False) -> np.ndarray:
    """Vigenère cipher of a batch: c_i = (p_i + k_(i mod |k|)) mod 26 (notebook 10, eq. 1).

    Args:
        plain: (B, L) letters 0-25 (the ciphertext when `decrypt`).
        keys: (B, K) keys, each padded on the right with 26 (key lengths may differ).
    Returns:
        (B, L) letters.
    """
    x = _messages("plain", plain)
    k = _stream(*_keys(keys, len(x)), x.shape[1])
    return (x - k) % 26 if decrypt else (x + k) % 26


def autokey(plain, keys, decrypt: bool = False) -> np.ndarray:
    """Autokey cipher: the key stream is the key, then the plaintext itself (notebook 10, eq. 2).

    c_i = (p_i + K_i) mod 26 with K_i = k_i for i < |k| and K_i = p_(i - |k|) after. Encryption is
    one gather; decryption must run left to right (each step needs an earlier plaintext letter),
    vectorised over B.
    """
    x = _messages("plain", plain)
    keys, lengths = _keys(keys, len(x))
    b, n = x.shape
    if not decrypt:    # the key stream is known up front: one gather (equal to the loop below)
        i = np.arange(n)[None, :]
        earlier = i - lengths[:, None]                                   # < 0: still inside the key
        stream = np.where(earlier < 0, np.take_along_axis(keys, np.minimum(i, keys.shape[1] - 1).repeat(b, 0), axis=1),
                          np.take_along_axis(x, np.maximum(earlier, 0), axis=1))
        return (x + stream) % 26
    out = np.empty_like(x)
    rows = np.arange(b)
    for i in range(n):
        from_key = i < lengths
        k = np.where(from_key, keys[rows, np.minimum(i, keys.shape[1] - 1)], 0)
        if i > 0:
            earlier = np.maximum(i - lengths, 0)
            k = np.where(from_key, k, out[rows, earlier])   # the plaintext so far
        out[:, i] = (x[:, i] - k) % 26
    return out


# ---------------------------------------------------------------- the Enigma
def step(positions, notches) -> np.ndarray:
    """One key press of the rotors (before the letter goes through): notebook 10, eq. (4).

    Args:
        positions: (B, n) rotor positions 0-25, leftmost rotor first (n = 1, 2 or 3).
        notches: (n,) the letter in each rotor's window at which it carries its left neighbour.
    Returns:
        (B, n) the positions after the step. The rightmost rotor always steps; a rotor steps
        when its right neighbour is at its notch; and a middle rotor at its own notch steps
        again, taking its left neighbour along (the double step).
    """
    pos = np.array(positions, dtype=np.int64)
    notches = np.asarray(notches)
    if pos.ndim != 2 or not 1 <= pos.shape[1] <= 3 or notches.shape != (pos.shape[1],):
        raise ValueError(f"positions must be (B, n) with n in 1..3 and notches (n,), got {pos.shape} and {notches.shape}")
    at_notch = pos == notches[None, :]
    moves = np.zeros_like(pos, dtype=bool)
    moves[:, -1] = True
    for j in range(pos.shape[1] - 1):          # rotor j is carried by rotor j+1 at its notch
        moves[:, j] |= at_notch[:, j + 1]
    for j in range(1, pos.shape[1] - 1):       # the double step of the middle rotor
        moves[:, j] |= at_notch[:, j]
    return (pos + moves) % 26


def _parse_plugboard(plugboard) -> np.ndarray:
    """'AB CD' or ['AB', 'CD'] -> the plugboard as a permutation of 0-25 (an involution)."""
    pairs = plugboard.split() if isinstance(plugboard, str) else list(plugboard)
    perm = np.arange(26)
    seen = ""
    for pair in pairs:
        if not isinstance(pair, str) or len(pair) != 2 or any(ch not in ALPHABET for ch in pair) or pair[0] == pair[1]:
            raise ValueError(f"plugboard pairs must be two different upper-case letters such as 'AV', got {pair!r}")
        for ch in pair:
            if ch in seen:
                raise ValueError(f"plugboard: letter {ch!r} is plugged twice (in {plugboard!r})")
            seen += ch
        a, b = ALPHABET.index(pair[0]), ALPHABET.index(pair[1])
        perm[a], perm[b] = b, a
    if len(pairs) > 13:
        raise ValueError(f"plugboard has at most 13 pairs, got {len(pairs)}")
    return perm


class Enigma:
    """An Enigma I / M3 with 1-3 rotors, vectorised over a batch of start positions.

    Notebook 10 teaches it (eq. 3: the letter's path, a product of permutations; eq. 4: the
    stepping with the double step). The paper's machine is `Enigma(("I", "II", "III"), "A",
    rings="BNH")` (rings 02.14.08); the course's toy is `Enigma(("III",), "A")`.

    Args:
        rotors: rotor names from `ROTORS`, leftmost first, e.g. ("I", "II", "III").
        reflector: 'A', 'B' or 'C'.
        rings: ring settings (Ringstellung), one per rotor: letters ('BNH') or ints 0-25
            (0 = A = ring 01).
        plugboard: letter pairs such as 'AV BS CG' (Steckerbrett), at most 13, no letter twice.
    """

    def __init__(self, rotors=("I", "II", "III"), reflector: str = "B", rings="AAA", plugboard=""):
        rotors = tuple(rotors) if not isinstance(rotors, str) else tuple(rotors.split())
        if not 1 <= len(rotors) <= 3:
            raise ValueError(f"rotors must name 1 to 3 rotors, got {rotors!r}")
        for r in rotors:
            validate.one_of("rotor", r, ROTORS)
        if len(set(rotors)) != len(rotors):
            raise ValueError(f"rotors must be different (each machine has one of each), got {rotors!r}")
        validate.one_of("reflector", reflector, REFLECTORS)
        if isinstance(rings, str):
            _letters("rings", rings)
            rings = [ALPHABET.index(ch) for ch in rings]
        rings = [validate.integer("ring setting", r, 0, 25) for r in rings]
        if len(rings) != len(rotors):
            raise ValueError(f"rings must give one setting per rotor ({len(rotors)}), got {len(rings)}")
        self.rotors, self.reflector, self.rings = rotors, reflector, np.array(rings)
        self.plugboard = _parse_plugboard(plugboard)
        self.wiring = np.array([[ALPHABET.index(ch) for ch in ROTORS[r][0]] for r in rotors])  # (n, 26)
        self.inverse = np.argsort(self.wiring, axis=1)
        self.notches = np.array([ALPHABET.index(ROTORS[r][1]) for r in rotors])
        self.reflect = np.array([ALPHABET.index(ch) for ch in REFLECTORS[reflector]])
        self._table = None     # built on first use: (all 26^n rotor states, next state, substitution)

    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every rotor state (26^n, n) (state number = the positions read as base-26 digits), the
        state each one steps to (eq. 4), and its substitution (26^n, 26) (eq. 3): a machine's whole
        behaviour, computed once so that a batch is a walk through the next states and one gather."""
        if self._table is None:
            n = len(self.rotors)
            states = np.indices((26,) * n).reshape(n, -1).T
            self._table = (states, self._state_number(step(states, self.notches)),
                           self._substitution(states[None])[0])
        return self._table

    @staticmethod
    def _state_number(pos) -> np.ndarray:
        return (pos * 26 ** np.arange(pos.shape[-1] - 1, -1, -1)).sum(axis=-1)

    def _walk(self, starts, length: int) -> np.ndarray:
        """State numbers at each key press (after its step), shape (B, length)."""
        pos = self._starts(starts)
        length = validate.integer("length", length, lo=0)
        _, following, _ = self._tables()
        state = self._state_number(pos)
        out = np.empty((len(pos), length), dtype=np.int64)
        for i in range(length):
            state = following[state]           # eq. (4): rotors move before the letter passes
            out[:, i] = state
        return out

    def _substitution(self, pos) -> np.ndarray:
        """Eq. (3) at rotor positions (B, L, n): the substitution (B, L, 26)."""
        c = np.broadcast_to(self.plugboard, pos.shape[:2] + (26,)).copy()
        shift = (pos - self.rings[None, None, :])[..., None]        # (B, L, n, 1)
        for j in reversed(range(len(self.rotors))):                 # right to left
            c = (self.wiring[j][(c + shift[:, :, j]) % 26] - shift[:, :, j]) % 26
        c = self.reflect[c]
        for j in range(len(self.rotors)):                           # back, left to right
            c = (self.inverse[j][(c + shift[:, :, j]) % 26] - shift[:, :, j]) % 26
        return self.plugboard[c]

    def _starts(self, starts) -> np.ndarray:
        if isinstance(starts, str):
            _letters("start", starts)
            starts = [[ALPHABET.index(ch) for ch in starts]]
        starts = np.asarray(starts)
        if starts.ndim != 2 or starts.shape[1] != len(self.rotors) or not np.issubdtype(starts.dtype, np.integer) \
                or starts.size and (starts.min() < 0 or starts.max() > 25):
            raise ValueError(f"starts must be (B, {len(self.rotors)}) rotor positions 0-25 (or a string of "
                             f"{len(self.rotors)} letters), got shape {starts.shape}")
        return starts.astype(np.int64)

    def positions(self, starts, length: int) -> np.ndarray:
        """Rotor positions at each key press (after its step), shape (B, length, n)."""
        return self._tables()[0][self._walk(starts, length)]

    def permutations(self, starts, length: int) -> np.ndarray:
        """The machine's substitution at each key press, shape (B, length, 26): eq. (3).

        Entry [b, i, x] is the letter that plaintext x becomes at press i of message b.
        """
        return self._tables()[2][self._walk(starts, length)]

    def encrypt(self, plain, starts) -> np.ndarray:
        """Encrypt (or, the same thing, decrypt) a batch: (B, L) letters, (B, n) starts -> (B, L)."""
        x = _messages("plain", plain)
        state = self._walk(starts, x.shape[1])
        if state.shape[0] != x.shape[0]:
            raise ValueError(f"plain has {x.shape[0]} messages but starts has {state.shape[0]}")
        return self._tables()[2][state, x]

    def __call__(self, text: str, start: str) -> str:
        """One message as a string: Enigma(...)('AAAAA', 'AAA') -> 'BDZGO' (rotors I-II-III, B)."""
        _letters("text", text)
        return decode(self.encrypt(encode(text)[None, :], start)[0])


def paper_enigma() -> Enigma:
    """The crypto-rnn machine: reflector A, rotors I-II-III, rings 02.14.08, no plugboard."""
    return Enigma(("I", "II", "III"), "A", rings="BNH")


def toy_enigma() -> Enigma:
    """The course's one-rotor toy: rotor III and reflector A (the key is one start letter)."""
    return Enigma(("III",), "A", rings="A")


@functools.lru_cache(maxsize=None)
def _machine(cipher: str) -> Enigma:
    """The task's machines, built (with their tables) once per process."""
    return paper_enigma() if cipher == "enigma" else toy_enigma()


# ---------------------------------------------------------------- the learning task
def random_keys(rng: np.random.Generator, n: int, slot: int, min_len: int = 1, max_len: int | None = None,
                exclude=()) -> np.ndarray:
    """(n, slot) random keys of length uniform in [min_len, max_len], padded with 26; keys in
    `exclude` (strings, e.g. the held-out probe 'KEY') are redrawn."""
    max_len = slot if max_len is None else max_len
    validate.integer("min_len", min_len, 1, slot)
    validate.integer("max_len", max_len, min_len, slot)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    keys = rng.integers(0, 26, size=(n, slot))
    keys[np.arange(slot)[None, :] >= lengths[:, None]] = PAD
    for word in exclude:
        code = encode(word)
        if len(code) <= slot:
            target = np.full(slot, PAD)
            target[:len(code)] = code
            hit = (keys == target).all(axis=1)
            while hit.any():   # rare (1 in 26^len per draw): redraw those rows
                keys[hit, :len(code)] = rng.integers(0, 26, size=(int(hit.sum()), len(code)))
                hit = (keys == target).all(axis=1)
    return keys


def encrypt(cipher: str, plain, keys) -> np.ndarray:
    """Encrypt a batch with the named cipher; `keys` as `random_keys` makes them (for the
    Enigmas: the start letters, first in the slot)."""
    validate.one_of("cipher", cipher, CIPHERS)
    if cipher == "vigenere":
        return vigenere(plain, keys)
    if cipher == "autokey":
        return autokey(plain, keys)
    machine = _machine(cipher)
    n = len(machine.rotors)
    keys = np.asarray(keys)
    if keys.ndim != 2 or keys.shape[1] < n or (keys[:, :n] == PAD).any():
        raise ValueError(f"{cipher} needs keys of at least {n} letters (the start positions), got shape {keys.shape}")
    return machine.encrypt(plain, keys[:, :n])


def key_slot(cipher: str) -> int:
    """The key slot length: 6 for Vigenère, Autokey and Enigma (the paper), 1 for the toy."""
    return 1 if validate.one_of("cipher", cipher, CIPHERS) == "toy_enigma" else 6


def batch(cipher: str, n: int, length: int = 14, rng: np.random.Generator | None = None,
          slot: int | None = None, max_key: int | None = None, exclude=("KEY",), pad_first: bool = False):
    """A batch of the paper's transduction task (notebook 10, section 3).

    input  = key, padded with '-' to `slot`, then the ciphertext;
    target = key, padded with '-' to `slot`, then the plaintext.

    Args:
        cipher: 'vigenere', 'autokey' (keys of length 1..max_key), 'enigma' (3 start letters)
            or 'toy_enigma' (1 start letter).
        n: batch size; length: message length (the paper trains on 14).
        slot: key slot (default `key_slot(cipher)`); max_key: longest Vigenère/Autokey key
            (default the slot).
        exclude: keys never drawn (the probe 'KEY' is held out).
        pad_first: put the padding before the key ('---KEY' instead of the paper's 'KEY---'), so
            the key ends right where the message starts (a shorter memory gap to learn across).
    Returns:
        x, y: (n, slot + length) integers 0-26; mask: (n, slot + length) bool, True on message
        positions, where accuracy is measured.
    """
    validate.one_of("cipher", cipher, CIPHERS)
    n = validate.positive_int("n", n)
    length = validate.positive_int("length", length)
    rng = np.random.default_rng() if rng is None else rng
    slot = key_slot(cipher) if slot is None else validate.positive_int("slot", slot)
    if cipher in ("vigenere", "autokey"):
        keys = random_keys(rng, n, slot, 1, max_key, exclude)
    else:
        need = 3 if cipher == "enigma" else 1
        if slot < need:
            raise ValueError(f"{cipher} needs slot >= {need}, got {slot}")
        keys = random_keys(rng, n, slot, need, need, exclude)
    plain = rng.integers(0, 26, size=(n, length))
    cipher_text = encrypt(cipher, plain, keys)
    if validate.boolean("pad_first", pad_first):
        lengths = (keys != PAD).sum(axis=1)
        keys = np.take_along_axis(keys, (np.arange(slot)[None, :] + lengths[:, None]) % slot, axis=1)
    x = np.concatenate([keys, cipher_text], axis=1)
    y = np.concatenate([keys, plain], axis=1)
    mask = np.zeros_like(x, dtype=bool)
    mask[:, slot:] = True
    return x, y, mask


def probe(key: str, message: str, slot: int, pad_first: bool = False) -> np.ndarray:
    """One input sequence 'key + padding + message' (or 'padding + key + message' with
    `pad_first`, as `batch` makes them) as a (1, slot + len) integer array."""
    _letters("key", key)
    _letters("message", message)
    if len(key) > slot:
        raise ValueError(f"key {key!r} is longer than the key slot ({slot})")
    padding = "-" * (slot - len(key))
    return encode((padding + key if pad_first else key + padding) + message)[None, :]
