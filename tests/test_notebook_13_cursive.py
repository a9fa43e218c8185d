"""Code defined in notebooks/13_cursive.ipynb: the graded exercises, the model and its helpers."""
import math

import numpy as np
import pytest
import torch

from course import glyph_reader, strokes, weights
from course.polar_tokens import CharVocab, PolarTokenizer
from tests.nbimport import definitions, run_check

NB = "13_cursive"
TOK = PolarTokenizer()


@pytest.fixture(scope="module")
def ns():
    ns = definitions(NB)
    ns.update(tok=TOK, chars=CharVocab(), device=torch.device("cpu"))
    return ns


def test_reference_solutions_pass_their_checks(ns):
    run_check(NB, "13_polar_encode_check", ns)
    run_check(NB, "13_attention_check", ns)


def test_notebook_encoding_agrees_with_the_course_tokenizer(ns):
    rng = np.random.default_rng(0)
    words = [strokes.augment(p, rng) for _, p in strokes.word_bank(6, seed=1)]
    for w in words:
        off = TOK.offsets(w)
        np.testing.assert_array_equal(ns["polar_encode"](off, TOK.theta_bins, TOK.r_bins), TOK.encode_offsets(off))


def _encode_variant(kind):
    def wrong(offsets, theta_bins, r_bins):
        dx, dy, pen = offsets[:, 0], offsets[:, 1], offsets[:, 2]
        A, R = len(theta_bins), len(r_bins)
        theta = np.arctan2(dx, dy) if kind == "swapped atan2" else np.arctan2(dy, dx)
        r = np.hypot(dx, dy)
        if kind == "nearest bin":
            a = np.abs(theta[:, None] - theta_bins).argmin(1)
            d = np.abs(r[:, None] - r_bins).argmin(1)
        elif kind == "old 219-interval bins":
            edges = np.linspace(-np.pi, np.pi, A)
            a = np.clip(np.digitize(theta, edges) - 1, 0, A - 1)
            d = np.clip(np.digitize(r, r_bins) - 1, 0, R - 1)
        else:
            a = np.clip(np.digitize(theta, theta_bins) - 1, 0, A - 1)
            d = np.clip(np.digitize(r, r_bins) - 1, 0, R - 1)
        d = d + R * (pen == (1 if kind == "pen flag inverted" else 0))
        pairs = [d, 2 * R + a] if kind == "distance first" else [2 * R + a, d]
        if kind == "no angle offset":
            pairs = [a, d]
        return np.column_stack(pairs).ravel()
    return wrong


WRONG_ENCODINGS = ["swapped atan2", "nearest bin", "pen flag inverted", "distance first", "no angle offset",
                   "old 219-interval bins"]


@pytest.mark.parametrize("kind", WRONG_ENCODINGS)
def test_polar_check_fails_on_wrong_answers(ns, kind):
    with pytest.raises(AssertionError):
        run_check(NB, "13_polar_encode_check", ns, overrides={"polar_encode": _encode_variant(kind)})


def _round_trip(ns, encoder, monkeypatch):
    monkeypatch.setitem(ns, "tok", PolarTokenizer(encoder=encoder))
    bank = strokes.word_bank(8, seed=2, step=0.024, min_len=2, max_len=5)
    return ns["round_trip_stats"]([(bank[i], bank[i + 1]) for i in range(0, 8, 2)], np.random.default_rng(0))


def test_the_notebook_tokenizer_runs_on_the_students_function(ns, monkeypatch):
    pens, drifts = _round_trip(ns, ns["polar_encode"], monkeypatch)
    assert pens and drifts.max() < 0.06
    # a wrong polar_encode changes what the notebook measures later (the round trip, the training data)
    for kind in ["pen flag inverted", "swapped atan2"]:
        try:
            pens, drifts = _round_trip(ns, _encode_variant(kind), monkeypatch)
        except ValueError:          # the tokenizer refuses the tokens
            continue
        assert not pens or drifts.max() > 0.1, kind
    monkeypatch.setitem(ns, "tok", PolarTokenizer(encoder=_encode_variant("pen flag inverted")))
    x, c, y = ns["reference_batch"](256)
    monkeypatch.setitem(ns, "tok", PolarTokenizer(encoder=ns["polar_encode"]))
    x2, _, _ = ns["reference_batch"](256)
    assert x.shape == x2.shape and not torch.equal(x, x2)


def _attention_variant(kind):
    def wrong(q, k, v, causal):
        scale = 1.0 if kind == "no scale" else math.sqrt(q.size(-1))
        scores = q @ k.transpose(-2, -1) / scale
        if causal:
            T, S = scores.shape[-2:]
            ones = torch.ones(T, S, dtype=torch.bool)
            keep = {"mask upside down": ones.triu(), "mask off by one": ones.tril(1),
                    "zeros instead of -inf": ones.tril()}.get(kind, ones.tril())
            fill = 0.0 if kind == "zeros instead of -inf" else float("-inf")
            scores = scores.masked_fill(~keep, fill)
        w = scores.softmax(dim=-2 if kind == "softmax over queries" else -1)
        return w @ v, w
    return wrong


