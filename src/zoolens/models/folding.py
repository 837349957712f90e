"""Convolution-BatchNorm folding of a traced eval-mode network, redone per reset.

In eval mode ``bn(conv(x)) = conv'(x)`` with ``w' = w·s``, ``b' = (b − μ)·s + β`` and
``s = γ/√(σ² + ε)`` per output channel, so the BatchNorm node can leave the graph and
the network does one pass over each activation less. Resetting a folded layer must
then be folded again: a reset convolution is folded with its (unchanged) BatchNorm,
a reset BatchNorm (``include_norm``) with its (unchanged) convolution.

Hand-written because ``torch.fx.experimental.optimization.fuse`` folds in place and
keeps no record of which convolution absorbed which BatchNorm, which the per-reset
fold needs; the arithmetic is that of ``torch.nn.utils.fusion.fuse_conv_bn_weights``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import fx, nn


@dataclass(frozen=True)
class Fold:
    """One folded pair: the graph keeps ``conv`` (holding the folded weights), ``bn`` is gone."""

    conv: str
    bn: str


def fold_weights(conv_w: torch.Tensor, conv_b: torch.Tensor | None, bn: nn.BatchNorm2d,
                 bn_w: torch.Tensor | None = None, bn_b: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Folded (weight, bias) of ``bn(conv(x))``; ``bn_w``/``bn_b`` override the BatchNorm's own γ/β."""
    mean, var = bn.running_mean, bn.running_var
    gamma = bn_w if bn_w is not None else (bn.weight if bn.weight is not None else torch.ones_like(mean))
    beta = bn_b if bn_b is not None else (bn.bias if bn.bias is not None else torch.zeros_like(mean))
    if conv_b is None:
        conv_b = torch.zeros_like(mean)
    scale = gamma * torch.rsqrt(var + bn.eps)
    w = conv_w * scale.reshape([-1] + [1] * (conv_w.dim() - 1))
    if conv_w.dim() == 4 and conv_w.is_contiguous(memory_format=torch.channels_last):
        w = w.contiguous(memory_format=torch.channels_last)
    return w.detach(), ((conv_b - mean) * scale + beta).detach()


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    # exact types only: subclasses (timm's BatchNormAct2d, frozen/sync variants) do more than normalize
    return (type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d and not bn.training
            and bn.running_mean is not None and bn.running_var is not None
            and bn.num_features == conv.out_channels)


def fold_conv_bn(gm: fx.GraphModule) -> dict[str, Fold]:
    """Fold every ``Conv2d → BatchNorm2d`` pair of ``gm`` whose convolution feeds only the BatchNorm.

    The graph is edited in place: the BatchNorm node is removed and ``gm``'s convolution
    submodule is replaced by a folded copy (the original network's modules are untouched).

    Returns
    -------
    dict
        Layer name → :class:`Fold`, for both the convolution's and the BatchNorm's name.
    """
    modules = dict(gm.named_modules())
    folds: dict[str, Fold] = {}
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or type(modules.get(node.target)) is not nn.BatchNorm2d:
            continue
        src = node.args[0] if node.args else None
        if not (isinstance(src, fx.Node) and src.op == "call_module" and len(src.users) == 1
                and len(node.args) == 1 and not node.kwargs):
            continue
        conv, bn = modules[src.target], modules[node.target]
        if not _foldable(conv, bn):
            continue
        fused = copy.deepcopy(conv)
        with torch.no_grad():
            w, b = fold_weights(conv.weight, conv.bias, bn)
        fused.weight = nn.Parameter(w, requires_grad=False)
        fused.bias = nn.Parameter(b, requires_grad=False)
        parent, _, leaf = src.target.rpartition(".")
        setattr(gm.get_submodule(parent) if parent else gm, leaf, fused)
        modules[src.target] = fused
        node.replace_all_uses_with(src)
        gm.graph.erase_node(node)
        fold = Fold(conv=src.target, bn=node.target)
        folds[fold.conv] = folds[fold.bn] = fold
    if folds:
        gm.graph.lint()
        gm.recompile()
    return folds


def folded_parameters(fold: Fold, layer: str, params: dict[str, torch.Tensor], net: nn.Module
                      ) -> dict[str, torch.Tensor]:
    """The folded convolution's (weight, bias) when ``layer`` of the pair takes ``params``.

    ``net`` is the original (unfolded) network, whose convolution and BatchNorm hold the
    values of the partner that is not reset.
    """
    conv, bn = net.get_submodule(fold.conv), net.get_submodule(fold.bn)
    if layer == fold.conv:
        w, b = fold_weights(params.get("weight", conv.weight), params.get("bias", conv.bias), bn)
    else:
        w, b = fold_weights(conv.weight, conv.bias, bn, params.get("weight"), params.get("bias"))
    return {"weight": w, "bias": b}


__all__ = ["Fold", "fold_conv_bn", "fold_weights", "folded_parameters"]
