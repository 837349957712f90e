"""ResNet-style CNN for 28×28 grayscale images (the ResNet-50 analogue of the criticality study).

Module names follow timm's ``ResNet`` (``conv1``, ``bn1``, ``layer1..layerN`` of
``BasicBlock``s with ``conv1``/``conv2``/``downsample``, ``fc`` head) so paper-style
labels such as ``[0.0] conv``, ``[1.0] conv1``, ``[2.0] downsample``, ``[Head] fc``
can be derived from module paths exactly as for timm's ResNet-50.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

COMPONENTS = {
    "base_architecture": "CNN",
    "hierarchical": "Yes",
    "stem_layer": "3s1",
    "input_resolution": 28,
    "normalization": "BN",
    "activation": "ReLU",
    "pooling_at_stem": "Yes",
    "final_pooling": "GAP",
    "self_attention_2d": "No",
    "channel_wise_attention": "No",
    "cw_attention_location": "",
    "depthwise_conv": "No",
    "group_conv": "No",
}


class BasicBlock(nn.Module):
    """timm/torchvision ``BasicBlock``: two 3×3 convs with BN, identity or 1×1-conv shortcut."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.act2 = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            # timm names the shortcut projection ``downsample`` = Sequential(conv, bn).
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        return self.act2(x + shortcut)


class MiniResNet(nn.Module):
    """Stem (3×3 conv, BN, ReLU, 2×2 max-pool) → stages of BasicBlocks → GAP → ``fc``.

    Parameters
    ----------
    widths, depths:
        Channels and number of blocks per stage; stage ``i > 0`` halves the resolution.
    in_chans, num_classes:
        Input channels (1 for Fashion-MNIST) and output logits.
    """

    def __init__(self, widths: Sequence[int] = (24, 48, 96), depths: Sequence[int] = (1, 1, 1),
                 in_chans: int = 1, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(2)  # "pooling at stem", like ResNet-50's 3×3/2 max-pool
        inplanes = widths[0]
        for i, (w, d) in enumerate(zip(widths, depths)):
            blocks = []
            for j in range(d):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock(inplanes, w, stride))
                inplanes = w
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_stages = len(widths)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # timm ResNet init: Kaiming-normal (fan_out, relu) convs, BN γ=1/β=0, default Linear.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.global_pool(x), 1))
