"""Does a second torch thread speed up 13_cursive's training step? One step at 1 and 2 threads, alternated.

The step is the notebook's own (its `CursiveGPT` on the student's `attention`, its `make_batch`, AdamW,
clipping: what `train` does per step), at FULL's sizes (block 320, batch 16, 1-2 words per sequence),
for 3 and for the paper's 5 layers. The batches are made once before the clock starts (their cost is
timed on its own, `make_batch ms`), so both thread counts train on the same batches. Thread counts
alternate in rounds (1, 2, 1, 2, ...) so that a change of load hits both alike; the best and the median
round are printed. Unit: ms of wall time per training step.

    /work/notes/quiet .venv/bin/python benchmarks/cursive_threads.py            # both CPU slots: a quiet machine
    .venv/bin/python benchmarks/cursive_threads.py --profile                     # where one step spends its time
    .venv/bin/python benchmarks/cursive_threads.py --smoke                       # tiny, no timing worth reading
    /work/notes/cpu .venv/bin/python benchmarks/cursive_threads.py --attention   # the student's attention vs the
                                                                                 # fast path training uses, one thread
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course import strokes  # noqa: E402
from course.polar_tokens import CharVocab, PolarTokenizer  # noqa: E402
from tools.nbimport import definitions  # noqa: E402


def notebook(n_words=300, seed=0):
    """The notebook's definitions with the names its data cells would set (a smaller word bank)."""
    ns = definitions("13_cursive")
    ns.update(tok=PolarTokenizer(encoder=ns["polar_encode"]), chars=CharVocab(), device=torch.device("cpu"))
    ns["train_words"] = strokes.word_bank(n_words, seed=seed, step=ns["STEP"], min_len=2, max_len=5)
    ns["test_words"] = ns["train_words"][:40]
    return ns


def make_batches(ns, n, batch, max_words, block, seed=5):
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    out = [ns["make_batch"](ns["train_words"], batch, max_words, block, rng) for _ in range(n)]
    return out, (time.perf_counter() - t0) / n


