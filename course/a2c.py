"""The recurrent Catch agent of 11_atari_saliency and 12_finite_state, and its A2C treadmill.

Greydanus et al. (2018, arXiv 1711.00138) explain A3C agents (baby-a3c: a CNN, a recurrent
cell, an actor and a critic head); Koul et al. (2018, arXiv 1811.12530) quantise the memory
of the same kind of agent. The course trains that agent on `course.catch` (80x80 frames,
Catch stands in for Atari, whose training takes hours) with synchronous A2C over vectorised
games instead of A3C worker processes. This module is plumbing, like `course.fitting`: the
papers' methods (perturbation saliency, quantised bottlenecks) are written in the notebooks.

API (stable: 11 and 12 both use it)
----------------------------------
- `ActorCritic(n_actions=3, hidden=128, size=80)`: frames (n, 1, size, size) -> conv 4x4 stride 4
  (16 channels, ELU) -> conv 3x3 stride 2 pad 1 (32, ELU) -> conv 3x3 stride 2 pad 1 (32, ELU) ->
  `features(size)` features (800 for 80x80, the paper's 32*5*5) -> GRUCell(hidden) -> actor
  logits (n, n_actions) and critic value (n,). The pieces are separate so a notebook
  can cut in between (12 inserts quantised bottlenecks):
  `encode(frames) -> features`, `memory(features, hx) -> hx'`, `heads(hx) -> (logits, value)`,
  `forward(frames, hx) -> (logits, value, hx')`, `initial_state(n) -> zeros (n, hidden)`.
  The action at step t reads hx_t = GRU(encode(frame_t), hx_{t-1}).
- `Settings(frames=300_000, n_envs=32, n_step=10, lr=5e-4, ...)`: every training setting with
  its default, written once (as `course.mnist1d.Args`); checked when built; `settings.replace(
  frames=...)` gives a changed copy, `settings.as_dict()` the plain dict a checkpoint is keyed on.
- `train(settings=None, *, device, callback, progress, **changes) -> (model, History)`: A2C with
  n-step bootstrapped returns, an entropy bonus, truncated BPTT over the n steps, memory reset
  where a game restarts, on `Settings` (default) with `changes` applied (`train(frames=1000)`).
  History (`course.fitting.History`) logs per `eval_every` updates: 'frames', 'catch_rate' (of
  the sampling policy over that window), 'loss', 'entropy'; `callback(history, model)` runs
  after each log (live plots, checkpoints along the way).
- `policy(model, greedy=True) -> fn(frames, done) -> actions`: a stateful player for
  `course.catch.catch_rate` (resets its memory where `done`).
- `rollout(model, steps, ...) -> dict of arrays`: greedy play recording every frame, the
  memory before and after it, logits, values, actions, rewards, done and the ball / paddle
  positions (saliency needs the unperturbed memory; 12 needs the hidden states).
- `load_or_train(path, settings=None, **changes) -> (model, History)`: the checkpoint at `path`
  (a bare file name goes under build/checkpoints/, git-ignored) if it was trained with the same
  settings, loaded with `torch.load(weights_only=True)`; else train, save, return.
- `AGENT_CHECKPOINT`, `AGENT_SETTINGS`: the Catch agent of 11's FULL run (`AGENT_SETTINGS` is
  `Settings().as_dict()`); 12 gets the same agent (loaded or, when absent, trained) with
  `load_or_train(AGENT_CHECKPOINT, **AGENT_SETTINGS)`.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import catch, validate
from .fitting import History

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "build" / "checkpoints"


def features(size: int = catch.SIZE) -> int:
    """The trunk's output width for (size, size) frames: 32 * 5 * 5 = 800 for 80x80 (as in baby-a3c)."""
    side = (validate.integer("size", size, lo=4) - 4) // 4 + 1      # conv 4x4 stride 4
    for _ in range(2):                                             # two convs 3x3 stride 2 pad 1
        side = (side - 1) // 2 + 1
    return 32 * side * side


FEATURES = features()       # 800


