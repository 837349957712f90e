"""Shared fixtures: an isolated cache, tiny models and checkpoints made by the tests themselves."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("ZOOLENS_CACHE", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "zoolens"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session writes its preprocessing cache to a private folder."""
    root = tmp_path_factory.getbasetemp() / "zoolens-cache"
    monkeypatch.setenv("ZOOLENS_CACHE", str(root))
    yield


@pytest.fixture(scope="session")
def resnet18_10cls_file(tmp_path_factory):
    """A 10-class timm resnet18 checkpoint (safetensors, with a DDP ``module.`` prefix)."""
    import timm
    from safetensors.torch import save_file

    from zoolens.models.reinit import build_seeded

    net = build_seeded(lambda: timm.create_model("resnet18", num_classes=10), 123)
    path = tmp_path_factory.mktemp("ckpt") / "resnet18_fmnist.safetensors"
    save_file({f"module.{k}": v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path, net
