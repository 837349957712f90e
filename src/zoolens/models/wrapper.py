"""The one model wrapper every reference resolves to.

A :class:`WrappedModel` takes images in [0,1] pixel space at the model's native
resolution and returns logits: normalization (mean/std) lives *inside* the wrapper,
so attacks and caches never touch normalized tensors. It carries the model's
preprocessing config (timm ``pretrained_cfg`` semantics) and a re-initializer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from zoolens.data.preprocess import PreprocessConfig
from zoolens.errors import ZoolensError
from zoolens.models.reinit import Reinitializer


class WrappedModel(nn.Module):
    """A classifier taking [0,1] images of shape (B, C, H, W) at its native size.

    Attributes
    ----------
    net:
        The underlying ``nn.Module`` (parameter paths in layer names are relative to it).
    name:
        The reference it was loaded from (e.g. ``timm:resnet18@init:0``).
    preprocess:
        Its :class:`PreprocessConfig` (input size, resize, crop, mean, std).
    num_classes:
        Number of output logits.
    reinitializer:
        Draws fresh parameters for any module from the architecture's own initializer.
    """

    def __init__(self, net: nn.Module, *, name: str, preprocess: PreprocessConfig, num_classes: int,
                 reinitializer: Reinitializer | None = None, info: dict[str, Any] | None = None):
        super().__init__()
        self.net = net
        self.name = name
        self.preprocess = preprocess
        self.num_classes = int(num_classes)
        self.reinitializer = reinitializer
        self.info = dict(info or {})
        c = preprocess.input_size[0]
        mean = torch.tensor(_per_channel(preprocess.mean, c), dtype=torch.float32).view(1, c, 1, 1)
        std = torch.tensor(_per_channel(preprocess.std, c), dtype=torch.float32).view(1, c, 1, 1)
        # Buffers so .to(device) moves them; non-persistent so state_dict == net's state_dict.
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    @property
    def input_size(self) -> tuple[int, int, int]:
        return self.preprocess.input_size

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        return self.net(self.normalize(x))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, input_size={self.input_size}, num_classes={self.num_classes}"


def infer_num_classes(net: nn.Module, preprocess: PreprocessConfig) -> int:
    """``net.num_classes`` when it has one, else the width of its output on one blank image."""
    if isinstance(getattr(net, "num_classes", None), int):
        return net.num_classes
    with torch.no_grad():
        out = net.eval()(torch.zeros(1, *preprocess.input_size))
    return int(out.shape[-1])


def _per_channel(values: tuple[float, ...], channels: int) -> list[float]:
    values = list(values)
    if len(values) == channels:
        return values
    if len(values) == 1:
        return values * channels
    if channels == 1:  # e.g. ImageNet stats on a grayscale model: use the mean of the three
        return [sum(values) / len(values)]
    raise ZoolensError(f"{len(values)} normalization values (mean/std) for a {channels}-channel model",
                       "give one mean and one std per input channel, or a single value for all")


@dataclass
class ModelSpec:
    """Everything needed to (re)build a model: used by loaders and the zoo."""

    build: Callable[[], nn.Module]
    preprocess: PreprocessConfig
    num_classes: int
    info: dict[str, Any] = field(default_factory=dict)
