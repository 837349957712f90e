"""How raw images become model input: :class:`PreprocessConfig` (timm eval-transform semantics).

It lives in ``data`` because the evaluation sets are decoded and cached per config;
the model wrapper (``zoolens.models``) carries one and applies its mean/std.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PreprocessConfig:
    """How raw images become model input (timm ``resolve_data_config`` semantics).

    ``input_size`` is (C, H, W). Eval transform: resize the shorter side to
    ``floor(H / crop_pct)`` with ``interpolation``, center-crop to (H, W).
    ``mean``/``std`` are applied inside the wrapper, never to cached images.
    """

    input_size: tuple[int, int, int] = (3, 224, 224)
    interpolation: str = "bicubic"
    crop_pct: float = 0.875
    crop_mode: str = "center"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD

    def cache_key(self) -> str:
        c, h, w = self.input_size
        return f"{c}x{h}x{w}-{self.interpolation}-crop{self.crop_pct:g}-{self.crop_mode}"

    @classmethod
    def from_timm(cls, cfg: dict[str, Any]) -> "PreprocessConfig":
        return cls(
            input_size=tuple(int(v) for v in cfg.get("input_size", (3, 224, 224))),
            interpolation=str(cfg.get("interpolation", "bicubic")),
            crop_pct=float(cfg.get("crop_pct", 0.875) or 1.0),
            crop_mode=str(cfg.get("crop_mode", "center") or "center"),
            mean=tuple(float(v) for v in cfg.get("mean", IMAGENET_MEAN)),
            std=tuple(float(v) for v in cfg.get("std", IMAGENET_STD)),
        )


__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "PreprocessConfig"]
