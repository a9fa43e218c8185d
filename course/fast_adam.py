"""Adam's step and gradient-norm clipping with torch's own kernels, without torch.optim's per-call overhead.

On a small model a training step is short (10_enigma_rnn: an LSTM of 128 units over 20 letters, about 10 ms
on one CPU thread), and torch.optim's Python around the arithmetic is a noticeable share of it:
`Optimizer.step`'s profiler context, hook loops, dynamo guard and state grouping, then one dispatch per op per
parameter, and the same again in `torch.nn.utils.clip_grad_norm_`. Here:

- `step(opt)` is `opt.step()` for a plain `torch.optim.Adam` on CPU tensors: the same update
      m <- lerp(m, g, 1 - beta1),   v <- beta2 v + (1 - beta2) g^2,
      p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
  as torch's multi-tensor path writes it (its `_foreach_` ops, which on the CPU run the default per-tensor
  loop's kernels one tensor after another, with the same scalars), so the parameters and the optimizer state
  come out bit for bit as `opt.step()` leaves them; tests/test_fast_adam.py checks that with torch.equal.
  Anything else (the first step, which builds the state; AMSGrad, weight decay, maximize, capturable,
  differentiable, fused, tensor learning rates, step hooks, parameters without a gradient, non-CPU or complex
  tensors) runs `opt.step()` itself.
- `clip_grad_norm_(parameters, max_norm)` is `torch.nn.utils.clip_grad_norm_(parameters, max_norm)` (the
  2-norm): the norms of all gradients (`_foreach_norm`), their norm, the clamped coefficient
  max_norm / (norm + 1e-6) multiplied in place; the same ops in the same order, so the same bits.

Used by 10_enigma_rnn's `train_decoder` (every Vigenère, Autokey, crack-mode, gap and toy Enigma training).
"""
from __future__ import annotations

import torch
from torch.optim import optimizer as _optimizer

from . import validate

__all__ = ["step", "clip_grad_norm_", "covers"]

_ONE = torch.tensor(1.0)    # the step counters' increment, as torch's multi-tensor Adam adds it on the CPU


def covers(opt) -> bool:
    """True when `step(opt)` takes its own path: a plain torch.optim.Adam whose state exists (after one
    `opt.step()`), every parameter a real CPU tensor with a gradient, no hooks; else `step` calls opt.step()."""
    if type(opt) is not torch.optim.Adam or opt._optimizer_step_pre_hooks or opt._optimizer_step_post_hooks \
            or _optimizer._global_optimizer_pre_hooks or _optimizer._global_optimizer_post_hooks \
            or getattr(opt, "grad_scale", None) is not None or getattr(opt, "found_inf", None) is not None:
        return False
    for group in opt.param_groups:
        if group["amsgrad"] or group["weight_decay"] != 0 or group["maximize"] or group["capturable"] \
                or group["differentiable"] or group["fused"] or not isinstance(group["lr"], float) \
                or not all(isinstance(b, float) for b in group["betas"]):
            return False
        for p in group["params"]:
            g, state = p.grad, opt.state.get(p)
            if g is None or g.is_sparse or not state or "step" not in state or p.device.type != "cpu" \
                    or p.is_complex() or type(p) is not torch.nn.Parameter and type(p) is not torch.Tensor \
                    or type(g) is not torch.Tensor or state["step"].device.type != "cpu":
                return False
    return True


@torch.no_grad()
def _adam_group(opt, group) -> None:
    # torch.optim.adam._multi_tensor_adam for one group of CPU tensors, capturable=False, no weight decay
    params = group["params"]
    states = [opt.state[p] for p in params]
    grads = [p.grad for p in params]
    exp_avgs = [s["exp_avg"] for s in states]
    exp_avg_sqs = [s["exp_avg_sq"] for s in states]
    steps = [s["step"] for s in states]
    beta1, beta2 = group["betas"]
    lr, eps = group["lr"], group["eps"]
    torch._foreach_add_(steps, _ONE, alpha=1.0)
    torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
    counts = [s.item() for s in steps]
    step_size = [(lr / (1 - beta1 ** t)) * -1 for t in counts]
    bias_correction2_sqrt = [(1 - beta2 ** t) ** 0.5 for t in counts]
    denom = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_div_(denom, bias_correction2_sqrt)
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(params, exp_avgs, denom, step_size)


def step(opt) -> None:
    """`opt.step()` for a torch.optim.Adam, bit for bit, with less overhead where `covers(opt)` (else opt.step())."""
    if not isinstance(opt, torch.optim.Optimizer):
        raise ValueError(f"opt must be a torch.optim optimizer (torch.optim.Adam), got {type(opt).__name__}")
    if not covers(opt):
        opt.step()
        return
    for group in opt.param_groups:
        _adam_group(opt, group)
    opt._opt_called = True          # what the LR schedulers' wrapper of opt.step records


@torch.no_grad()
def clip_grad_norm_(parameters, max_norm: float) -> torch.Tensor:
    """torch.nn.utils.clip_grad_norm_(parameters, max_norm) (2-norm), the same ops: returns the total norm."""
    max_norm = validate.positive("max_norm", max_norm)
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads or any(type(g) is not torch.Tensor or g.device != grads[0].device or g.dtype != grads[0].dtype
                        or g.is_sparse for g in grads):
        return torch.nn.utils.clip_grad_norm_(params, max_norm)
    total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
    torch._foreach_mul_(grads, torch.clamp(max_norm / (total_norm + 1e-6), max=1.0))
    return total_norm
