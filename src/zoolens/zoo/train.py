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
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoolens.models.reinit import Reinitializer
from zoolens.models.wrapper import PreprocessConfig, WrappedModel
from zoolens.zoo.paper.fetch import sha256_file as file_sha256  # one SHA-256 helper for files
from zoolens.attacks import pgd_attack
from zoolens.zoo.architectures import FAMILIES
from zoolens.zoo.recipes import Recipe

FMNIST_MEAN = (0.2860,)
FMNIST_STD = (0.3530,)
StepCallback = Callable[[int, int, float], None]


# --------------------------------------------------------------------------- building
def build_net(recipe: Recipe) -> nn.Module:
    """An untrained net of the recipe's family and config (the architecture's own init)."""
    kwargs = {k: (tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v)
              for k, v in recipe.arch_kwargs.items()}
    return FAMILIES[recipe.family].build(**kwargs)


def preprocess_for(recipe: Recipe) -> PreprocessConfig:
    hw = FAMILIES[recipe.family].input_hw
    return PreprocessConfig(input_size=(1, hw, hw), interpolation="bilinear", crop_pct=1.0,
                            mean=FMNIST_MEAN, std=FMNIST_STD)


def wrap(net: nn.Module, recipe: Recipe, zoo: str, info: dict | None = None) -> WrappedModel:
    """Wrap ``net`` as ``zoo:ZOO/NAME`` with its preprocessing and an exact re-initializer."""
    return WrappedModel(net, name=f"zoo:{zoo}/{recipe.name}", preprocess=preprocess_for(recipe), num_classes=10,
                        reinitializer=Reinitializer(lambda: build_net(recipe)), info=dict(info or {}))


def resize_to(x: torch.Tensor, hw: int) -> torch.Tensor:
    """Resize [0,1] images to ``hw``×``hw`` the way the evaluation pipeline does (bilinear, no antialias)."""
    if x.shape[-1] == hw and x.shape[-2] == hw:
        return x
    return F.interpolate(x, size=(hw, hw), mode="bilinear", align_corners=False, antialias=False)


