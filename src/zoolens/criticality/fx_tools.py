"""torch.fx helpers of the suffix replay: in-place
switches, parameter swaps and how a traced value depends on the batch.

Hand-written for the same reason as :mod:`zoolens.criticality.suffix`: torch.fx gives
the graph, these only decide how values are stored and compared.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import nn


@dataclass
class Kind:
    """How a node's value depends on the batch: ``batch`` (tensor, dim), ``const`` or ``varying``."""

    kind: str
    dim: int = 0


@contextlib.contextmanager
def no_inplace(net: nn.Module) -> Iterator[None]:
    """Temporarily switch modules' ``inplace`` flags off (stored clean values must not be overwritten)."""
    changed = []
    for m in net.modules():
        if getattr(m, "inplace", False) is True:
            changed.append(m)
            m.inplace = False
    try:
        yield
    finally:
        for m in changed:
            m.inplace = True


@contextlib.contextmanager
def swapped_parameters(net: nn.Module, layer: str, params: dict[str, torch.Tensor]) -> Iterator[None]:
    """Temporarily overwrite the direct parameters of ``layer`` in place (restored on exit)."""
    module = net.get_submodule(layer) if layer else net
    own = dict(module.named_parameters(recurse=False))
    saved = {k: own[k].detach().clone() for k in params}
    try:
        with torch.no_grad():
            for k, v in params.items():
                own[k].copy_(v.to(own[k].device, own[k].dtype))
        yield
    finally:
        with torch.no_grad():
            for k, v in saved.items():
                own[k].copy_(v)


def classify(v1: Any, v2: Any) -> Kind:
    if isinstance(v1, torch.Tensor) and isinstance(v2, torch.Tensor):
        if v1.shape == v2.shape:
            return Kind("const")
        diff = [d for d in range(v1.dim()) if v1.shape[d] != v2.shape[d]] if v1.dim() == v2.dim() else []
        if len(diff) == 1 and v2.shape[diff[0]] == 2 * v1.shape[diff[0]]:
            return Kind("batch", diff[0])
        return Kind("varying")
    try:
        same = bool(v1 == v2) if not isinstance(v1, (tuple, list)) else _same_seq(v1, v2)
    except Exception:
        same = False
    return Kind("const" if same else "varying")


def _same_seq(a, b) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and x.shape == y.shape):
                return False
        elif x != y:
            return False
    return True


__all__ = ["Kind", "classify", "no_inplace", "swapped_parameters"]
