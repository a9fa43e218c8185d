"""Tests of course.ciphers: published test vectors, Enigma properties, agreement with the
independent simulator py-enigma (a test-only dependency), the task framing and bad inputs."""
import numpy as np
import pytest

from course import ciphers as C


def text_batch(*texts):
    return np.stack([C.encode(t) for t in texts])


def key_batch(*keys, slot=6):
    out = np.full((len(keys), slot), C.PAD)
    for i, k in enumerate(keys):
        out[i, :len(k)] = C.encode(k)
    return out


# ---------------------------------------------------------------- Vigenère / Autokey
def test_vigenere_classic_vectors():
    # the crypto-rnn notebook probes: MATHS/CALCUL and KEYS/YOUKNOWNOTHINGJONSNOW
    c = C.vigenere(text_batch("CALCUL"), key_batch("MATHS"))
    assert C.decode(c[0]) == "OAEJMX"
    c = C.vigenere(text_batch("YOUKNOWNOTHINGJONSNOW"), key_batch("KEYS"))
    assert C.decode(c[0]) == "ISSCXSUFYXFAXKHGXWLGG"
    # the textbook example (Bellaso/Vigenère): LEMON
    c = C.vigenere(text_batch("ATTACKATDAWN"), key_batch("LEMON"))
    assert C.decode(c[0]) == "LXFOPVEFRNHR"


def test_autokey_vectors_and_round_trip():
    c = C.autokey(text_batch("DEFGHIJKLMNOPQRSTUVWX"), key_batch("ABC"))
    assert C.decode(c[0]) == "DFHJLNPRTVXZBDFHJLNPR"
    # Wikipedia's example: key QUEENLY
    c = C.autokey(text_batch("ATTACKATDAWN"), key_batch("QUEENL", slot=6))
    c7 = C.autokey(text_batch("ATTACKATDAWN"), key_batch("QUEENLY", slot=7))
    assert C.decode(c7[0]) == "QNXEPVYTWTWP"
    assert C.decode(c[0]) != C.decode(c7[0])  # the key length matters
    rng = np.random.default_rng(0)
    plain = rng.integers(0, 26, size=(64, 30))
    keys = C.random_keys(rng, 64, 6)
    for fn in (C.vigenere, C.autokey):
        enc = fn(plain, keys)
        np.testing.assert_array_equal(fn(enc, keys, decrypt=True), plain)


def test_vigenere_and_autokey_agree_with_a_plain_python_loop_for_mixed_key_lengths():
    rng = np.random.default_rng(1)
    plain = rng.integers(0, 26, size=(40, 17))
    keys = C.random_keys(rng, 40, 6)
    vig, auto = C.vigenere(plain, keys), C.autokey(plain, keys)
    for b in range(40):
        k = [int(v) for v in keys[b] if v != C.PAD]
        stream = k + [int(v) for v in plain[b]]
        for i in range(17):
            assert vig[b, i] == (plain[b, i] + k[i % len(k)]) % 26
            assert auto[b, i] == (plain[b, i] + stream[i]) % 26


# ---------------------------------------------------------------- Enigma
def test_enigma_classic_vectors():
    assert C.Enigma(("I", "II", "III"), "B", rings="AAA")("AAAAA", "AAA") == "BDZGO"
    # the crypto-rnn probe: reflector A, I-II-III, rings 02.14.08, start KEY
    assert C.paper_enigma()("YOUKNOWNOTHINGJONSNOW", "KEY") == "ZGARCCKUIXRCRZEQGJWMY"
    # 1930 operator manual example (Enigma I, reflector A, II-I-III, rings 24.13.22)
    machine = C.Enigma(("II", "I", "III"), "A", rings="XMV", plugboard="AM FI NV PS TU WZ")
    plain = "FEINDLIQEINFANTERIEKOLONNEBEOBAQTETXANFANGSUEDAUSGANGBAERWALDEXENDEDREIKMOSTWAERTSNEUSTADT"
    assert machine(plain, "ABL") == ("GCDSEAHUGWTQGRKVLFGXUCALXVYMIGMMNMFDXTGNVHVRMMEVOUYFZSLRHDRRXFJWCFHUHM"
                                     "UNZEFRDISIKBGPMYVXUZ")


