"""``py:`` model factories that misbehave on purpose, for the red-team tests (tests/test_reliability*.py)."""

from __future__ import annotations

import os

import torch
from torch import nn

CFG = {"input_size": (1, 8, 8), "crop_pct": 1.0, "mean": (0.5,), "std": (0.5,)}


def _linear(seed: int, scale: float = 1.0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale / 4)
    net.pretrained_cfg = CFG
    return net.eval()


def raising():
    """A factory with a bug in it."""
    raise ValueError("factory bug: weights dict has no key 'fc'")


def nan_outputs():
    """The *unmodified* model gives NaN logits for every image."""
    net = _linear(0)
    with torch.no_grad():
        net[3].bias.fill_(float("nan"))
    return net


def _sleepy(seed: int) -> nn.Module:
    from tests.factories import _Slow, digits_features

    # a real digits classifier (~90%), so SAT has something to measure; ZOOLENS_TEST_DELAY slows it
    # down in the process a fault test interrupts, and only there
    m = _Slow(digits_features(seed), float(os.environ.get("ZOOLENS_TEST_DELAY", "0")))
    m.pretrained_cfg = CFG
    return m.eval()


def sleepy_a():
    return _sleepy(1)


def sleepy_b():
    return _sleepy(2)