@pytest.mark.parametrize("kind", ["no scale", "mask upside down", "mask off by one", "zeros instead of -inf",
                                  "softmax over queries"])
def test_attention_check_fails_on_wrong_answers(ns, kind):
    with pytest.raises(AssertionError):
        run_check(NB, "13_attention_check", ns, overrides={"attention": _attention_variant(kind)})


def test_shipped_transformer_reproduces_its_recorded_loss(ns, monkeypatch):
    """data/weights/13_cursive_gpt.pt: the loss on the fixed reference batch, as its FULL run recorded it."""
    monkeypatch.setitem(ns, "tok", PolarTokenizer(encoder=ns["polar_encode"]))
    info = weights.provenance("13_cursive_gpt")
    cfg = ns["GPTConfig"](n_layer=info["settings"]["n_layer"], block_size=info["settings"]["block"])
    model = ns["CursiveGPT"](cfg)
    weights.load_weights(model, "13_cursive_gpt")
    batch = ns["reference_batch"](256, info["settings"]["step"])
    loss = ns["batch_loss"](model, batch)
    assert loss == pytest.approx(info["cards"]["reference_batch_loss"], abs=0.01)
    assert loss < 0.6 * math.log(525)                       # a trained model, not a fresh one
    # the student's attention runs inside it: a wrong one changes the loss
    monkeypatch.setitem(ns, "attention", _attention_variant("no scale"))
    assert abs(ns["batch_loss"](model, batch) - loss) > 0.01


def test_shipped_reader_reproduces_its_recorded_accuracy(ns, monkeypatch):
    """data/weights/13_glyph_reader.pt: the reading accuracy on the fixed rendered words."""
    monkeypatch.setitem(ns, "tok", PolarTokenizer(encoder=ns["polar_encode"]))
    info = weights.provenance("13_glyph_reader")
    reader = glyph_reader.GlyphReader(width=info["settings"]["width"])
    weights.load_weights(reader, "13_glyph_reader")
    acc = ns["reference_reading_accuracy"](reader)
    assert acc == pytest.approx(info["cards"]["reference_reading_accuracy"], abs=0.02)
    assert acc > 0.8


def test_legibility_measures_compare_readings_with_prompts(ns):
    assert ns["cross_accuracy"]({0: ["ab", "cd"]}, ["ab", "cd"]) == 0.0
    assert glyph_reader.char_accuracy("hel", "hello world") == pytest.approx(3 / 11)


def test_paper_configuration_has_442496_parameters(ns):
    model = ns["CursiveGPT"](ns["GPTConfig"]())
    head = ns["n_params"](model.lm_head)
    assert ns["n_params"](model) - head == 442_496 and head == 33_600


def test_model_is_causal_and_reads_the_prompt(ns):
    torch.manual_seed(0)
    model = ns["CursiveGPT"](ns["GPTConfig"](n_layer=2, block_size=32)).eval()
    x = torch.randint(0, 522, (2, 20))
    c = torch.as_tensor(np.stack([CharVocab().encode("ab cd"), CharVocab().encode("xy")]))
    with torch.no_grad():
        a = model(x, c)[0]
        x2 = x.clone()
        x2[:, 10:] = 5
        b = model(x2, c)[0]
        assert torch.allclose(a[:, :10], b[:, :10], atol=1e-6)      # the future does not leak
        assert not torch.allclose(a[:, 10:], b[:, 10:])
        d = model(x, c.flip(0))[0]
        assert not torch.allclose(a, d)                              # the prompt matters
    att = model.blocks[-1].xattn.att
    assert att.shape == (2, 4, 20, 50) and torch.allclose(att.sum(-1), torch.ones(2, 4, 20))


def test_masked_loss_ignores_padding(ns):
    torch.manual_seed(0)
    model = ns["CursiveGPT"](ns["GPTConfig"](n_layer=1, block_size=16))
    x = torch.randint(0, 522, (1, 8))
    c = torch.zeros(1, 50, dtype=torch.long)
    y = torch.randint(0, 525, (1, 8))
    y[0, 5:] = -1
    logits, loss = model(x, c, y)
    ref = torch.nn.functional.cross_entropy(logits[0, :5], y[0, :5])
    assert torch.allclose(loss, ref)


