"""Real Atari games for 11_atari_saliency and 12_finite_state: Pong frames as the papers saw them,
and the course's own recurrent Pong agent, trained by `make pretrain` (tools/pretrain_pong.py).

Greydanus et al. (2018, arXiv 1711.00138) explain A3C agents trained by baby-a3c on Pong,
Breakout and Space Invaders; Koul et al. (2018, arXiv 1811.12530) quantise the memory of such
agents. Both feed the network the paper's 80x80 frames: the 160x160 playing field (rows 35 to
194 of the 210x160 screen) in grey, halved. The games come from PyPI's `ale-py`, which ships
the ROMs, so nothing is downloaded at run time.

- `preprocess(screens)`: grey screens (..., 210, 160) uint8 -> frames (..., 1, 80, 80) in [0, 1].
- `Games(game, n_envs, seed)`: `n_envs` games stepped together with the interface of
  `course.catch.Catch`: `reset() -> frames`, `step(actions) -> (frames, rewards, done, info)`,
  a finished game restarting by itself; `info['scores']` lists the scores of games that ended.
- `train(settings, ...)`: the A2C of `course.a2c` (its `ActorCritic` and `n_step_loss`) on
  `Games`, resumable from a checkpoint (model, optimiser, frames, log), with a progress bar.
- `play(model, game, steps, seed)`: greedy play from a fixed seed: the score and what was seen.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import a2c, validate

GAMES = ("Pong", "Breakout", "SpaceInvaders")
FRAMES_PER_STEP = 4            # emulator frames per agent step (PongDeterministic-v4's; baby-a3c's Pong-v4
                               # repeats each action for 2-4 frames at random, 3 on average)
SIZE = 80
TOP, BOTTOM = 35, 195          # the playing field's rows on the 210x160 screen (baby-a3c's crop)


def preprocess(screens: np.ndarray) -> np.ndarray:
    """Grey screens (..., 210, 160) uint8 -> float32 frames (..., 1, 80, 80) in [0, 1]: crop the
    playing field (rows 35-194), then average each 2x2 block (the paper's 80x80 input)."""
    screens = np.asarray(screens)
    if screens.shape[-2:] != (210, 160):
        raise ValueError(f"screens must be grey Atari screens (..., 210, 160), got shape {screens.shape}")
    field = screens[..., TOP:BOTTOM, :].astype(np.uint16)      # integer sums: 6x faster than a float mean
    total = field[..., 0::2, 0::2] + field[..., 1::2, 0::2] + field[..., 0::2, 1::2] + field[..., 1::2, 1::2]
    return (total * np.float32(1 / (4 * 255)))[..., None, :, :]


def make_env(game: str = "Pong", seed: int = 0):
    """One ALE game: 4 frames per action and no sticky actions (gym's 'PongDeterministic-v4';
    baby-a3c trained on 'Pong-v4', 2-4 frames at random), the minimal action set, grey screens."""
    validate.one_of("game", game, GAMES)
    import ale_py
    import gymnasium as gym
    gym.register_envs(ale_py)
    env = gym.make(f"ALE/{game}-v5", obs_type="grayscale", frameskip=4, repeat_action_probability=0.0,
                   full_action_space=False)
    env.reset(seed=validate.integer("seed", seed, 0))
    return env


class Games:
    """`n_envs` games of one Atari title, stepped together by ale-py's threaded vector
    environment (the interface of `catch.Catch`). Its screens are those of `make_env` bit for
    bit (tests/test_atari.py); `threads` emulators run at once (2 on a 2-core laptop)."""

    size = SIZE

    def __init__(self, game: str = "Pong", n_envs: int = 16, seed: int = 0, threads: int = 2):
        validate.one_of("game", game, GAMES)
        from ale_py.vector_env import AtariVectorEnv
        self.game = game
        self.n_envs = validate.positive_int("n_envs", n_envs)
        self.seed = validate.integer("seed", seed, 0)
        self.envs = AtariVectorEnv(
            game.lower() if game != "SpaceInvaders" else "space_invaders", num_envs=n_envs,
            num_threads=validate.positive_int("threads", threads), img_height=210, img_width=160,
            grayscale=True, stack_num=1, frameskip=FRAMES_PER_STEP, maxpool=False, noop_max=0,
            episodic_life=False, use_fire_reset=False, repeat_action_probability=0.0,
            reward_clipping=False, autoreset_mode="SameStep")
        self.n_actions = int(self.envs.single_action_space.n)
        self.scores = np.zeros(n_envs)

    def reset(self) -> np.ndarray:
        screens, _ = self.envs.reset(seed=self.seed)
        self.scores[:] = 0
        return preprocess(screens[:, 0])

    def step(self, actions):
        actions = np.asarray(actions)
        if actions.shape != (self.n_envs,):
            raise ValueError(f"actions must have shape ({self.n_envs},), got {actions.shape}")
        screens, rewards, terminated, truncated, _ = self.envs.step(actions.astype(np.int64))
        done = terminated | truncated
        self.scores += rewards
        finished = [float(x) for x in self.scores[done]]
        self.scores[done] = 0                      # a finished game has restarted (its first screen is returned)
        return preprocess(screens[:, 0]), rewards.astype(np.float32), done, {"scores": finished}

    def close(self) -> None:
        self.envs.close()


@dataclass(frozen=True)
class Settings:
    """The Pong agent's training settings (`make pretrain`): baby-a3c's losses and clip, synchronous."""

    game: str = "Pong"
    frames: int = 20_000_000        # emulator frames (4 per agent step), the budget of the whole run
    n_envs: int = 16
    n_step: int = 5                 # OpenAI baselines' A2C: 4x the updates per frame of baby-a3c's 20 (neither had
                                    # learned by 1.6 M / 3.0 M frames in this course's first sittings)
    lr: float = 5e-4
    gamma: float = 0.99
    entropy_coef: float = 0.01
    value_coef: float = 0.5
    max_grad_norm: float = 0.5      # baselines' A2C clip (baby-a3c's 40 let the first run collapse, see PongAgent)
    hidden: int = 256               # baby-a3c's GRU width
    seed: int = 0

    def __post_init__(self):
        validate.one_of("game", self.game, GAMES)
        for name in ("frames", "n_envs", "n_step", "hidden"):
            validate.positive_int(name, getattr(self, name))
        validate.positive("lr", self.lr)
        validate.number("gamma", self.gamma, 0, 1)
        validate.positive("max_grad_norm", self.max_grad_norm)
        validate.integer("seed", self.seed, 0)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class PongAgent(a2c.ActorCritic):
    """`a2c.ActorCritic` that standardises each frame before its CNN (zero mean, unit spread
    over the frame's pixels), as ikostrikov's pytorch-a3c does for Pong.

    Why: in a Pong frame the ball lifts 8 of 6,400 pixels by 0.12 over a flat background, and
    the frame's spread is 0.037; standardised, the ball stands 3.5 spreads out and the paddles
    6.5. The first sitting, on raw [0, 1] frames (baby-a3c's input; Adam 5e-4, clip 40), ran 5.7 M
    emulator frames at -20.8 and ended with a constant policy and a constant value (-1.72)
    whatever the frame. Frames stay the paper's 80x80 in [0, 1] everywhere else (saliency
    perturbs those); only the network sees them standardised.
    """

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.ndim != 4:
            raise ValueError(f"frames must have shape (n, 1, {self.size}, {self.size}), got {tuple(frames.shape)}")
        mean = frames.mean(dim=(1, 2, 3), keepdim=True)
        spread = frames.std(dim=(1, 2, 3), keepdim=True)
        return super().encode((frames - mean) / (spread + 1e-3))


def new_model(settings: Settings, n_actions: int) -> PongAgent:
    torch.manual_seed(settings.seed)
    return PongAgent(n_actions=n_actions, hidden=settings.hidden, size=SIZE)


def save_checkpoint(path: Path, model, optimizer, settings: Settings, frames: int, log: list, seconds: float):
    """Everything a later sitting needs to continue (tensors only: loadable with weights_only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "frames": torch.tensor(frames), "seconds": torch.tensor(seconds)}, tmp)
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps({"settings": settings.as_dict(), "frames": frames,
                                                     "seconds": round(seconds, 1), "log": log}, indent=1) + "\n")


def load_checkpoint(path: Path, settings: Settings, n_actions: int):
    """(model, optimizer, frames, log, seconds) from `path`, or fresh ones when there is none.
    A checkpoint of other settings is refused (say `--out` elsewhere, or delete it)."""
    model = new_model(settings, n_actions)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    path = Path(path)
    if not path.exists():
        return model, optimizer, 0, [], 0.0
    meta = json.loads(path.with_suffix(".json").read_text())
    saved = {k: v for k, v in meta["settings"].items() if k != "frames"}
    wanted = {k: v for k, v in settings.as_dict().items() if k != "frames"}
    if saved != wanted:
        raise ValueError(f"{path} was trained with other settings {saved}; these are {wanted}")
    state = torch.load(path, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return model, optimizer, int(state["frames"]), meta["log"], float(state["seconds"])


def train(settings: Settings | None = None, *, checkpoint: str | Path, every_minutes: float = 5.0,
          stop_after_minutes: float | None = None, progress: bool = True,
          callback: Callable[[list], None] | None = None):
    """A2C on `settings.n_envs` games until `settings.frames` emulator frames, resuming from
    `checkpoint` when it exists and saving it every `every_minutes` (and at the end or stop).

    Returns (model, log): log rows {'frames', 'seconds' (wall), 'cpu_seconds' (all threads), 'score' (mean of the games that ended
    since the last row), 'games', 'entropy'}.
    """
    cfg = settings or Settings()
    games = Games(cfg.game, cfg.n_envs, cfg.seed)
    model, optimizer, frames, log, seconds = load_checkpoint(checkpoint, cfg, games.n_actions)
    # a resumed run starts new games (the emulator state is not saved); seeds move on with the frames
    games.seed = cfg.seed + frames
    gen = torch.Generator().manual_seed(cfg.seed + frames)
    cpu_start = time.process_time() - (log[-1].get("cpu_seconds", 0.0) if log else 0.0)
    obs = torch.as_tensor(games.reset())
    hx, restart = model.initial_state(cfg.n_envs), torch.ones(cfg.n_envs)
    per_update = cfg.n_envs * cfg.n_step * FRAMES_PER_STEP
    start, last_save = time.perf_counter() - seconds, time.perf_counter()
    scores, entropies = [], []
    bar = tqdm(total=cfg.frames, initial=frames, unit="frame", unit_scale=True, desc=f"A2C {cfg.game}",
               disable=not progress, mininterval=1.0)
    while frames < cfg.frames:
        hx = hx.detach()
        logps, values, ents, rewards, alive = [], [], [], [], []
        for _ in range(cfg.n_step):
            hx = hx * (1 - restart)[:, None]
            logits, value, hx = model(obs, hx)
            logp_all = F.log_softmax(logits, dim=-1)
            action = torch.multinomial(logp_all.exp().detach(), 1, generator=gen).squeeze(1)
            screens, r, done, info = games.step(action.numpy())
            logps.append(logp_all.gather(1, action[:, None]).squeeze(1))
            ents.append(-(logp_all.exp() * logp_all).sum(-1))
            values.append(value)
            rewards.append(torch.as_tensor(np.sign(r)))      # rewards clipped to -1, 0, 1 (Pong's already are)
            restart = torch.as_tensor(done, dtype=torch.float32)
            alive.append(1 - restart)
            scores += info["scores"]
            obs = torch.as_tensor(screens)
        with torch.no_grad():
            _, bootstrap, _ = model(obs, hx * (1 - restart)[:, None])
        loss, entropy = a2c.n_step_loss(logps, values, ents, rewards, alive, bootstrap, cfg.gamma,
                                        cfg.value_coef, cfg.entropy_coef)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        frames += per_update
        entropies.append(entropy)
        bar.update(per_update)
        if scores and (len(scores) >= cfg.n_envs or not log):
            log.append({"frames": frames, "seconds": round(time.perf_counter() - start, 1),
                        "cpu_seconds": round(time.process_time() - cpu_start, 1),
                        "score": float(np.mean(scores)), "games": len(scores),
                        "entropy": float(np.mean(entropies))})
            bar.set_postfix(score=f"{log[-1]['score']:+.1f}")
            scores, entropies = [], []
            if callback is not None:
                callback(log)
        now = time.perf_counter()
        out_of_time = stop_after_minutes is not None and now - (start + seconds) > 60 * stop_after_minutes
        if now - last_save > 60 * every_minutes or frames >= cfg.frames or out_of_time:
            save_checkpoint(checkpoint, model, optimizer, cfg, frames, log, now - start)
            last_save = now
        if out_of_time:
            break
    bar.close()
    games.close()
    return model.eval(), log


SHIPPED_AGENT = "pong_agent"


def load_agent(checkpoint: str | Path | None = None) -> a2c.ActorCritic:
    """The course's Pong agent in eval mode: the shipped weights (data/weights/pong_agent.pt,
    provenance in its .json) or, with `checkpoint`, a training checkpoint of `make pretrain`
    (build/pretrain/pong.pt) while a run is still under way."""
    from . import weights
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.exists():
            raise FileNotFoundError(f"no Pong checkpoint at {path} (make pretrain writes build/pretrain/pong.pt)")
        meta = json.loads(path.with_suffix(".json").read_text())
        model = new_model(Settings(**meta["settings"]), n_actions=6)
        model.load_state_dict(torch.load(path, weights_only=True)["model"])
        return model.eval()
    try:
        info = weights.provenance(SHIPPED_AGENT)
    except FileNotFoundError:
        raise FileNotFoundError(f"no Pong agent shipped in {weights.shipped_dir()}: `make pretrain SHIP=1` trains "
                                "and ships it (about 2 hours on 2 cores)") from None
    model = new_model(Settings(**info["settings"]), n_actions=6)
    weights.load_weights(model, SHIPPED_AGENT)
    return model.eval()


@torch.no_grad()
def play(model: a2c.ActorCritic, game: str = "Pong", steps: int = 1000, seed: int = 0,
         keep_frames: bool = False) -> dict:
    """Greedy play of one game from a fixed seed for at most `steps` agent steps (or to its end).

    Deterministic (no sticky actions, arg-max actions): the same weights give the same score.
    Returns {'score', 'steps', 'ended', 'frames' (steps, 1, 80, 80) if keep_frames, 'hidden_in',
    'actions', 'values'}.
    """
    steps = validate.positive_int("steps", steps)
    env = make_env(game, seed)
    screen, _ = env.reset(seed=seed)
    hx = model.initial_state(1)
    score, ended = 0.0, False
    out = {"frames": [], "hidden_in": [], "actions": [], "values": []}
    for t in range(steps):
        frame = torch.as_tensor(preprocess(screen)[None])
        if keep_frames:
            out["frames"].append(frame[0].numpy())
            out["hidden_in"].append(hx[0].numpy().copy())
        logits, value, hx = model(frame, hx)
        action = int(logits.argmax(-1))
        out["actions"].append(action)
        out["values"].append(float(value))
        screen, reward, terminated, truncated, _ = env.step(action)
        score += reward
        if terminated or truncated:
            ended = True
            break
    env.close()
    result = {"score": score, "steps": t + 1, "ended": ended, "actions": np.array(out["actions"]),
              "values": np.array(out["values"])}
    if keep_frames:
        result["frames"], result["hidden_in"] = np.stack(out["frames"]), np.stack(out["hidden_in"])
    return result


EVAL_NOOPS = tuple(range(0, 30, 3))   # no-op starts of the 10 evaluation games (the usual protocol: up to 30)


@torch.no_grad()
def greedy_scores(model: a2c.ActorCritic, noops=EVAL_NOOPS, max_steps: int = 8_000, game: str = "Pong") -> dict:
    """Greedy games played in lockstep (one batched forward pass a step), game i after `noops[i]`
    no-op steps. ALE's Pong is deterministic: without different starts every seed replays one
    game, and a greedy agent can rally for ever (a game then runs to ALE's 27,000-step limit), so
    a game still going after `max_steps` agent steps counts the score it has and is reported
    unfinished. Returns {'scores', 'ended', 'steps'}, one entry per game."""
    noops = [validate.integer("noop start", k, 0) for k in noops]
    if not noops:
        raise ValueError("noops must name at least one game")
    max_steps = validate.positive_int("max_steps", max_steps)
    envs = [make_env(game, 0) for _ in noops]
    screens = []
    for env, k in zip(envs, noops):
        screen, _ = env.reset(seed=0)
        for _ in range(k):
            screen, *_ = env.step(0)                   # action 0 is NOOP in every minimal action set
        screens.append(screen)
    n = len(envs)
    scores, steps, alive = np.zeros(n), np.zeros(n, dtype=int), np.ones(n, dtype=bool)
    hx = model.initial_state(n)
    for _ in range(max_steps):
        frames = torch.as_tensor(preprocess(np.stack(screens)))
        logits, _, hx = model(frames, hx)
        for i in np.flatnonzero(alive):
            screens[i], reward, terminated, truncated, _ = envs[i].step(int(logits[i].argmax()))
            scores[i] += reward
            steps[i] += 1
            alive[i] = not (terminated or truncated)
        if not alive.any():
            break
    for env in envs:
        env.close()
    return {"scores": scores.tolist(), "ended": (~alive).tolist(), "steps": steps.tolist()}


# ---------------------------------------------------------------- where the objects are in a Pong frame
# Grey levels of Pong's screen in ale-py's grayscale palette (measured on real screens): the field, the agent's
# paddle (right, green), the opponent's paddle (left, orange), and the ball and the walls (white). The score
# digits share the paddles' greys, but they sit above row 35: the paper's crop removes them from the input.
PONG_FIELD, PONG_PADDLE, PONG_OPPONENT, PONG_WHITE = 87, 147, 148, 236
PONG_OBJECTS = ("ball", "paddle", "opponent")


def _pong_block_table() -> np.ndarray:
    """(4 * 255 + 1, 3) int: for each sum of a 2x2 block of raw grey levels, how many of its four pixels are the
    agent's paddle, the opponent's paddle and white, or -1 where no mix of the four greys gives that sum. The
    decomposition is unique (tests/test_atari.py), so a pooled frame says which objects each block holds."""
    table = np.full((4 * 255 + 1, 3), -1, dtype=np.int64)
    for paddle in range(5):
        for opponent in range(5 - paddle):
            for white in range(5 - paddle - opponent):
                field = 4 - paddle - opponent - white
                total = field * PONG_FIELD + paddle * PONG_PADDLE + opponent * PONG_OPPONENT + white * PONG_WHITE
                table[total] = (paddle, opponent, white)
    return table


_PONG_BLOCKS = _pong_block_table()


def pong_objects(frames) -> dict:
    """Where the ball, the agent's paddle and the opponent's paddle are in 80x80 Pong frames (`preprocess`'s),
    read from the frames themselves: each pixel of a frame is the mean of a 2x2 block of the screen, and its
    sum over the block says how many of the four pixels were paddle, opponent or white (`_pong_block_table`).
    White pixels in rows 0-78 are the ball (row 79 is half the bottom wall; the top wall is cropped away).

    Args:
        frames: (..., 80, 80) or (..., 1, 80, 80) floats in [0, 1].
    Returns:
        {'ball', 'paddle' (the agent's, right), 'opponent' (left)}: bool arrays (..., 80, 80). A frame of
        another palette (the first screen of a game is one grey) gives empty masks.
    Taught in 11_atari_saliency (the Pong section's localisation cards); 12_finite_state may share it.
    """
    frames = np.asarray(frames)
    if frames.shape[-2:] != (SIZE, SIZE):
        raise ValueError(f"frames must be 80x80 Pong frames (..., 80, 80), got shape {frames.shape}")
    if frames.ndim >= 3 and frames.shape[-3] == 1:
        frames = frames[..., 0, :, :]
    sums = np.rint(frames.astype(np.float64) * 4 * 255).astype(np.int64)
    if sums.min(initial=0) < 0 or sums.max(initial=0) > 4 * 255:
        raise ValueError("frames must hold values in [0, 1] (atari.preprocess's frames)")
    counts = _PONG_BLOCKS[sums]                                     # (..., 80, 80, 3), -1 where unknown
    known = counts[..., 0] >= 0
    ball = known & (counts[..., 2] > 0)
    ball[..., SIZE - 1, :] = False                                  # row 79: the bottom wall
    return {"ball": ball, "paddle": known & (counts[..., 0] > 0), "opponent": known & (counts[..., 1] > 0)}
