"""Architecture families of the mini zoo and their SAT-style component vectors.

Each family differs from the others along the component axes of the SAT paper's
Table C.2 (base architecture, stem, normalization, activation, pooling, attention,
depthwise convs, input resolution); :data:`FAMILIES` maps a family name to its
constructor, default kwargs, native input size and component vector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from torch import nn

from zoolens.zoo.architectures import convnext, mixer, resnet, vgg, vit

#: The component columns of the SAT paper's Table C.2 (``data/sat69_models.csv``).
COMPONENT_COLUMNS = (
    "base_architecture", "hierarchical", "stem_layer", "input_resolution", "normalization", "activation",
    "pooling_at_stem", "final_pooling", "self_attention_2d", "channel_wise_attention", "cw_attention_location",
    "depthwise_conv", "group_conv",
)


@dataclass(frozen=True)
class Family:
    """One architecture family: how to build it and what it is made of."""

    name: str
    cls: Callable[..., nn.Module]
    components: dict[str, Any]
    input_hw: int
    default_kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self, **kwargs: Any) -> nn.Module:
        return self.cls(**{**self.default_kwargs, **kwargs})


FAMILIES: dict[str, Family] = {
    "resnet": Family("resnet", resnet.MiniResNet, resnet.COMPONENTS, 28),
    "vgg": Family("vgg", vgg.MiniVGG, vgg.COMPONENTS, 28),
    "vit": Family("vit", vit.TinyViT, vit.COMPONENTS, 32, {"img_size": 32}),
    "mixer": Family("mixer", mixer.MiniMixer, mixer.COMPONENTS, 28),
    "convnext": Family("convnext", convnext.MiniConvNeXt, convnext.COMPONENTS, 28),
}

for _f in FAMILIES.values():  # the component vector must cover exactly the paper's columns
    assert tuple(_f.components) == COMPONENT_COLUMNS, _f.name
    assert _f.components["input_resolution"] == _f.input_hw, _f.name

__all__ = ["COMPONENT_COLUMNS", "FAMILIES", "Family"]
