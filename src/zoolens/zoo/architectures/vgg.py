"""Plain VGG-style CNN without skip connections (conv-BN-ReLU stacks, max-pools, MLP head)."""

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
    "pooling_at_stem": "No",
    "final_pooling": "Flatten",  # VGG's flatten + fully-connected head (not in the SAT table)
    "self_attention_2d": "No",
    "channel_wise_attention": "No",
    "cw_attention_location": "",
    "depthwise_conv": "No",
    "group_conv": "No",
}


class MiniVGG(nn.Module):
    """``features`` (stages of 3×3 conv-BN-ReLU, each closed by a 2×2 max-pool) → flatten → ``pre_logits`` → ``head``.

    ``cfg`` lists the conv widths per stage; a 28×28 input leaves 3×3 maps after three stages.
    """

    def __init__(self, cfg: Sequence[Sequence[int]] = ((32,), (48, 48), (96,)), hidden: int = 128,
                 in_chans: int = 1, num_classes: int = 10, input_hw: int = 28):
        super().__init__()
        layers: list[nn.Module] = []
        c, hw = in_chans, input_hw
        for stage in cfg:
            for w in stage:
                layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
                c = w
            layers.append(nn.MaxPool2d(2))
            hw //= 2
        self.features = nn.Sequential(*layers)
        self.pre_logits = nn.Sequential(nn.Linear(c * hw * hw, hidden), nn.ReLU(inplace=True), nn.Dropout(0.2))
        self.head = nn.Linear(hidden, num_classes)
        for m in self.modules():
            # torchvision VGG init: Kaiming-normal convs, N(0, 0.01) linears, zero biases.
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.features(x), 1)
        return self.head(self.pre_logits(x))
