"""Train the course's recurrent Pong agent (`make pretrain`), resumably, and ship it.

    python tools/pretrain_pong.py                       # train (or continue) to the budget
    python tools/pretrain_pong.py --minutes 30          # one sitting of 30 minutes, then stop
    python tools/pretrain_pong.py --evaluate 10         # greedy score over 10 games of the checkpoint
    python tools/pretrain_pong.py --ship                # weights + provenance into data/weights/

The checkpoint (model, optimiser, frames, the log of score against frames and wall time) is
build/pretrain/pong.pt; it is saved every few minutes and a new run continues from it, so a
budget of hours can be spread over sittings. A run continues from the shipped weights
(`--from-shipped`) when build/ is gone: the optimiser then starts afresh, and the provenance
says so. The network is `course.a2c.ActorCritic` (11 and 12 study it); the trainer is
`course.atari.train`. It uses a GPU when there is one.

Taught nowhere: this is plumbing (issue: "one recurrent Pong agent, trained on a laptop CPU").
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course import atari, weights  # noqa: E402

CHECKPOINT = ROOT / "build" / "pretrain" / "pong.pt"
SHIPPED = atari.SHIPPED_AGENT


EVAL_STEPS = 8_000     # a game still rallying after this many agent steps counts as unfinished


def evaluate(model, games: int) -> dict:
    """Greedy play of `games` games with no-op starts spread over 0-29 (ALE Pong is deterministic);
    atari.greedy_scores' result plus the 'noops' label, e.g. '0-27'."""
    noops = [30 * i // games for i in range(games)]
    return {**atari.greedy_scores(model, noops=noops, max_steps=EVAL_STEPS), "noops": f"{noops[0]}-{noops[-1]}"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=atari.Settings.frames, help="budget of emulator frames")
    ap.add_argument("--minutes", type=float, default=None, help="stop this sitting after this many minutes")
    ap.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    ap.add_argument("--every", type=float, default=5.0, help="minutes between checkpoints")
    ap.add_argument("--evaluate", type=int, default=0, help="greedy games (no-op starts) to score after training")
    ap.add_argument("--ship", action="store_true", help="write the weights and provenance into data/weights/")
    ap.add_argument("--from-shipped", action="store_true", help="start from data/weights/pong_agent.pt")
    ap.add_argument("--no-train", action="store_true", help="only evaluate or ship the checkpoint")
    args = ap.parse_args(argv)
    settings = atari.Settings(frames=args.frames)
    torch.set_num_threads(2)      # measured on 2 cores: 43 ms an update at 2 threads, 59 ms at 1 (the emulators run between)
    if args.from_shipped and not args.checkpoint.exists():
        info = weights.provenance(SHIPPED)
        model = atari.new_model(settings, n_actions=6)
        weights.load_weights(model, SHIPPED)
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
        atari.save_checkpoint(args.checkpoint, model, optimizer, settings, info["steps"], info.get("extra", {}).get("log", []),
                              info.get("seconds") or 0.0)
        print(f"continuing from the shipped weights at {info['steps']:,} frames (fresh optimiser)")
    if not args.no_train:
        model, log = atari.train(settings, checkpoint=args.checkpoint, every_minutes=args.every,
                                 stop_after_minutes=args.minutes)
    else:
        model, _, _, log, _ = atari.load_checkpoint(args.checkpoint, settings, n_actions=6)
        model.eval()
    meta = json.loads(args.checkpoint.with_suffix(".json").read_text())
    print(f"{meta['frames']:,} frames in {meta['seconds'] / 60:.1f} min; last log rows:")
    for row in log[-5:]:
        print(f"  {row['frames']:>12,} frames  {row['seconds'] / 60:7.1f} min  score {row['score']:+6.2f} "
              f"({row['games']} games)")
    scores = []
    if args.evaluate:
        start = time.perf_counter()
        result = evaluate(model, args.evaluate)
        scores = result["scores"]
        print(f"greedy score over {len(scores)} games (no-op starts {result['noops']}): mean {np.mean(scores):+.2f} {scores}; "
              f"{sum(result['ended'])} finished, steps {result['steps']} ({time.perf_counter() - start:.0f} s)")
    if args.ship:
        probe = atari.play(model, "Pong", steps=500, seed=0)
        cards = {"greedy score, first 500 steps of seed 0": probe["score"]}
        if scores:
            cards[f"mean greedy score over {len(scores)} games, no-op starts {result['noops']}"] = float(np.mean(scores))
            cards[f"those games finished within {EVAL_STEPS:,} steps"] = int(sum(result["ended"]))
        path = weights.save_weights(model, SHIPPED, notebook="11_atari_saliency",
                                    settings=settings.as_dict(), steps=meta["frames"], extra={"log": meta["log"]},
                                    cards=cards, seconds=meta["seconds"],
                                    note="the course's recurrent A2C Pong agent (make pretrain); steps are emulator frames")
        print(f"shipped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