def test_batches_pack_whole_words_and_mask_after_end(ns):
    bank = strokes.word_bank(20, seed=0, step=0.024, min_len=2, max_len=5)
    ns["train_words"] = bank
    x, c, y = ns["make_batch"](bank, 6, 2, 64, np.random.default_rng(0))
    assert x.shape == y.shape and x.shape[1] <= 64 and c.shape == (6, 50)
    assert (x[:, 0] == TOK.WORD).all()
    for xi, yi in zip(x, y):
        n = int((yi >= 0).sum())
        assert (yi[n:] == -1).all() and (xi[n:] == TOK.PAD).all()
        assert torch.equal(xi[1:n], yi[: n - 1])                    # targets are inputs shifted by one
    seq, ids, text = ns["make_example"](bank[:2], np.random.default_rng(1), 2000)
    assert (seq == TOK.WORD).sum() == 3 and seq[-1] == TOK.END and len(text.split()) == 2


def test_sampling_and_reading_order(ns):
    torch.manual_seed(0)
    model = ns["CursiveGPT"](ns["GPTConfig"](n_layer=1, block_size=40))
    outs = ns["sample"](model, ["ab", "cd e"], temperature=1.0, max_tokens=12, seed=0)
    assert len(outs) == 2 and all(len(o) <= 12 for o in outs)
    assert all(TOK.END not in o[:-1] and TOK.PAD not in o for o in outs)   # cut at END, no padding
    assert ns["sample"](model, ["ab"], temperature=0, max_tokens=5)[0].tolist() == \
        ns["sample"](model, ["ab"], temperature=0, max_tokens=5, seed=3)[0].tolist()   # greedy ignores the seed
    sp = ns["spearman"]
    assert sp([1, 2, 3, 4], [1, 1, 2, 3]) == pytest.approx(0.9486832980505138)
    assert sp([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0) and sp([1, 2, 3], [5, 5, 5]) == 0.0
    # an attention that walks the prompt reads it in order
    T, S = 30, 5
    att = np.zeros((1, T, 50))
    att[0, np.arange(T), np.arange(T) * S // T] = 1.0
    x = torch.full((1, T), 10)
    c = torch.zeros(1, 50, dtype=torch.long)
    c[0, :S] = 1
    y = torch.zeros(1, T, dtype=torch.long)
    assert ns["reading_order"](att, x, c, y)[0] > 0.95
    assert ns["reading_order"](att[:, ::-1], x, c, y)[0] < -0.95


def test_the_model_trains_on_the_fused_attention(ns, monkeypatch):
    """course.fast_attention.pick: the model trains on torch's fused kernel (self-attention, no weights
    kept) and the bit-identical twin (cross-attention), to rounding the student's function run by
    autograd (AdamW, clipping); evaluation runs the twin: the student's bits (cross-attention maps)."""
    import types

    from course import fast_attention
    monkeypatch.setitem(ns, "tok", PolarTokenizer(encoder=ns["polar_encode"]))
    words = strokes.word_bank(30, seed=3, step=0.024, min_len=2, max_len=5)
    rng = np.random.default_rng(0)
    batches = [ns["make_batch"](words, 4, 2, 96, rng) for _ in range(3)]
    student = types.SimpleNamespace(pick=lambda fn, weights=True: fn)
    runs = {}
    for name, picker in [("student's", student), ("fused", fast_attention)]:
        monkeypatch.setitem(ns, "fast_attention", picker)
        torch.manual_seed(0)
        model = ns["CursiveGPT"](ns["GPTConfig"](n_layer=2, block_size=96))
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4, betas=(0.9, 0.99))
        losses = []
        for xb in batches:
            _, loss = model(*xb)
            assert model.blocks[0].attn.att is (None if name == "fused" else model.blocks[0].attn.att)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        maps = ns["cross_attention_maps"](model, *batches[0][:2])
        assert model.blocks[0].attn.att.shape[-2:] == (batches[0][0].shape[1],) * 2   # eval keeps the weights
        monkeypatch.setitem(ns, "fast_attention", student)
        assert all(np.array_equal(a, b) for a, b in zip(maps, ns["cross_attention_maps"](model, *batches[0][:2])))
        runs[name] = losses, model.state_dict(), maps
    (la, pa, ma), (lb, pb, mb) = runs.values()
    assert np.allclose(la, lb, rtol=1e-5, atol=0)
    for k in pa:   # the keys' biases have an exact zero gradient (softmax ignores a shift of all scores):
        a, b = pa[k].clone(), pb[k].clone()   # Adam turns its rounding noise into steps of up to lr each
        keys = slice(64, 128) if k.endswith("attn.c_attn.bias") else slice(0, 64) if k.endswith("kv.bias") else None
        if keys is not None:
            assert (a[keys] - b[keys]).abs().max() <= 3 * 3e-3
            a[keys] = b[keys] = 0.0
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5), f"{k} differs by up to {(a - b).abs().max():.3g}"
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(ma, mb))