# --------------------------------------------------------------------------- data
def load_split(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST ``split`` as (uint8 N×1×28×28, int64 N) tensors."""
    from zoolens.data.sources import load_fashion_mnist

    src = load_fashion_mnist(split)
    x = torch.from_numpy(np.array(src.arrays, dtype=np.uint8, copy=True)).unsqueeze(1)
    y = torch.from_numpy(np.asarray(src.labels, dtype=np.int64))
    return x, y


def _flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random horizontal flip per image, batched."""
    flip = torch.rand(x.shape[0], generator=g) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def _flip_crop(x: torch.Tensor, g: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random horizontal flip + random translation by up to ``pad`` pixels (zero fill), batched."""
    b, _, h, w = x.shape
    flip = torch.rand(b, generator=g) < 0.5
    x = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=g)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=g)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, :]
    return padded[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)


def _strong(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """TrivialAugmentWide + RandomErasing (torchvision v2) per image, on uint8.

    v2 transforms draw from torch's global RNG, so it is forked and seeded from ``g``.
    """
    from torchvision.transforms import v2

    tf = v2.Compose([v2.TrivialAugmentWide(), v2.RandomErasing(p=0.25, value=0)])
    seed = int(torch.randint(0, 2**62, (1,), generator=g))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.stack([tf(img) for img in x])


def _mix(x: torch.Tensor, y: torch.Tensor, g: torch.Generator, recipe: Recipe):
    """Mixup (Zhang et al. 2018) or CutMix (Yun et al. 2019), chosen with p=0.5 per batch."""
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=g)))
    perm = torch.randperm(x.shape[0], generator=g)
    if rng.random() < 0.5:
        lam = float(rng.beta(recipe.mixup_alpha, recipe.mixup_alpha))
        x = lam * x + (1 - lam) * x[perm]
    else:
        lam = float(rng.beta(recipe.cutmix_alpha, recipe.cutmix_alpha))
        h, w = x.shape[-2:]
        ch, cw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
        cy, cx = int(rng.integers(h)), int(rng.integers(w))
        y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
        x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
        x = x.clone()
        x[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1]
        lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)  # exact pasted area
    return x, y, y[perm], lam


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


@dataclass
class TrainResult:
    state: dict[str, torch.Tensor]
    probe_digest: str | None
    steps: int
    wall_time_s: float


# --------------------------------------------------------------------------- training
def train_recipe(recipe: Recipe, data: tuple[torch.Tensor, torch.Tensor] | None = None, *,
                 max_steps: int | None = None, on_step: StepCallback | None = None) -> TrainResult:
    """Train ``recipe`` from scratch on the Fashion-MNIST train split (or ``data``).

    ``max_steps`` stops early (used by the reproducibility test: the learning-rate
    schedule still follows the full recipe). Returns the shipped state (EMA weights
    when ``recipe.ema_decay > 0``), the digest of the raw weights after
    ``recipe.probe_steps`` steps, the number of steps done and the wall time.
    """
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
            raise ValueError(f"unknown optimizer {recipe.optimizer!r}")
        n = x_train.shape[0]
        steps_per_epoch = n // recipe.batch_size  # drop_last: uniform batches for BN
        total = steps_per_epoch * recipe.epochs
        sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(recipe, total))
        ema = plain_state(net) if recipe.ema_decay > 0 else None
        limit = total if max_steps is None else min(total, max_steps)
        probe: str | None = None
        step = 0
        model.train()
        for _epoch in range(recipe.epochs):
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
        state = ema if ema is not None else plain_state(net)
    return TrainResult(state=state, probe_digest=probe, steps=step, wall_time_s=time.perf_counter() - t0)


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


def _train_in_worker(recipe: Recipe, updates, max_steps: int | None) -> TrainResult:
    """Process-pool entry: train one recipe, streaming (name, step, total, loss) to ``updates``."""
    def on_step(step: int, total: int, loss: float) -> None:
        if step % 10 == 0 or step == total:  # every step would flood the queue for nothing
            updates.put((recipe.name, step, total, loss))
    return train_recipe(recipe, max_steps=max_steps, on_step=on_step)


def _train_parallel(recipes: Sequence[Recipe], jobs: int,
                    on_model_start: Callable[[Recipe, int], StepCallback | None] | None,
                    steps_of: Callable[[Recipe], int], max_steps: int | None) -> Iterator[tuple[Recipe, TrainResult]]:
    """Train ``recipes`` in ``jobs`` spawned processes; yield (recipe, result) as each finishes.

    Each worker trains with the recipe's own fixed thread count, so a model's weights
    are bitwise the same as in a sequential run (``tests/zoo/test_train.py``). Spawn, not
    fork: forking a process whose OpenMP pool is running can deadlock the child.
    """
    import multiprocessing as mp
    import queue
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        updates = manager.Queue()
        callbacks: dict[str, StepCallback | None] = {}
        pending = {}
        for r in recipes:
            callbacks[r.name] = on_model_start(r, steps_of(r)) if on_model_start else None
            pending[pool.submit(_train_in_worker, r, updates, max_steps)] = r
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            while True:
                try:
                    name, step, total, loss = updates.get_nowait()
                except queue.Empty:
                    break
                cb = callbacks.get(name)
                if cb is not None:
                    cb(step, total, loss)
            for fut in done:
                yield pending.pop(fut), fut.result()


def write_model(zoo: str, recipe: Recipe, res: TrainResult, out: Path, x_test: torch.Tensor,
                y_test: torch.Tensor) -> dict:
    """Evaluate a trained model, write ``out/weights/NAME.safetensors`` atomically, return its manifest row."""
    from safetensors.torch import save_file

    from zoolens.zoo.architectures import FAMILIES as fams

    net = build_net(recipe)
    net.load_state_dict(res.state)
    model = wrap(net, recipe, zoo)
    acc = evaluate(model, x_test, y_test)
    wpath = out / "weights" / f"{recipe.name}.safetensors"
    tmp = wpath.with_suffix(".tmp")
    # One metadata key only: safetensors keeps metadata in a Rust HashMap whose iteration
    # order is random per process, so two keys would make the file bytes (and SHA-256)
    # differ between otherwise identical runs.
    save_file(res.state, str(tmp), metadata={"zoolens": f"zoo:{zoo}/{recipe.name}"})
    tmp.replace(wpath)
    row = {
        "name": recipe.name,
        "family": recipe.family,
        "method": recipe.method,
        "category": recipe.category,
        "seed": recipe.seed,
        "accuracy": round(acc, 2),
        "params": sum(p.numel() for p in net.parameters()),
        "input_size": list(preprocess_for(recipe).input_size),
        "components": dict(fams[recipe.family].components),
        "weights": f"weights/{recipe.name}.safetensors",
        "sha256": file_sha256(wpath),
        "train_wall_time_s": round(res.wall_time_s, 1),
        "train_steps": res.steps,
        "probe_steps": recipe.probe_steps,
        "probe_sha256": res.probe_digest,
        "torch_version": torch.__version__,
        # CPU kernels differ by instruction set (AVX2 vs AVX-512 reduce in another order), so
        # bitwise equality of retrained weights holds only on the same capability.
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "config": recipe.config(),
    }
    return row


def train_zoo(zoo: str, recipes: Sequence[Recipe], out_dir: str | Path, *, jobs: int = 1,
              max_steps: int | None = None,
              on_model_start: Callable[[Recipe, int], StepCallback | None] | None = None,
              on_model_done: Callable[[Recipe, dict], None] | None = None) -> list[dict]:
    """Train ``recipes``, writing ``weights/NAME.safetensors`` and updating ``manifest.json`` in ``out_dir``.

    ``jobs > 1`` trains that many models at once in separate processes (each with the
    recipe's thread count, so the weights are identical to a sequential run); results
    are evaluated and written by this process as models finish. The manifest is
    rewritten after every model (atomic replace), so an interrupted run keeps every
    finished model; rows of models not retrained are kept. ``max_steps`` stops every
    model early (smoke runs and tests; the manifest records the steps done).
    """
    out = Path(out_dir)
    (out / "weights").mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    rows: dict[str, dict] = {}
    if manifest_path.is_file():
        rows = {r["name"]: r for r in json.loads(manifest_path.read_text())["models"]}
    x_test, y_test = load_split("test")
    from zoolens.zoo.recipes import ZOO_RECIPES

    canonical = {name: i for i, name in enumerate(ZOO_RECIPES.get(zoo, {}))}  # manifest order = recipe order
    data = load_split("train")
    n_train = data[0].shape[0]

    def steps_of(recipe: Recipe) -> int:
        full = (n_train // recipe.batch_size) * recipe.epochs
        return full if max_steps is None else min(full, max_steps)

    def sequential() -> Iterator[tuple[Recipe, TrainResult]]:
        for recipe in recipes:
            cb = on_model_start(recipe, steps_of(recipe)) if on_model_start else None
            yield recipe, train_recipe(recipe, data, max_steps=max_steps, on_step=cb)

    results = sequential() if jobs <= 1 or len(recipes) <= 1 else _train_parallel(recipes, jobs, on_model_start,
                                                                                    steps_of, max_steps)
    done = []
    for recipe, res in results:
        row = write_model(zoo, recipe, res, out, x_test, y_test)
        rows[recipe.name] = row
        done.append(row)
        ordered = sorted(rows.values(), key=lambda r: canonical.get(r["name"], 10**6))
        tmpm = manifest_path.with_suffix(".json.tmp")
        tmpm.write_text(json.dumps({"zoo": zoo, "dataset": "fashion-mnist", "models": ordered}, indent=1) + "\n")
        tmpm.replace(manifest_path)
        if on_model_done:
            on_model_done(recipe, row)
    return done
