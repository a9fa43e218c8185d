"""How fast are the saliency maps of one frame? 11_atari_saliency against the paper's code.

Both sides compute the actor and the critic perturbation maps of one 80x80 frame of the same agent
(11's shipped Catch agent, data/weights/11_catch_agent.pt; the work is the same for any weights), with
the paper's settings (mask sigma 5, blur sigma 3, a score every 5 pixels: 256 masks) and the memory
of the unperturbed rollout. Ours is the notebook's `saliency_maps` (its reference solution of
Exercise 3: all 256 perturbed frames in one batched pass, both maps from it). The original is
`score_frame` of greydanus/visualize_atari's `saliency.py` (MIT), called twice (mode 'actor', then
'critic') as its `make_movie.py` does: one forward pass per mask, the frame re-preprocessed and
re-blurred for each. Unit: ms per frame (both maps).

The original ran on PyTorch 0.2 and SciPy < 1.3. To run it today, this script reads its
`saliency.py` from the checkout and applies, in memory only, three compatibility edits (printed at
start): `scipy.misc.imresize` (removed in SciPy 1.3) becomes a PIL re-implementation of it
(`_imresize` below: bytescale to uint8, PIL resize, as SciPy did); `.data[0]` on a 0-dim tensor
becomes `.item()`; `Variable(..., volatile=True)` is honoured by running the original under
`torch.no_grad()` (what volatile meant). The agent is wrapped in the original's interface,
`model((state, (hx, cx))) -> (critic, actor, (hx, cx))` (our GRU has no cell state `cx`).

Same result: the original scores masks centred at (0, 5, ..., 75) on its own preprocessed frame
(the raw 210x160 frame is our frame scaled up; its `prepro` crops and resizes it back). Our
`saliency_scores` is run with masks at those centres on that same frame, and the two 16 x 16 score
grids are compared: their correlation must exceed 0.95 (the largest difference, relative to the
peak, is printed). They are not equal: the original's mask is a 1-pixel disc blurred by
`gaussian_filter` in reflect mode, so near the frame's edges (where the paddle lies) it is wider
than eq. (1); the blurs of the frame agree (`course.blur` is SciPy's reflect-mode blur). Measured
on the shipped Catch agent: correlation 0.991 (actor) and 0.954 (critic), the same five top cells.

    git clone https://github.com/greydanus/visualize_atari /tmp/orig/visualize_atari   # outside the repo
    OMP_NUM_THREADS=1 python benchmarks/saliency_speed.py --original /tmp/orig/visualize_atari --save
    python benchmarks/saliency_speed.py --smoke       # ours only, one repeat (make test)
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import race  # noqa: E402

sys.path.insert(0, str(race.ROOT))
from tools.nbimport import definitions  # noqa: E402

from course import a2c, weights  # noqa: E402

EDITS = (
    ("from scipy.misc import imresize", "from _saliency_compat import imresize"),
    (".data[0]", ".item()"),
)


def _imresize(arr, size, interp="bilinear", mode=None):
    """scipy.misc.imresize as SciPy <= 1.2 did it: bytescale to uint8, PIL resize, return uint8."""
    from PIL import Image
    a = np.asarray(arr)
    if a.dtype != np.uint8:
        lo, hi = float(a.min()), float(a.max())
        scale = 255.0 / (hi - lo) if hi > lo else 1.0
        a = ((a - lo) * scale).clip(0, 255).round().astype(np.uint8)
    rows, cols = (size[0], size[1]) if not np.isscalar(size) else \
        (int(a.shape[0] * size), int(a.shape[1] * size))
    method = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[interp]
    return np.array(Image.fromarray(a).resize((cols, rows), resample=method))


def load_original(directory: Path) -> types.ModuleType:
    """The original `saliency.py`, with the compatibility edits, as a module."""
    text = (Path(directory) / "saliency.py").read_text()
    for old, new in EDITS:
        if old not in text:
            raise SystemExit(f"{directory}/saliency.py: expected to find {old!r} (another version of the original?)")
        text = text.replace(old, new)
    sys.modules["_saliency_compat"] = types.SimpleNamespace(imresize=_imresize)
    module = types.ModuleType("original_saliency")
    exec(compile(text, str(Path(directory) / "saliency.py"), "exec"), module.__dict__)
    return module


class OriginalInterface(torch.nn.Module):
    """Our agent in the original's calling convention: ((state, (hx, cx))) -> (critic, actor, (hx, cx))."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        state, (hx, cx) = inputs
        logits, value, hx = self.model(state, hx)
        return value[:, None], logits, (hx, cx)