@dataclass(frozen=True)
class Settings:
    """A2C's training settings; the defaults train 11's FULL Catch agent (the one 12 loads).

    The one place the defaults are written: `train`, `load_or_train` and `AGENT_SETTINGS` take
    them from here. Every field is checked when the object is built (`Settings(lr=0)` raises).
    """

    frames: int = 300_000           # total environment frames (n_envs * n_step per update, rounded up)
    n_envs: int = 32                # games played at once
    n_step: int = 10                # steps per update (truncated BPTT length)
    lr: float = 5e-4                # Adam learning rate
    gamma: float = 0.99             # discount
    entropy_coef: float = 0.01      # weight of the entropy bonus
    value_coef: float = 0.5         # weight of the critic's loss
    max_grad_norm: float = 40.0     # gradient-norm clip (baby-a3c's 40)
    hints: str | None = None        # None, 'expert' or 'random' (`course.catch.Catch`)
    drift: int = 0                  # the ball's largest horizontal speed
    seed: int = 0                   # network initialisation, games and action sampling
    hidden: int = 128               # GRU width
    eval_every: int = 50            # log the history every this many updates

    def __post_init__(self):
        validate.positive_int("frames", self.frames)
        validate.positive_int("n_envs", self.n_envs)
        validate.positive_int("n_step", self.n_step)
        validate.positive("lr", self.lr)
        validate.number("gamma", self.gamma, 0, 1)
        validate.number("entropy_coef", self.entropy_coef, lo=0)
        validate.number("value_coef", self.value_coef, lo=0)
        validate.positive("max_grad_norm", self.max_grad_norm)
        validate.one_of("hints", self.hints, (None, "expert", "random"))
        validate.integer("drift", self.drift, 0, 4)
        validate.integer("seed", self.seed, 0)
        validate.positive_int("hidden", self.hidden)
        validate.positive_int("eval_every", self.eval_every)

    def replace(self, **changes) -> "Settings":
        """A copy with `changes` applied; an unknown name raises a ValueError that lists the known ones."""
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise ValueError(f"unknown settings {unknown}; A2C's settings are {names}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """The settings as a plain dict (what a checkpoint is matched on; JSON-serialisable)."""
        return dataclasses.asdict(self)


AGENT_CHECKPOINT = "catch_agent.pt"
AGENT_SETTINGS = Settings().as_dict()


class ActorCritic(nn.Module):
    """CNN + GRU actor-critic for (n, 1, size, size) frames (see the module docstring).

    The first layer is coarse (4x4, stride 4, like DQN's 8x8 stride 4 on 84x84): with
    baby-a3c's four 3x3 stride-2 layers the agent stayed at chance on Catch for 6 minutes
    of CPU training (spec 11, section 5), with this one it learns in a few. Two 3x3
    stride-2 layers follow, so the GRU reads baby-a3c's 800 features (with 3200 the GRU's
    input weights took half of the training time). `size` is the frame side (80 for Catch
    and the paper's preprocessed Atari frames).
    """

    def __init__(self, n_actions: int = 3, hidden: int = 128, size: int = catch.SIZE):
        super().__init__()
        self.n_actions = validate.positive_int("n_actions", n_actions)
        self.hidden = validate.positive_int("hidden", hidden)
        self.size = validate.integer("size", size, lo=4)
        self.conv1 = nn.Conv2d(1, 16, 4, stride=4)                 # 80 -> 20
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)     # 20 -> 10
        self.conv3 = nn.Conv2d(32, 32, 3, stride=2, padding=1)     # 10 -> 5
        self.gru = nn.GRUCell(features(self.size), hidden)
        self.actor = nn.Linear(hidden, n_actions)
        self.critic = nn.Linear(hidden, 1)
        self.to(memory_format=torch.channels_last)   # conv weights in NHWC: oneDNN's convs train ~13 % faster

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames (n, 1, size, size) -> features (n, features(size)), 800 for 80x80."""
        if frames.ndim != 4 or tuple(frames.shape[1:]) != (1, self.size, self.size):
            raise ValueError(f"frames must have shape (n, 1, {self.size}, {self.size}), got {tuple(frames.shape)}")
        x = F.elu(self.conv1(frames.contiguous(memory_format=torch.channels_last)))
        x = F.elu(self.conv2(x))
        x = F.elu(self.conv3(x))
        return x.flatten(1)

    def memory(self, features: torch.Tensor, hx: torch.Tensor) -> torch.Tensor:
        """One GRU step: features (n, 800), memory (n, hidden) -> new memory (n, hidden)."""
        return self.gru(features, hx)

    def heads(self, hx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Memory (n, hidden) -> (actor logits (n, n_actions), critic value (n,))."""
        return self.actor(hx), self.critic(hx).squeeze(-1)

    def forward(self, frames: torch.Tensor, hx: torch.Tensor):
        """One step of the agent: returns (logits, value, new memory)."""
        hx = self.memory(self.encode(frames), hx)
        logits, value = self.heads(hx)
        return logits, value, hx

    def initial_state(self, n: int = 1) -> torch.Tensor:
        """The memory at the start of a game: zeros (n, hidden) on the model's device."""
        return torch.zeros(validate.positive_int("n", n), self.hidden, device=self.actor.weight.device)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _settings(settings: Settings | None, changes: dict) -> Settings:
    if settings is None:
        settings = Settings()
    elif isinstance(settings, dict):
        settings = Settings().replace(**settings)
    elif not isinstance(settings, Settings):
        raise ValueError(f"settings must be an a2c.Settings (or a dict of its fields), got {type(settings).__name__}")
    return settings.replace(**changes) if changes else settings


def n_step_loss(logps, values, ents, rewards, alive, bootstrap, gamma: float, value_coef: float,
                entropy_coef: float):
    """A2C's loss over one n-step rollout (shared by `train` and `course.atari.train`).

    Args (lists over the n steps, each entry (n_envs,)): log pi(a_t|s_t), V(s_t), the policy's
    entropy, the reward r_t, and alive_t (0 where the game ended at step t); `bootstrap` is V of
    the state after the last step.
    Returns:
        (loss, mean entropy): loss = -log pi * A + value_coef * 1/2 (R - V)^2 - entropy_coef * H,
        with R_t = r_t + gamma R_{t+1} (0 past a game's end), R_n = V(s_n), A = R - V (not
        differentiated through the actor's term).
    """
    n_step = len(rewards)
    ret = bootstrap * alive[-1]
    returns = []
    for t in reversed(range(n_step)):                   # R_t = r_t + gamma R_{t+1}, 0 past a game's end
        ret = rewards[t] + gamma * (alive[t] * ret if t < n_step - 1 else ret)
        returns.append(ret)
    returns = torch.stack(returns[::-1])
    values, logps, ents = torch.stack(values), torch.stack(logps), torch.stack(ents)
    adv = returns - values
    loss = -(logps * adv.detach()).mean() + value_coef * 0.5 * adv.pow(2).mean() - entropy_coef * ents.mean()
    return loss, float(ents.mean().detach())


def train(settings: Settings | None = None, *, device: torch.device | str = "cpu",
          callback: Callable[[History, nn.Module], None] | None = None, progress: bool = True,
          **changes):
    """Synchronous A2C on `n_envs` Catch games (the paper trains A3C; same losses).

    Per update: play `n_step` steps in every game with the sampling policy, then
    loss = -log pi(a|s) * A  +  value_coef * 1/2 (R - V)^2  -  entropy_coef * H[pi],
    with R the n-step return bootstrapped from V at the last state (0 after a game ends),
    A = R - V (not differentiated), gradients clipped to `max_grad_norm`, Adam.

    Args:
        settings: a `Settings` (default: `Settings()`, 11's FULL Catch agent) or a dict of its fields.
        device: where the network runs (the games are NumPy).
        callback: `callback(history, model)` after each log (live plots, snapshots of the weights).
        progress: show a progress bar.
        changes: settings to change, e.g. `train(frames=50_000, hints="expert")`.
    Returns:
        (model in eval mode, History with 'frames', 'catch_rate', 'loss', 'entropy').
    """
    cfg = _settings(settings, changes)
    validate.callback(callback, "callback(history, model)")
    frames, n_envs, n_step, lr, gamma = cfg.frames, cfg.n_envs, cfg.n_step, cfg.lr, cfg.gamma
    seed, hidden, eval_every = cfg.seed, cfg.hidden, cfg.eval_every
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = ActorCritic(hidden=hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)   # foreach: the same updates, bit for bit, faster
    env = catch.Catch(n_envs=n_envs, seed=seed, hints=cfg.hints, drift=cfg.drift)
    obs = torch.as_tensor(env.reset(), device=device)
    hx = model.initial_state(n_envs)
    restart = torch.ones(n_envs, device=device)            # 1 where a game has just started
    history, start = History(), time.perf_counter()
    n_updates = -(-frames // (n_envs * n_step))
    caught = finished = 0
    losses, entropies = [], []
    bar = tqdm(range(1, n_updates + 1), desc="A2C", disable=not progress, leave=False, mininterval=0.5)
    for update in bar:
        hx = hx.detach()
        logps, values, ents, rewards, alive = [], [], [], [], []
        for _ in range(n_step):
            hx = hx * (1 - restart)[:, None]                # a new game starts with empty memory
            logits, value, hx = model(obs, hx)
            logp_all = F.log_softmax(logits, dim=-1)
            action = torch.multinomial(logp_all.detach().exp().cpu(), 1, generator=gen).squeeze(1)
            frames_np, r, done, info = env.step(action.numpy())
            logps.append(logp_all.gather(1, action.to(device)[:, None]).squeeze(1))
            ents.append(-(logp_all.exp() * logp_all).sum(-1))
            values.append(value)
            rewards.append(torch.as_tensor(r, device=device))
            restart = torch.as_tensor(done, dtype=torch.float32, device=device)
            alive.append(1 - restart)
            caught += int(info["caught"].sum())
            finished += int(done.sum())
            obs = torch.as_tensor(frames_np, device=device)
        with torch.no_grad():                               # bootstrap from the last state
            _, bootstrap, _ = model(obs, hx * (1 - restart)[:, None])
        loss, entropy = n_step_loss(logps, values, ents, rewards, alive, bootstrap, gamma,
                                    cfg.value_coef, cfg.entropy_coef)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        opt.step()
        losses.append(float(loss.detach()))
        entropies.append(entropy)
        if update % eval_every == 0 or update == n_updates:
            history.add(update * n_envs * n_step, frames=update * n_envs * n_step,
                        catch_rate=caught / max(finished, 1), loss=float(np.mean(losses)),
                        entropy=float(np.mean(entropies)))
            bar.set_postfix(catch=f"{caught / max(finished, 1):.2f}")
            caught = finished = 0
            losses, entropies = [], []
            if callback is not None:
                callback(history, model)
    history.seconds = time.perf_counter() - start
    return model.eval(), history


def policy(model: ActorCritic, greedy: bool = True, seed: int = 0):
    """A player for `catch.catch_rate`: `fn(frames, done) -> actions`, keeping the memory.

    Greedy (arg-max) by default, as in the paper's saliency rollouts; `greedy=False` samples.
    """
    state = {"hx": None}
    gen = torch.Generator().manual_seed(validate.integer("seed", seed, 0))
    device = _device(model)

    @torch.no_grad()
    def act(frames, done):
        frames = torch.as_tensor(np.asarray(frames), dtype=torch.float32, device=device)
        if state["hx"] is None or state["hx"].shape[0] != len(frames):
            state["hx"] = model.initial_state(len(frames))
        keep = 1 - torch.as_tensor(np.asarray(done), dtype=torch.float32, device=device)
        logits, _, state["hx"] = model(frames, state["hx"] * keep[:, None])
        if greedy:
            return logits.argmax(-1).cpu().numpy()
        return torch.multinomial(F.softmax(logits, -1).cpu(), 1, generator=gen).squeeze(1).numpy()

    return act


@torch.no_grad()
def rollout(model: ActorCritic, steps: int, seed: int = 0, hints: str | None = None,
            drift: int = 0, n_envs: int = 1, greedy: bool = True) -> dict:
    """Play `steps` steps of `n_envs` games and record everything (time is the first axis).

    Returns a dict of NumPy arrays:
        'frames' (T, n, 1, 80, 80) the frame the agent saw at step t,
        'hidden_in' (T, n, H) its memory before that frame (zeros at a game's start: the
            recurrent state saliency keeps from the unperturbed rollout),
        'hidden' (T, n, H) its memory after it, 'features' (T, n, 800) the encoded frame,
        'logits' (T, n, A), 'values' (T, n), 'actions' (T, n), 'rewards' (T, n), 'done' (T, n),
        'caught' (T, n), 'ball' (T, n, 2) the ball's (x, y) top-left corner and
        'paddle' (T, n) the paddle's left x, both in the frame at step t.
    """
    steps = validate.positive_int("steps", steps)
    env = catch.Catch(n_envs=n_envs, seed=seed, hints=hints, drift=drift)
    device = _device(model)
    gen = torch.Generator().manual_seed(seed)
    obs, hx = env.reset(), model.initial_state(env.n_envs)
    restart = np.ones(env.n_envs, dtype=bool)
    keys = ("frames", "hidden_in", "hidden", "features", "logits", "values", "actions",
            "rewards", "done", "caught", "ball", "paddle")
    out = {k: [] for k in keys}
    for _ in range(steps):
        hx = hx * torch.as_tensor(~restart, dtype=torch.float32, device=device)[:, None]
        out["frames"].append(obs)
        out["hidden_in"].append(hx.cpu().numpy())
        out["ball"].append(np.stack([env.ball_x, env.ball_y], axis=-1).copy())
        out["paddle"].append(env.paddle_x.copy())
        feats = model.encode(torch.as_tensor(obs, device=device))
        hx = model.memory(feats, hx)
        logits, value = model.heads(hx)
        if greedy:
            action = logits.argmax(-1).cpu()
        else:
            action = torch.multinomial(F.softmax(logits, -1).cpu(), 1, generator=gen).squeeze(1)
        obs, r, restart, info = env.step(action.numpy())
        for k, v in (("hidden", hx), ("features", feats), ("logits", logits), ("values", value)):
            out[k].append(v.cpu().numpy())
        out["actions"].append(action.numpy())
        out["rewards"].append(r)
        out["done"].append(restart)
        out["caught"].append(info["caught"])
    return {k: np.stack(v) for k, v in out.items()}


def _resolve(path) -> Path:
    path = Path(path)
    return CHECKPOINT_DIR / path if path.parent == Path(".") else path


def load_or_train(path, settings: Settings | None = None, *, verbose: bool = True,
                  device: torch.device | str = "cpu", callback=None, progress: bool = True, **changes):
    """The agent trained with `train(settings, **changes)`, from its checkpoint when one matches.

    Args:
        path: checkpoint file; a bare name ('catch_agent.pt') goes under build/checkpoints/.
        settings, changes: as for `train` (the checkpoint is matched on all of them).
        verbose: print whether it was loaded or trained.
        device, callback, progress: as for `train` (not part of the key; callback runs only when training).
    Returns:
        (model in eval mode, History of its training, restored from the file when loaded).
    A checkpoint whose settings differ is retrained and overwritten; files are read with
    `torch.load(weights_only=True)` (tensors and plain containers only).
    """
    path = _resolve(path)
    cfg = _settings(settings, changes)
    key = cfg.as_dict()
    if path.exists():
        ckpt = torch.load(path, map_location=device, weights_only=True)
        if ckpt.get("config") == key:
            model = ActorCritic(hidden=cfg.hidden).to(device)
            model.load_state_dict(ckpt["state_dict"])
            history = History(steps=list(ckpt["history"]["steps"]),
                              metrics={k: list(v) for k, v in ckpt["history"]["metrics"].items()},
                              seconds=float(ckpt["history"]["seconds"]))
            if verbose:
                print(f"loaded {path.name} (trained for {cfg.frames:,} frames in {history.seconds:.0f} s)")
            return model.eval(), history
    model, history = train(cfg, device=device, callback=callback, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": key, "state_dict": model.state_dict(),
                "history": {"steps": history.steps, "metrics": history.metrics, "seconds": history.seconds}},
               path)
    if verbose:
        print(f"trained {path.name}: {cfg.frames:,} frames in {history.seconds:.0f} s, saved to {path}")
    return model, history