def test_double_step_sequence():
    # rotors I-II-III: the middle rotor II (notch E) steps twice in a row: ADU ADV AEW BFX BFY
    e = C.Enigma(("I", "II", "III"), "B")
    seq = ["".join(C.ALPHABET[v] for v in p) for p in e.positions("ADU", 4)[0]]
    assert seq == ["ADV", "AEW", "BFX", "BFY"]
    # one and two rotors: the right rotor always steps; carry at the notch, no double step
    assert C.step(np.array([[25]]), np.array([21]))[0, 0] == 0
    two = C.step(np.array([[4, 21], [4, 3]]), np.array([4, 21]))
    np.testing.assert_array_equal(two, [[5, 22], [4, 4]])


def test_enigma_is_an_involution_without_fixed_points():
    rng = np.random.default_rng(2)
    for machine in (C.paper_enigma(), C.toy_enigma(), C.Enigma(("V", "IV", "I"), "C", rings=[3, 17, 25],
                                                               plugboard="AB CD EF GH IJ KL MN OP QR ST")):
        starts = rng.integers(0, 26, size=(50, len(machine.rotors)))
        perm = machine.permutations(starts, 40)
        letters = np.arange(26)
        assert (perm != letters).all(), "a letter encrypted to itself"
        np.testing.assert_array_equal(np.take_along_axis(perm, perm, axis=2), np.broadcast_to(letters, perm.shape))
        plain = rng.integers(0, 26, size=(50, 40))
        np.testing.assert_array_equal(machine.encrypt(machine.encrypt(plain, starts), starts), plain)


def _py_enigma(rotors, reflector, rings, plugboard):
    pytest.importorskip("enigma.machine", reason="py-enigma (dev dependency) is not installed")
    from enigma.machine import EnigmaMachine
    from enigma.plugboard import Plugboard
    from enigma.rotors.factory import create_rotor
    from enigma.rotors.rotor import Rotor
    # py-enigma has no reflector A: build it from the same wiring (the wiring is data, the
    # simulator's stepping and signal path are what is being compared)
    reflector = Rotor(reflector, wiring=C.REFLECTORS[reflector])
    return EnigmaMachine([create_rotor(r, g) for r, g in zip(rotors, rings)], reflector,
                         Plugboard.from_key_sheet(plugboard))


@pytest.mark.parametrize("trial", range(40))
def test_enigma_agrees_with_py_enigma_on_random_settings(trial):
    rng = np.random.default_rng(100 + trial)
    rotors = tuple(rng.choice(list(C.ROTORS), size=3, replace=False))
    reflector = str(rng.choice(list(C.REFLECTORS)))
    rings = [int(v) for v in rng.integers(0, 26, size=3)]
    letters = rng.permutation(26)[:2 * int(rng.integers(0, 11))]
    plugboard = " ".join(C.ALPHABET[a] + C.ALPHABET[b] for a, b in zip(letters[::2], letters[1::2]))
    ref = _py_enigma(rotors, reflector, rings, plugboard)
    ours = C.Enigma(rotors, reflector, rings=rings, plugboard=plugboard)
    notches = [C.ROTORS[r][1] for r in rotors]
    starts = ["".join(C.ALPHABET[v] for v in rng.integers(0, 26, size=3)) for _ in range(6)]
    # starts that cross the double step within a few letters
    starts += [C.ALPHABET[rng.integers(26)] + C.ALPHABET[(C.ALPHABET.index(notches[1]) - 1) % 26]
               + C.ALPHABET[(C.ALPHABET.index(notches[2]) - k) % 26] for k in (0, 1, 3)]
    starts += [C.ALPHABET[rng.integers(26)] + notches[1] + C.ALPHABET[rng.integers(26)]]
    plain = "".join(C.ALPHABET[v] for v in rng.integers(0, 26, size=120))
    batch = ours.encrypt(np.stack([C.encode(plain)] * len(starts)),
                         np.array([[C.ALPHABET.index(ch) for ch in s] for s in starts]))
    for s, row in zip(starts, batch):
        ref.set_display(s)
        assert C.decode(row) == ref.process_text(plain), (rotors, reflector, rings, plugboard, s)


