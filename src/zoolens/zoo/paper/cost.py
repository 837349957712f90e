"""Compute estimates for reproducing both papers (docs/reproduce.md), from forward FLOPs.

FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` on one image at
each model's input resolution, on an untrained ``timm.create_model(name)`` (no
weights needed). FlopCounterMode counts matmul/conv FLOPs as 2 × MACs.
"""

from __future__ import annotations

import torch

#: Sustained throughput assumed for the estimate: an A100/H100-class GPU running
#: fp32/TF32 inference and PGD at ~100 TFLOP/s effective would be optimistic; we use 50.
ASSUMED_TFLOPS = 50.0


@torch.no_grad()
def forward_flops(arch: str, resolution: int) -> int:
    """Forward FLOPs of ``timm.create_model(arch)`` on one 3×R×R image."""
    import timm
    from torch.utils.flop_counter import FlopCounterMode

    net = timm.create_model(arch, pretrained=False).eval()
    with FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, 3, resolution, resolution))
    return int(counter.get_total_flops())


def criticality_flops(fwd: float, n_layers: int = 54, seeds: int = 3, n_images: int = 10_000) -> float:
    """Criticality: one clean pass plus one pass per (layer, seed), each over ``n_images``."""
    return fwd * (1 + n_layers * seeds) * n_images


def sat_flops(fwd: dict[str, float], n_images: int = 5_000, steps: int = 50) -> float:
    """SAT: PGD on every model (``steps`` × forward+backward ≈ 3 × forward per step) plus
    evaluating every target on every source's adversarials (69² × n_images forwards)."""
    attack = sum(steps * 3 * f * n_images for f in fwd.values())
    transfer = len(fwd) * sum(f * n_images for f in fwd.values())
    return attack + transfer
