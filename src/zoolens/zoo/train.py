"""Deterministic CPU training of the mini-zoo recipes (``zoolens zoo train``).

Determinism: the net is built under ``torch.manual_seed(seed)``; shuffling, flips,
translations, mixup/cutmix draws, TrivialAugment/RandomErasing and the PGD random
start all come from one ``torch.Generator`` seeded with the recipe's seed;
``torch.use_deterministic_algorithms(True)`` and a fixed thread count
(``recipe.num_threads``) make CPU kernels reduce in a fixed order. The same recipe
on the same software stack therefore reproduces the weights bit for bit.

Training happens *through* the :class:`~zoolens.models.wrapper.WrappedModel`
(normalization inside), on [0,1] images resized exactly like the evaluation
pipeline resizes them (bilinear, ``antialias=False``, ``align_corners=False``), so
adversarial training perturbs pixel space and train/eval preprocessing match.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from zoolens.attacks import pgd_attack
from zoolens.errors import ZoolensError
from zoolens.models.wrapper import WrappedModel
from zoolens.zoo.architectures import FAMILIES
from zoolens.zoo.augment import _flip, _flip_crop, _mix, _strong, load_split, resize_to
from zoolens.zoo.build import build_net, wrap
from zoolens.zoo.recipes import Recipe

StepCallback = Callable[[int, int, float], None]
EpochCallback = Callable[[int, int, dict[str, torch.Tensor]], None]
#: ``targets(x, y) -> labels``: the training labels of one batch (``x``: the [0,1] batch exactly as the
#: student sees it, augmented and resized; ``y``: its true labels). Hard distillation passes the teacher's
#: argmax (:mod:`zoolens.distill.labels`).
TargetFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- helpers
def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over (name, dtype, shape, bytes) of every tensor, in sorted name order."""
    h = hashlib.sha256()
    for k in sorted(state):
        t = state[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def plain_state(net: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies of the state dict (safetensors needs contiguous, channels_last is not)."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}


@contextlib.contextmanager
def deterministic(num_threads: int) -> Iterator[None]:
    """Deterministic algorithms and a fixed intra-op thread count, restored on exit."""
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev_det)
        torch.set_num_threads(prev_threads)


def _lr_lambda(recipe: Recipe, total: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < recipe.warmup_steps:
            return (step + 1) / recipe.warmup_steps
        t = (step - recipe.warmup_steps) / max(1, total - recipe.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
    return f


def _shipped(net: nn.Module, ema: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """A copy of what the model would ship now: the EMA weights when there are any, else the raw ones."""
    return {k: v.clone() for k, v in ema.items()} if ema is not None else plain_state(net)


@dataclass
class TrainResult:
    state: dict[str, torch.Tensor]
    probe_digest: str | None
    steps: int
    wall_time_s: float


# --------------------------------------------------------------------------- training
def train_recipe(recipe: Recipe, data: tuple[torch.Tensor, torch.Tensor] | None = None, *,
                 max_steps: int | None = None, on_step: StepCallback | None = None,
                 on_epoch: EpochCallback | None = None, targets: TargetFn | None = None) -> TrainResult:
    """Train ``recipe`` from scratch on the Fashion-MNIST train split (or ``data``).

    ``max_steps`` stops early (used by the reproducibility test: the learning-rate
    schedule still follows the full recipe). Returns the shipped state (EMA weights
    when ``recipe.ema_decay > 0``), the digest of the raw weights after
    ``recipe.probe_steps`` steps, the number of steps done and the wall time.
    ``on_epoch(epoch, step, state)`` receives a copy of the shipped state at epoch 0 (the
    initialization) and after every complete epoch (epoch checkpoints); it only reads, so
    the weights are bitwise the same with or without it.

    ``targets(x, y)`` replaces each batch's true labels by its own (hard knowledge distillation,
    Hinton et al. 2015; SAT paper Sec. 5.2 and App. E): it receives the batch the loss sees, after
    augmentation and the resize to the recipe's input size, and returns one int64 label per image.
    ``None`` (default) trains on the true labels, with the same code path as before the option
    existed, so the shipped weights do not change. Recipes that mix images or train adversarially
    derive their loss from the true labels and refuse ``targets``.
    """
    if targets is not None and (recipe.mix != "none" or recipe.adv_eps > 0):
        raise ZoolensError(f"recipe {recipe.name} mixes images or trains adversarially, which needs the true "
                           "labels", "train with targets on a recipe with mix='none' and adv_eps=0")
    x_train, y_train = data if data is not None else load_split("train")
    hw = FAMILIES[recipe.family].input_hw
    t0 = time.perf_counter()
    with deterministic(recipe.num_threads):
        torch.manual_seed(recipe.seed)
        net = build_net(recipe)
        model = wrap(net, recipe, "train")
        memory_format = torch.channels_last if recipe.channels_last else torch.contiguous_format
        model = model.to(memory_format=memory_format)
        g = torch.Generator().manual_seed(recipe.seed)
        decay, no_decay = [], []
        for n, p in net.named_parameters():
            # No weight decay on norms, biases, tokens, layer-scale (timm's convention).
            (no_decay if p.ndim <= 1 or n.endswith(("cls_token", "pos_embed")) else decay).append(p)
        groups = [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        if recipe.optimizer == "sgd":
            opt = torch.optim.SGD(groups, lr=recipe.lr, momentum=0.9, nesterov=True)
        elif recipe.optimizer == "adamw":
            opt = torch.optim.AdamW(groups, lr=recipe.lr)
        else:
            raise ZoolensError(f"recipe {recipe.name} names an unknown optimizer {recipe.optimizer!r}",
                               "use optimizer='sgd' or 'adamw'")
        n = x_train.shape[0]
        steps_per_epoch = n // recipe.batch_size  # drop_last: uniform batches for BN
        total = steps_per_epoch * recipe.epochs
        sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(recipe, total))
        ema = plain_state(net) if recipe.ema_decay > 0 else None
        limit = total if max_steps is None else min(total, max_steps)
        probe: str | None = None
        step = 0
        model.train()
        if on_epoch is not None:
            on_epoch(0, 0, _shipped(net, ema))
        for epoch in range(recipe.epochs):
            perm = torch.randperm(n, generator=g)
            for i in range(steps_per_epoch):
                if step >= limit:
                    break
                idx = perm[i * recipe.batch_size:(i + 1) * recipe.batch_size]
                xb, yb = x_train[idx], y_train[idx]
                if recipe.augment == "flip_crop":
                    xb = _flip_crop(xb, g)
                elif recipe.augment in ("flip", "strong"):
                    xb = _flip(xb, g)
                if recipe.augment == "strong":
                    xb = _strong(xb, g)
                xb = resize_to(xb.float().div_(255.0), hw).contiguous(memory_format=memory_format)
                if targets is not None:
                    yb = _checked_labels(targets(xb, yb), yb)
                y2, lam = yb, 1.0
                if recipe.mix == "mixup_cutmix":
                    xb, yb, y2, lam = _mix(xb, yb, g, recipe)
                if recipe.adv_eps > 0:
                    # Craft in eval mode (BN running stats, as at test time), then train in
                    # train mode on the adversarial batch only (Madry et al. 2018).
                    xb = pgd_attack(model, xb, yb, eps=recipe.adv_eps, alpha=recipe.adv_alpha,
                                    steps=recipe.adv_steps, random_start=True, generator=g)
                    model.train()
                logits = model(xb)
                loss = F.cross_entropy(logits, yb, label_smoothing=recipe.label_smoothing)
                if lam < 1.0:
                    loss = lam * loss + (1 - lam) * F.cross_entropy(logits, y2, label_smoothing=recipe.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                if ema is not None:
                    with torch.no_grad():
                        for k, v in net.state_dict().items():
                            if v.dtype.is_floating_point:
                                ema[k].mul_(recipe.ema_decay).add_(v.detach().contiguous(), alpha=1 - recipe.ema_decay)
                            else:
                                ema[k].copy_(v)
                if step == recipe.probe_steps:
                    probe = state_digest(plain_state(net))
                if on_step is not None:
                    on_step(step, limit, float(loss.detach()))
            if on_epoch is not None and step == (epoch + 1) * steps_per_epoch:  # a complete epoch
                on_epoch(epoch + 1, step, _shipped(net, ema))
        state = ema if ema is not None else plain_state(net)
    return TrainResult(state=state, probe_digest=probe, steps=step, wall_time_s=time.perf_counter() - t0)


def _checked_labels(labels: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """The labels a ``targets`` function returned, checked: one int64 class per image of the batch."""
    if not isinstance(labels, torch.Tensor) or labels.shape != true.shape or labels.dtype != torch.int64:
        got = f"{tuple(labels.shape)} {labels.dtype}" if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ZoolensError(f"the training targets of a batch must be {tuple(true.shape)} int64 labels, got {got}",
                           "return one class index per image, e.g. teacher(x).argmax(1)")
    return labels


@torch.no_grad()
def evaluate(model: WrappedModel, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy (%) of ``model`` on uint8 28×28 images, resized to its input size."""
    model.eval()
    hw = model.input_size[-1]
    correct = 0
    for i in range(0, x.shape[0], batch_size):
        xb = resize_to(x[i:i + batch_size].float().div(255.0), hw)
        correct += int((model(xb).argmax(1) == y[i:i + batch_size]).sum())
    return 100.0 * correct / x.shape[0]


__all__ = ["EpochCallback", "StepCallback", "TargetFn", "TrainResult", "deterministic", "evaluate", "plain_state", "state_digest", "train_recipe"]