# ---------------------------------------------------------------- the task
@pytest.mark.parametrize("cipher", C.CIPHERS)
def test_batch_framing(cipher):
    rng = np.random.default_rng(3)
    x, y, mask = C.batch(cipher, 200, length=14, rng=rng)
    slot = C.key_slot(cipher)
    assert x.shape == y.shape == mask.shape == (200, slot + 14)
    assert not mask[:, :slot].any() and mask[:, slot:].all()
    np.testing.assert_array_equal(x[:, :slot], y[:, :slot])          # the key is echoed
    assert (x[:, slot:] < 26).all() and (y[:, slot:] < 26).all()
    keys = x[:, :slot]
    np.testing.assert_array_equal(C.encrypt(cipher, y[:, slot:], keys), x[:, slot:])
    if cipher in ("vigenere", "autokey"):
        lengths = (keys != C.PAD).sum(1)
        assert lengths.min() == 1 and lengths.max() == 6
    elif cipher == "enigma":
        assert ((keys != C.PAD).sum(1) == 3).all()


def test_held_out_key_never_appears():
    rng = np.random.default_rng(4)
    # force collisions: every three-letter key drawn from {K, E, Y} alphabet would hit often
    keys = C.random_keys(rng, 20000, 3, 3, 3, exclude=("KEY",))
    assert not (keys == C.encode("KEY")).all(axis=1).any()
    x, _, _ = C.batch("enigma", 20000, rng=rng)
    assert not (x[:, :3] == C.encode("KEY")).all(axis=1).any()
    x, _, _ = C.batch("toy_enigma", 500, rng=rng, exclude=("K",))
    assert not (x[:, 0] == C.ALPHABET.index("K")).any()


def test_probe_sequence():
    np.testing.assert_array_equal(C.probe("ABC", "XY", 6)[0], C.encode("ABC---XY"))
    np.testing.assert_array_equal(C.probe("ABC", "XY", 6, pad_first=True)[0], C.encode("---ABCXY"))


def test_pad_first_moves_only_the_padding():
    a = C.batch("autokey", 100, 9, rng=np.random.default_rng(5))
    b = C.batch("autokey", 100, 9, rng=np.random.default_rng(5), pad_first=True)
    np.testing.assert_array_equal(a[0][:, 6:], b[0][:, 6:])
    np.testing.assert_array_equal(a[1][:, 6:], b[1][:, 6:])
    np.testing.assert_array_equal(a[2], b[2])
    np.testing.assert_array_equal(np.sort(a[0][:, :6], axis=1), np.sort(b[0][:, :6], axis=1))
    assert (b[0][:, 5] != C.PAD).all() and (b[1][:, :6] == b[0][:, :6]).all()
    with pytest.raises(ValueError, match="pad_first"):
        C.batch("autokey", 2, pad_first=1)


# ---------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("kwargs, match", [
    (dict(rotors=("I", "II", "IX")), "rotor"),
    (dict(rotors=("I", "I", "III")), "different"),
    (dict(rotors=()), "1 to 3"),
    (dict(reflector="D"), "reflector"),
    (dict(rings="ab"), "rings"),
    (dict(rings=[0, 1, 26]), "ring setting"),
    (dict(rings="AB"), "one setting per rotor"),
    (dict(plugboard="AB CA"), "plugged twice"),
    (dict(plugboard="AA"), "two different"),
    (dict(plugboard="ab"), "upper-case"),
    (dict(plugboard="A1"), "upper-case"),
])
def test_bad_enigma_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        C.Enigma(**kwargs)


