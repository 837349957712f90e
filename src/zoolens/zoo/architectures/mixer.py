"""MLP-Mixer (Tolstikhin et al. 2021) for 28×28 inputs: token-mixing and channel-mixing MLPs.

Names follow timm's ``MlpMixer`` (``stem.proj``, ``blocks.N.mlp_tokens.fc1``,
``blocks.N.mlp_channels.fc1``, ``norm``, ``head``).
"""

from __future__ import annotations

import torch
from torch import nn

from zoolens.zoo.architectures.vit import Mlp, PatchEmbed

COMPONENTS = {
    "base_architecture": "MLP-Mixer",
    "hierarchical": "No",
    "stem_layer": "4s4",
    "input_resolution": 28,
    "normalization": "LN",
    "activation": "GeLU",
    "pooling_at_stem": "No",
    "final_pooling": "GAP",
    "self_attention_2d": "No",
    "channel_wise_attention": "No",
    "cw_attention_location": "",
    "depthwise_conv": "No",
    "group_conv": "No",
}


class MixerBlock(nn.Module):
    def __init__(self, dim: int, tokens: int, token_hidden: int, channel_hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.mlp_tokens = Mlp(tokens, token_hidden)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp_channels = Mlp(dim, channel_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class MiniMixer(nn.Module):
    """Patchify (``patch``×``patch``, stride ``patch``) → ``depth`` Mixer blocks → LN → token GAP → ``head``."""

    def __init__(self, img_size: int = 28, patch: int = 4, dim: int = 64, depth: int = 4, token_hidden: int = 64,
                 channel_hidden: int = 128, in_chans: int = 1, num_classes: int = 10):
        super().__init__()
        self.stem = PatchEmbed(img_size, patch, in_chans, dim)
        n = self.stem.num_patches
        self.blocks = nn.Sequential(*[MixerBlock(dim, n, token_hidden, channel_hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        # timm Mixer init: Xavier-uniform linears with N(0, 1e-6) biases, zero head.
        for name, m in self.named_modules():
            if isinstance(m, nn.Linear):
                if name == "head":
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
                else:
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.blocks(self.stem(x)))
        return self.head(x.mean(dim=1))
