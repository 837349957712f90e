"""ConvNeXt-style CNN (Liu et al. 2022) for 28×28 inputs.

Patchify stem (2×2, stride 2, LayerNorm), stages of ConvNeXt blocks (depthwise
conv, 7×7 as in ConvNeXt; channels-last LayerNorm, inverted-bottleneck MLP with GELU, layer-scale γ),
LN + 2×2/2 conv downsampling between stages, GAP → LN → ``head.fc``. Names follow
timm's ``ConvNeXt`` (``stem``, ``stages.N.downsample``, ``stages.N.blocks.M.conv_dw``,
``...mlp.fc1``, ``...gamma``, ``head.norm``, ``head.fc``).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from zoolens.zoo.architectures.vit import Mlp

COMPONENTS = {
    "base_architecture": "CNN",
    "hierarchical": "Yes",
    "stem_layer": "2s2",
    "input_resolution": 28,
    "normalization": "LN",
    "activation": "GeLU",
    "pooling_at_stem": "No",
    "final_pooling": "GAP",
    "self_attention_2d": "No",
    "channel_wise_attention": "No",
    "cw_attention_location": "",
    "depthwise_conv": "Yes",
    "group_conv": "No",
}


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over channels of an NCHW tensor (timm's ``LayerNorm2d``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, mlp_ratio: int = 4, ls_init: float = 1e-6, kernel_size: int = 7):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim * mlp_ratio)
        self.gamma = nn.Parameter(torch.full((dim,), ls_init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_dw(x).permute(0, 2, 3, 1)  # channels-last for LN and the pointwise MLP
        y = self.mlp(self.norm(y)) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtStage(nn.Module):
    def __init__(self, in_dim: int, dim: int, depth: int, ls_init: float = 1e-6, kernel_size: int = 7):
        super().__init__()
        self.downsample: nn.Module = nn.Identity()
        if in_dim != dim:
            self.downsample = nn.Sequential(LayerNorm2d(in_dim), nn.Conv2d(in_dim, dim, 2, stride=2))
        self.blocks = nn.Sequential(*[ConvNeXtBlock(dim, ls_init=ls_init, kernel_size=kernel_size) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class Head(nn.Module):
    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(x.mean(dim=(2, 3))))


class MiniConvNeXt(nn.Module):
    """ConvNeXt with stage ``widths``/``depths``; 28 → 14 (stem) → 7 → 3."""

    def __init__(self, widths: Sequence[int] = (32, 64), depths: Sequence[int] = (2, 2), in_chans: int = 1,
                 num_classes: int = 10, ls_init: float = 1e-6, kernel_size: int = 7):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_chans, widths[0], 2, stride=2), LayerNorm2d(widths[0]))
        stages, prev = [], widths[0]
        for w, d in zip(widths, depths):
            stages.append(ConvNeXtStage(prev, w, d, ls_init, kernel_size))
            prev = w
        self.stages = nn.Sequential(*stages)
        self.head = Head(prev, num_classes)
        # timm ConvNeXt init: trunc-normal(.02) conv/linear weights, zero biases.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))
