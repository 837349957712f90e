"""torch.fx tracing of image classifiers, keeping timm's untraceable modules and functions as leaves."""

from __future__ import annotations

import inspect
from typing import Any

from torch import fx, nn


class Tracer(fx.Tracer):
    """torch.fx tracer that keeps timm's untraceable modules and functions as leaves."""

    def __init__(self) -> None:
        try:
            from timm.layers import get_notrace_functions, get_notrace_modules

            self._leaf_types = tuple(get_notrace_modules())
            autowrap = tuple(get_notrace_functions())
        except ImportError:  # pragma: no cover - timm is a dependency
            self._leaf_types, autowrap = (), ()
        super().__init__(autowrap_functions=autowrap)

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if self._leaf_types and isinstance(m, self._leaf_types):
            return True
        return super().is_leaf_module(m, qualname)


def default_args(net: nn.Module) -> dict[str, Any] | None:
    """Optional forward arguments (e.g. a ViT's ``attn_mask=None, is_causal=False``) traced as constants."""
    params = list(inspect.signature(net.forward).parameters.values())[1:]
    concrete = {p.name: p.default for p in params
                if p.default is not inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD}
    return concrete or None


def trace(net: nn.Module) -> fx.GraphModule:
    """``net`` traced with :class:`Tracer`, optional forward arguments fixed at their defaults."""
    concrete = default_args(net)
    return fx.GraphModule(net, Tracer().trace(net, concrete_args=concrete))


__all__ = ["Tracer", "default_args", "trace"]
