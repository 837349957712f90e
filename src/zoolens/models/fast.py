"""The fast twin of a wrapped classifier, for attacks and evaluation: eval-mode Conv-BN pairs
folded and channels_last.

It computes the same function as the model up to float rounding (the tests hold logits
and input gradients to it), so a white-box attack or a transfer evaluation may run on
the twin instead of the model. Measured on a 2-core AVX2 CPU (``benchmarks/roofline.py``):
PGD 1.69× torchattack's on the mini zoo's ResNet, 1.14× on a ResNet-50 at 224 (whose plain
forward is already at 68-87 % of the matmul peak). A model that torch.fx cannot trace,
one in training mode, or one without BatchNorm to fold is returned as it is.
"""

from __future__ import annotations

import copy
import weakref
from typing import Any

import torch
from torch import nn

from zoolens.models.folding import fold_conv_bn
from zoolens.models.tracing import trace
from zoolens.models.wrapper import WrappedModel

# model → (its parameters' versions and devices when the twin was built, the twin); in-place
# changes of a parameter bump its version, so a stale twin is never used
_TWINS: "weakref.WeakKeyDictionary[nn.Module, tuple[Any, nn.Module]]" = weakref.WeakKeyDictionary()


class FastTwin(nn.Module):
    """``model``'s function on [0,1] images, with its network folded and in channels_last.

    Parameters are a frozen copy (``requires_grad=False``): only input gradients flow.
    """

    def __init__(self, model: WrappedModel, graph: nn.Module):
        super().__init__()
        self.graph = graph
        self.register_buffer("mean", model.mean.detach().clone(), persistent=False)
        self.register_buffer("std", model.std.detach().clone(), persistent=False)
        self.name, self.num_classes, self.input_size = model.name, model.num_classes, model.input_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return self.graph(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x)


def _state(model: nn.Module) -> tuple:
    return tuple((p._version, p.device, p.dtype) for p in model.parameters())


def fast_twin(model: nn.Module) -> nn.Module:
    """The fast twin of ``model`` (built once per model and weights), or ``model`` itself when
    it is not a :class:`WrappedModel` in eval mode, cannot be traced, or has no Conv-BN pair
    to fold (measured with ``benchmarks/roofline.py``: without one, channels_last alone gained
    0.93-1.16× on ViTs and ConvNeXts, within noise and slower for ViT-S/16 under PGD)."""
    if not isinstance(model, WrappedModel) or model.training:
        return model
    state = _state(model)
    cached = _TWINS.get(model)
    if cached is not None and cached[0] == state:
        return cached[1]
    twin: nn.Module = model
    try:
        net = copy.deepcopy(model.net).eval()
        graph = trace(net)
        folds = fold_conv_bn(graph)
    except Exception:  # noqa: BLE001 — fx raises many error types on untraceable code; the model is exact
        folds = {}
    if folds:
        graph = graph.to(memory_format=torch.channels_last)
        for p in graph.parameters():
            p.requires_grad_(False)
        twin = FastTwin(model, graph).to(next(model.parameters()).device).eval()
    _TWINS[model] = (state, twin)
    return twin


__all__ = ["FastTwin", "fast_twin"]