def setting(smoke: bool):
    """The trained Catch agent that 11's FULL run ships (an untrained one with --smoke or when absent)."""
    torch.manual_seed(0)
    model = a2c.ActorCritic().eval()
    if not smoke:
        try:
            weights.load_weights(model, "11_catch_agent")
            print(weights.describe("11_catch_agent"))
        except FileNotFoundError:
            print("no shipped 11_catch_agent: an untrained agent (the work is the same)")
    record = a2c.rollout(model, steps=6, seed=7)
    frame = record["frames"][5, 0, 0]
    hx = record["hidden_in"][5, 0]
    return model, frame, hx


def raw_atari_frame(frame: np.ndarray) -> np.ndarray:
    """A 210x160x3 uint8 frame whose rows 35:195, averaged and resized to 80x80, give back `frame`."""
    raw = np.zeros((210, 160, 3), dtype=np.uint8)
    big = np.kron(frame, np.ones((2, 2)))                          # 80x80 -> 160x160
    raw[35:195] = (255 * big).astype(np.uint8)[..., None]
    return raw


def main(argv=None) -> dict:
    args = race.arguments(__doc__.splitlines()[0], argv)
    nb = definitions("11_atari_saliency")
    model, frame, hx = setting(args.smoke)
    frame_t, hx_t = torch.as_tensor(frame), torch.as_tensor(hx)[None]

    def ours():
        return nb["saliency_maps"](model, frame_t, hx_t, 5.0, 3.0, 5)

    original = same = None
    if args.original is not None:
        print("compatibility edits applied in memory to the original's saliency.py:",
              "; ".join(f"{a!r} -> {b!r}" for a, b in EDITS), "; run under torch.no_grad() (volatile=True)")
        orig = load_original(args.original)
        raw = raw_atari_frame(frame)
        history = {"ins": [raw, raw], "hx": [hx[None]], "cx": [np.zeros_like(hx)[None]]}
        wrapped = OriginalInterface(model).eval()
        captured = {}
        real_imresize = _imresize

        def capture(arr, size, interp="bilinear", mode=None):      # keep the 17x17 score grid before resizing
            if np.shape(arr) == (17, 17):
                captured.setdefault("grids", []).append(np.array(arr))
            return real_imresize(arr, size, interp, mode)
        orig.imresize = capture

        def original():
            captured["grids"] = []
            with torch.no_grad():
                actor = orig.score_frame(wrapped, history, 1, r=5, d=5, interp_func=orig.occlude, mode="actor")
                critic = orig.score_frame(wrapped, history, 1, r=5, d=5, interp_func=orig.occlude, mode="critic")
            return actor, critic, [g[:16, :16] for g in captured["grids"]]

        def same(ours_out, orig_out):
            pre = torch.as_tensor(orig.prepro(raw).reshape(80, 80))
            centres = range(0, 80, 5)
            masks = torch.stack([nb["gaussian_mask"]((i, j), 5.0) for i in centres for j in centres])
            mine = [s.reshape(16, 16).numpy() for s in nb["saliency_scores"](model, pre, hx_t, masks, 3.0)]
            words = []
            for name, a, b in zip(("actor", "critic"), mine, orig_out[2]):
                r = float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
                rel = float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-12))
                top = set(np.argsort(a.ravel())[-5:]) == set(np.argsort(b.ravel())[-5:])
                print(f"  {name}: correlation {r:.4f}, largest difference {rel:.3f} of the original's peak, same 5 top cells: {top}")
                if not r > 0.95:
                    raise AssertionError(f"{name} maps disagree: correlation {r:.3f}, largest difference {rel:.2f} of the peak")
                words.append(f"{name}: correlation {r:.3f}, largest difference {rel:.0%} of the peak")
            return "16x16 grids at the original's centres: " + "; ".join(words)

    record = race.race("11_saliency", "11 saliency, actor and critic maps of one 80x80 frame", ours, original,
                       same, repeats=args.repeats, threads=args.threads, unit="ms", scale=1000.0)
    return race.report(record, save=args.save)


if __name__ == "__main__":
    main()
