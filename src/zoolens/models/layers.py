"""Discovery of a model's *layers*: parameter-owning modules, in execution order.

A layer (criticality paper, Sec. 3) is a module that owns learnable parameters
directly and is not a normalization layer: Conv*, Linear, attention projections,
patch embeddings, layer-scale gammas, and non-leaf modules that own parameters
themselves (e.g. a ViT's ``cls_token``/``pos_embed``). Normalization layers
(BatchNorm/LayerNorm/GroupNorm and timm's variants) are excluded unless asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from zoolens.errors import ZoolensError

_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)


@dataclass(frozen=True)
class LayerInfo:
    """One layer: its module path (relative to the network), type, direct parameters."""

    name: str
    module_type: str
    param_names: tuple[str, ...]
    n_params: int
    index: int
    is_norm: bool


def is_norm_layer(module: nn.Module) -> bool:
    """BatchNorm/LayerNorm/GroupNorm and look-alikes (timm's ``LayerNorm2d``, ``RmsNorm``, ``BatchNormAct2d``...)."""
    return isinstance(module, _NORM_TYPES) or "norm" in type(module).__name__.lower()


def _owners(net: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in net.named_modules() if any(True for _ in m.parameters(recurse=False))}


def execution_order(net: nn.Module, example: torch.Tensor) -> list[str]:
    """Module paths in the order their forward is entered on ``example`` (pre-hooks).

    Leaf modules appear exactly in execution order; a non-leaf owner appears when its
    forward starts. Owners never called (e.g. unused heads) are appended in
    registration order.
    """
    order: list[str] = []
    seen: set[str] = set()
    handles = []
    names = {id(m): n for n, m in net.named_modules()}

    def hook(module, _inputs):
        n = names[id(module)]
        if n not in seen:
            seen.add(n)
            order.append(n)

    for _, m in net.named_modules():
        handles.append(m.register_forward_pre_hook(hook))
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(example)
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    return order


def discover_layers(net: nn.Module, input_size: tuple[int, int, int] | None = None, *, include_norm: bool = False,
                    pattern: str | None = None) -> list[LayerInfo]:
    """The layers of ``net`` in execution order.

    Parameters
    ----------
    net:
        The network (for a :class:`WrappedModel`, pass ``model.net`` or the wrapper:
        names are then relative to what you pass).
    input_size:
        (C, H, W) of one example, used to trace execution order with a zero image.
        ``None`` keeps registration order.
    include_norm:
        Also list normalization layers (the paper does not reset them).
    pattern:
        Regular expression; keep layers whose module path matches (``re.search``).
    """
    owners = _owners(net)
    if input_size is not None:
        executed = execution_order(net, torch.zeros(1, *input_size))
        ordered = [n for n in executed if n in owners] + [n for n in owners if n not in set(executed)]
    else:
        ordered = list(owners)
    rx = compile_layer_pattern(pattern)
    layers: list[LayerInfo] = []
    for name in ordered:
        m = owners[name]
        norm = is_norm_layer(m)
        if norm and not include_norm:
            continue
        if rx is not None and not rx.search(name):
            continue
        params = dict(m.named_parameters(recurse=False))
        layers.append(LayerInfo(name=name, module_type=type(m).__name__, param_names=tuple(params),
                                n_params=sum(p.numel() for p in params.values()), index=len(layers), is_norm=norm))
    return layers


def compile_layer_pattern(pattern: str | None) -> "re.Pattern[str] | None":
    """The ``--layers`` regular expression, compiled; a bad one is a one-line :class:`ZoolensError`."""
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise ZoolensError(f"layer pattern {pattern!r} (--layers) is not a valid regular expression ({exc})",
                           "write a Python regex on module paths, e.g. 'layer[12]'") from None
