"""The adversarial-image cache: one file per (model, attack config, eval set) in the run directory.

Each model is attacked once; every target reads the source's file instead of
re-attacking. Images are stored as ``uint8`` by default (the 1/255 grid an image file
would hold; 4× smaller than fp32 — the benchmark measures the effect on transfer
rates) or ``float32`` with ``--adv-precision fp32``. Files are ``.npz`` with
``images`` (N, C, H, W) and ``image`` (the eval-set image ids, i.e. positions in the
data source) written to a temporary name and renamed, so a killed run never leaves a
half-written cache entry.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from zoolens.runtime.rundir import unit_filename
import zoolens.io as zio


def adv_path(run_path: str | os.PathLike, model: str, attack_key: str, data_fingerprint: str) -> Path:
    """Where the adversarial images of ``model`` under ``attack_key`` on one eval set live."""
    data = hashlib.sha256(data_fingerprint.encode()).hexdigest()[:10]
    return Path(run_path) / "adv" / attack_key / f"{unit_filename(model)}-{data}.npz"


def save_adv(path: str | os.PathLike, image_ids: np.ndarray, images: torch.Tensor) -> None:
    """Atomically write adversarial images (uint8 or float32) and their image ids."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = images.cpu().numpy()
    if arr.dtype not in (np.uint8, np.float32):
        arr = arr.astype(np.float32)
    with zio.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, images=arr, image=np.asarray(image_ids, dtype=np.int64))


def load_adv(path: str | os.PathLike) -> tuple[np.ndarray, torch.Tensor]:
    """Read ``(image_ids, images)`` written by :func:`save_adv`."""
    with np.load(path) as data:
        return data["image"].copy(), torch.from_numpy(data["images"].copy())


__all__ = ["adv_path", "load_adv", "save_adv"]
