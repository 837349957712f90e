"""torch.fx tracing of image classifiers, keeping timm's untraceable modules and functions as leaves."""

from __future__ import annotations

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


__all__ = ["Tracer"]
