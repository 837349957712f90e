"""Training data of the mini zoo: Fashion-MNIST splits, the evaluation resize, and the batched augmentations.

Every random draw comes from the ``torch.Generator`` passed in (seeded by the recipe),
so augmentation is part of the bitwise-reproducible training (see :mod:`zoolens.zoo.train`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from zoolens.data.sources import load_fashion_mnist
from zoolens.zoo.recipes import Recipe


def resize_to(x: torch.Tensor, hw: int | tuple[int, int]) -> torch.Tensor:
    """Resize [0,1] images to ``hw``×``hw`` (or ``(h, w)``) the way the evaluation pipeline does
    (bilinear, no antialias)."""
    size = (hw, hw) if isinstance(hw, int) else (int(hw[0]), int(hw[1]))
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=False)


def load_split(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST ``split`` as (uint8 N×1×28×28, int64 N) tensors."""
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


__all__ = ["load_split", "resize_to"]