def stepper(ns, n_layer, block, lr=3e-3):
    torch.manual_seed(0)
    model = ns["CursiveGPT"](ns["GPTConfig"](n_layer=n_layer, block_size=block))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4, betas=(0.9, 0.99))

    def step(xb):
        model.train()
        _, loss = model(*xb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()
    return step


def race_threads(ns, n_layer, block, batch, max_words, rounds, steps_per_round, threads=(1, 2)):
    batches, batch_ms = make_batches(ns, steps_per_round, batch, max_words, block)
    step = stepper(ns, n_layer, block)
    words = [int((xb[0] == ns["tok"].WORD).sum(1).max()) // 2 + 1 for xb in batches]   # words per sequence
    times = {t: [] for t in threads}
    per_k = {(t, k): [] for t in threads for k in set(words)}
    cpu = {t: [] for t in threads}
    for t in threads:                        # warm-up at each thread count
        torch.set_num_threads(t)
        step(batches[0])
    for _ in range(rounds):
        for t in threads:
            torch.set_num_threads(t)
            w0, c0 = time.perf_counter(), time.process_time()
            for xb, k in zip(batches, words):
                s0 = time.perf_counter()
                step(xb)
                per_k[t, k].append(1000 * (time.perf_counter() - s0))
            times[t].append(1000 * (time.perf_counter() - w0) / len(batches))
            cpu[t].append(1000 * (time.process_time() - c0) / len(batches))
    torch.set_num_threads(1)
    T = [int(xb[0].shape[1]) for xb in batches]
    print(f"{n_layer} layers, block {block}, batch {batch}, 1-{max_words} words per batch {words}: padded T {T}; "
          f"make_batch {1000 * batch_ms:.1f} ms per batch (one thread, not in the step times)")
    for t in threads:
        print(f"  {t} thread(s): ms per step best {min(times[t]):7.1f}  median {statistics.median(times[t]):7.1f}"
              f"  (CPU ms median {statistics.median(cpu[t]):7.1f}; rounds {[round(v) for v in times[t]]}); "
              + ", ".join(f"{k}-word batches {statistics.median(per_k[t, k]):.0f} ms" for k in sorted(set(words))))
    if len(threads) == 2:
        a, b = threads
        print(f"  speed-up {a} -> {b} threads: best {min(times[a]) / min(times[b]):.2f}x, "
              f"median {statistics.median(times[a]) / statistics.median(times[b]):.2f}x")
    return times


def race_other(ns, rounds, smoke=False, threads=(1, 2)):
    """Sampling (3 prompts, no KV cache) and the reader's training step at 1 and 2 threads, alternated."""
    from course import glyph_reader
    torch.manual_seed(0)
    model = ns["CursiveGPT"](ns["GPTConfig"](n_layer=1 if smoke else 5, block_size=320))
    n_tok = 8 if smoke else 160
    images, texts = glyph_reader.make_pool(ns["train_words"][:64], lambda p, rng: p, 64, seed=0)
    reader = glyph_reader.GlyphReader(width=24)
    jobs = {f"sample 3 prompts x {n_tok} tokens (5 layers), ms": lambda: ns["sample"](
                model, ["hello world", "ink pen", "tiny gpt"], 0.5, max_tokens=n_tok, seed=0),
            "reader: 10 training steps of batch 32, ms": lambda: glyph_reader.train_reader(
                reader, images, texts, 2 if smoke else 10)}
    for name, job in jobs.items():
        got = {t: [] for t in threads}
        for _ in range(rounds):
            for t in threads:
                torch.set_num_threads(t)
                t0 = time.perf_counter()
                job()
                got[t].append(1000 * (time.perf_counter() - t0))
        torch.set_num_threads(1)
        print(f"{name}: " + ", ".join(f"{t} thread(s) median {statistics.median(got[t]):.0f}" for t in threads))


def race_attention(ns, n_layer, block, batch, max_words, rounds, steps_per_round):
    """Training steps on the student's attention (the reference solution, as the notebook ran it before
    course.fast_attention) and on what `fast_attention.pick` gives training now (torch's fused attention,
    `outputs_only`, since 9f1c6e8), alternated, one thread: CPU ms per step and how far the two
    trainings' losses drift apart (rounding only: bit-identical before 9f1c6e8)."""
    import types
    from course import fast_attention
    torch.set_num_threads(1)
    batches, _ = make_batches(ns, steps_per_round, batch, max_words, block)
    plain = types.SimpleNamespace(pick=lambda fn, weights=True: fn)
    kinds = {"student's attention": plain, "fast path": fast_attention}
    steps = {name: stepper(ns, n_layer, block) for name in kinds}
    cpu = {name: [] for name in kinds}
    losses = {name: [] for name in kinds}
    for _ in range(rounds):
        for name, mod in kinds.items():
            ns["fast_attention"] = mod
            c0 = time.process_time()
            losses[name] += [steps[name](xb) for xb in batches]
            cpu[name].append(1000 * (time.process_time() - c0) / len(batches))
    ns["fast_attention"] = fast_attention
    print(f"{n_layer} layers, block {block}, batch {batch}, one thread, {rounds} rounds of {steps_per_round} steps:")
    for name in kinds:
        print(f"  {name:20s} CPU ms per step median {statistics.median(cpu[name]):6.1f} (rounds {[round(v) for v in cpu[name]]})")
    a, b = losses.values()
    drift = max(abs(x - y) / abs(x) for x, y in zip(a, b))
    print(f"  {len(a)} training losses: bit for bit {a == b}, largest relative difference {drift:.1e}")


def profile(ns, n_layer, block, batch, max_words, threads=1):
    from torch.profiler import ProfilerActivity, profile as tprofile
    torch.set_num_threads(threads)
    batches, batch_ms = make_batches(ns, 3, batch, max_words, block)
    step = stepper(ns, n_layer, block)
    step(batches[0])
    with tprofile(activities=[ProfilerActivity.CPU]) as prof:
        for xb in batches:
            step(xb)
    print(f"make_batch {1000 * batch_ms:.1f} ms per batch")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, nargs="+", default=[5, 3])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--steps", type=int, default=6, help="steps per round")
    p.add_argument("--max-words", type=int, default=2)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--attention", action="store_true", help="student's attention vs course.fast_attention")
    a = p.parse_args(argv)
    ns = notebook(60 if a.smoke else 300)
    block, batch = (64, 4) if a.smoke else (320, 16)
    if a.attention:
        race_attention(ns, a.layers[0], block, batch, a.max_words, 1 if a.smoke else a.rounds, 2 if a.smoke else a.steps)
        return
    if a.profile:
        profile(ns, a.layers[0], block, batch, a.max_words)
        return
    for n_layer in ([1] if a.smoke else a.layers):
        race_threads(ns, n_layer, block, batch, a.max_words, 1 if a.smoke else a.rounds, 2 if a.smoke else a.steps)
    race_other(ns, 1 if a.smoke else 2, a.smoke)


if __name__ == "__main__":
    main()
