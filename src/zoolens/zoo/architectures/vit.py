"""Tiny Vision Transformer (Dosovitskiy et al. 2021) on 32×32 inputs (Fashion-MNIST resized 28→32).

Patch embedding (4×4 conv, stride 4), CLS token, learned position embedding,
pre-norm blocks (LayerNorm, multi-head self-attention, GELU MLP), CLS-token head.
Module names follow timm's ``VisionTransformer`` (``patch_embed.proj``, ``cls_token``,
``pos_embed``, ``blocks.N.attn.qkv``, ``blocks.N.mlp.fc1``, ``norm``, ``head``).
"""

from __future__ import annotations

import torch
from torch import nn

COMPONENTS = {
    "base_architecture": "Transformer",
    "hierarchical": "No",
    "stem_layer": "4s4",
    "input_resolution": 32,
    "normalization": "LN",
    "activation": "GeLU",
    "pooling_at_stem": "No",
    "final_pooling": "CLS token",
    "self_attention_2d": "No",
    "channel_wise_attention": "No",
    "cw_attention_location": "",
    "depthwise_conv": "No",
    "group_conv": "No",
}


class PatchEmbed(nn.Module):
    def __init__(self, img_size: int, patch: int, in_chans: int, dim: int):
        super().__init__()
        self.num_patches = (img_size // patch) ** 2
        self.proj = nn.Conv2d(in_chans, dim, patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # B, N, D


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        # Explicit softmax attention (not SDPA) so the op set is deterministic on every backend.
        attn = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """ViT with ``depth`` blocks of width ``dim``; classifies from the CLS token."""

    def __init__(self, img_size: int = 32, patch: int = 4, dim: int = 64, depth: int = 4, heads: int = 4,
                 mlp_ratio: float = 2.0, in_chans: int = 1, num_classes: int = 10):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch, in_chans, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        # timm ViT init: trunc-normal(.02) pos-embed/linears, N(0, 1e-6) cls token, zero biases.
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])
