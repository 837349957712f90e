"""Tiny ``py:`` models for the tests: deterministic, built in milliseconds, loadable by reference.

Referenced as ``py:tests.factories:NAME`` (criticality, runtime and CLI tests share them).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from zoolens.errors import ZoolensError
from zoolens.models.reinit import Reinitializer
from zoolens.models.wrapper import PreprocessConfig, WrappedModel

BROKEN_MARKER = "ZOOLENS_TEST_BROKEN_MARKER"
CFG = {"input_size": (1, 8, 8), "crop_pct": 1.0, "mean": (0.5,), "std": (0.5,)}


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def tiny_model(seed=0) -> WrappedModel:
    torch.manual_seed(seed)
    net = _Tiny().eval()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-0.1, 0.1)
        net.bn.running_var.uniform_(0.5, 1.5)
    return WrappedModel(net, name="tiny", num_classes=10, reinitializer=Reinitializer(_Tiny),
                        preprocess=PreprocessConfig(input_size=(1, 8, 8), crop_pct=1.0, mean=(0.5,), std=(0.5,)))


def tiny_a():
    m = tiny_model(1).net
    m.pretrained_cfg = {"input_size": (1, 8, 8), "crop_pct": 1.0, "mean": (0.5,), "std": (0.5,)}
    m.zoolens_builder = _Tiny
    return m


def tiny_b():
    m = tiny_model(2).net
    m.pretrained_cfg = {"input_size": (1, 8, 8), "crop_pct": 1.0, "mean": (0.5,), "std": (0.5,)}
    m.zoolens_builder = _Tiny
    return m


class _Slow(nn.Module):
    """A tiny model whose forward sleeps, so a run lasts long enough to be killed mid-way."""

    def __init__(self, inner: nn.Module, delay: float):
        super().__init__()
        self.inner, self.delay = inner, delay

    def forward(self, x):
        time.sleep(self.delay)
        return self.inner(x)


def _tiny(seed: int) -> nn.Module:
    return tiny_model(seed).net


def _slow_delay() -> float:
    # seconds per forward: set (ZOOLENS_TEST_DELAY) only in the process a test kills, so that one lasts long
    # enough to be killed mid-way; the test's own runs of the same models need not wait
    return float(os.environ.get("ZOOLENS_TEST_DELAY", "0"))


def slow_a():
    m = _Slow(_tiny(3), _slow_delay())
    m.pretrained_cfg = CFG
    return m


def slow_b():
    m = _Slow(_tiny(4), _slow_delay())
    m.pretrained_cfg = CFG
    return m


def broken():
    """Stands for a corrupt checkpoint while the marker file named by $ZOOLENS_TEST_BROKEN_MARKER exists."""
    marker = os.environ.get(BROKEN_MARKER)
    if marker and os.path.exists(marker):
        raise ZoolensError("checkpoint /weights/broken.pth is corrupt", "re-download it")
    m = _tiny(5)
    m.pretrained_cfg = CFG
    return m


def _digits_xy():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0 - 0.5) / 0.5, d.target


def _lstsq_head(feats: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # float64 closed form: the same weights in every process (driver or Ray worker, any thread count)
    a = np.hstack([feats, np.ones((len(feats), 1))])
    w, *_ = np.linalg.lstsq(a, np.eye(10)[y] * 10.0, rcond=None)
    return w[:-1].T, w[-1]


def digits_linear():
    """A deterministic linear digits classifier (least squares; ~90% accuracy)."""
    x, y = _digits_xy()
    w, b = _lstsq_head(x, y)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with torch.no_grad():
        net[1].weight.copy_(torch.from_numpy(w).float())
        net[1].bias.copy_(torch.from_numpy(b).float())
    net.pretrained_cfg = CFG
    return net.eval()


def digits_features(seed: int = 7):
    """Random ReLU features + least-squares head: a second, different digits classifier."""
    x, y = _digits_xy()
    g = np.random.default_rng(seed)
    w1 = g.normal(0, 1 / 8, (48, 64))
    h = np.maximum(x @ w1.T, 0)
    w2, b2 = _lstsq_head(h, y)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 48, bias=False), nn.ReLU(), nn.Linear(48, 10))
    with torch.no_grad():
        net[1].weight.copy_(torch.from_numpy(w1).float())
        net[3].weight.copy_(torch.from_numpy(w2).float())
        net[3].bias.copy_(torch.from_numpy(b2).float())
    net.pretrained_cfg = CFG
    return net.eval()


def digits_features2():
    return digits_features(11)


def digits_features3():
    return digits_features(13)


# ---------------------------------------------------------------- criticality helpers
def assert_same_criticality(a: pd.DataFrame, b: pd.DataFrame, atol: float = 1e-5) -> None:
    assert list(a["layer"]) == list(b["layer"]) and list(a["seed"]) == list(b["seed"])
    for col in ("cosine_distance", "top1_agreement", "accuracy", "l1", "l2", "nonfinite"):
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), col
        ok = ~np.isnan(x)
        assert np.abs(x[ok] - y[ok]).max(initial=0) <= atol, (col, np.abs(x[ok] - y[ok]).max())
        # and relative to the signal, so tiny distances are not compared trivially
        assert np.abs(x[ok] - y[ok]).max(initial=0) <= 1e-3 * np.abs(x[ok]).max(initial=0) + 1e-12, col


def timm_small(name: str, size: int, **kw) -> WrappedModel:
    """A 10-class timm model at a small input size, head scaled so outputs are confident
    (at init, softmax outputs are near-uniform and every distance would be ~1e-10)."""
    import functools

    import timm

    from zoolens.models.reinit import build_seeded

    build = functools.partial(timm.create_model, name, num_classes=10, **kw)
    net = build_seeded(build, 0).eval()
    with torch.no_grad():
        net.get_classifier().weight.mul_(200.0)
    return WrappedModel(net, name=f"timm:{name}", num_classes=10, reinitializer=Reinitializer(build),
                        preprocess=PreprocessConfig(input_size=(3, size, size), crop_pct=1.0))