@pytest.mark.parametrize("call, match", [
    (lambda: C.paper_enigma()("hello", "KEY"), "upper-case"),
    (lambda: C.paper_enigma()("HELLO WORLD", "KEY"), "upper-case"),
    (lambda: C.paper_enigma()("HELLO", "KE"), "starts"),
    (lambda: C.paper_enigma()("HELLO", "key"), "upper-case"),
    (lambda: C.encode("A?"), "A-Z"),
    (lambda: C.decode([27]), "0, 26"),
    (lambda: C.vigenere(np.zeros(5, int), key_batch("A")), "plain"),
    (lambda: C.vigenere(np.zeros((2, 5), int), key_batch("A")), "keys"),
    (lambda: C.vigenere(np.full((1, 5), 26), key_batch("A")), "plain"),
    (lambda: C.autokey(np.zeros((1, 5), int), np.array([[26, 0]])), "letters first"),
    (lambda: C.step(np.zeros((2, 4), int), np.zeros(4, int)), "n in 1..3"),
    (lambda: C.batch("caesar", 4), "cipher"),
    (lambda: C.batch("autokey", 0), "n must be"),
    (lambda: C.batch("enigma", 4, slot=2), "slot >= 3"),
    (lambda: C.probe("TOOLONGKEY", "A", 6), "longer than the key slot"),
    (lambda: C.paper_enigma().encrypt(np.zeros((2, 3), int), np.zeros((3, 3), int)), "messages"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- fast paths == the reference loops
def _reference_autokey_encrypt(plain, keys):
    """The letter-by-letter loop that `autokey` replaced with one gather (kept here as the reference)."""
    lengths = (keys != C.PAD).sum(axis=1)
    rows, out = np.arange(len(plain)), np.empty_like(plain)
    for i in range(plain.shape[1]):
        from_key = i < lengths
        k = np.where(from_key, keys[rows, np.minimum(i, keys.shape[1] - 1)], 0)
        if i > 0:
            k = np.where(from_key, k, plain[rows, np.maximum(i - lengths, 0)])
        out[:, i] = (plain[:, i] + k) % 26
    return out


def _reference_enigma(machine, starts, plain):
    """Step the rotors press by press (`step`) and push every letter through eq. (3): what the Enigma
    computed before its state tables."""
    pos, shifts = np.array(starts), []
    for _ in range(plain.shape[1]):
        pos = C.step(pos, machine.notches)
        shifts.append(pos - machine.rings)
    shift = np.stack(shifts, axis=1)                          # (B, L, n)
    c = machine.plugboard[plain]
    for j in reversed(range(len(machine.rotors))):
        c = (machine.wiring[j][(c + shift[:, :, j]) % 26] - shift[:, :, j]) % 26
    c = machine.reflect[c]
    for j in range(len(machine.rotors)):
        c = (machine.inverse[j][(c + shift[:, :, j]) % 26] - shift[:, :, j]) % 26
    return machine.plugboard[c], np.stack([s + machine.rings for s in shifts], axis=1) % 26


@pytest.mark.parametrize("seed", range(40))
def test_fast_autokey_and_enigma_equal_the_reference_loops(seed):
    rng = np.random.default_rng(seed)
    slot, length = int(rng.integers(1, 9)), int(rng.integers(1, 60))
    keys, plain = C.random_keys(rng, 64, slot), rng.integers(0, 26, size=(64, length))
    out = C.autokey(plain, keys)
    assert out.dtype == np.int64 and np.array_equal(out, _reference_autokey_encrypt(plain, keys))
    names = list(C.ROTORS)
    rotors = tuple(rng.permutation(names)[: 1 + seed % 3])
    machine = C.Enigma(rotors, "ABC"[seed % 3], rings=rng.integers(0, 26, size=len(rotors)).tolist(),
                       plugboard="AV BS CG" if seed % 2 else "")
    starts = rng.integers(0, 26, size=(64, len(rotors)))
    want, positions = _reference_enigma(machine, starts, plain)
    assert np.array_equal(machine.encrypt(plain, starts), want)
    assert np.array_equal(machine.positions(starts, length), positions)
    perm = machine.permutations(starts, length)
    assert np.array_equal(np.take_along_axis(perm, plain[:, :, None], axis=2)[:, :, 0], want)


@pytest.mark.parametrize("cipher", C.CIPHERS)
def test_batches_are_the_same_arrays_from_the_same_rng_calls(cipher):
    # the training batches of notebook 10: the fast ciphers draw nothing else, in the same order
    for seed in range(25):
        rng = np.random.default_rng(seed)
        x, y, mask = C.batch(cipher, 50, 14, rng=rng, pad_first=bool(seed % 2))
        ref = np.random.default_rng(seed)
        slot = C.key_slot(cipher)
        need = {"enigma": 3, "toy_enigma": 1}.get(cipher)
        keys = C.random_keys(ref, 50, slot, need or 1, need, ("KEY",))
        plain = ref.integers(0, 26, size=(50, 14))
        if cipher == "autokey":
            cipher_text = _reference_autokey_encrypt(plain, keys)
        elif cipher == "vigenere":
            cipher_text = (plain + np.take_along_axis(keys, np.arange(14)[None] % (keys != C.PAD).sum(1)[:, None], 1)) % 26
        else:
            machine = C.paper_enigma() if cipher == "enigma" else C.toy_enigma()
            cipher_text = _reference_enigma(machine, keys[:, :need], plain)[0]
        assert np.array_equal(x[:, slot:], cipher_text) and np.array_equal(y[:, slot:], plain)
        assert rng.integers(0, 2**62) == ref.integers(0, 2**62)     # the generator is left in the same state
