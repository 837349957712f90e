"""On-disk cache of preprocessed uint8 image tensors, memory-mapped on read.

Keyed by source fingerprint + subset + preprocessing, so each (data set, model
family preprocessing) pair is decoded once. Writes are atomic (temp file + rename):
an interrupted run never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def cache_root() -> Path:
    """``$ZOOLENS_CACHE`` or ``~/.cache/zoolens``."""
    return Path(os.environ.get("ZOOLENS_CACHE") or Path.home() / ".cache" / "zoolens")


def cache_key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def entry_dir(key: str) -> Path:
    return cache_root() / "images" / key


def load_entry(key: str) -> tuple[np.ndarray, np.ndarray, dict] | None:
    """Return (images memmap, labels, meta) or None when absent or unreadable."""
    d = entry_dir(key)
    try:
        meta = json.loads((d / "meta.json").read_text())
        images = np.load(d / "images.npy", mmap_mode="c")  # copy-on-write: writable tensors, file untouched
        labels = np.load(d / "labels.npy")
    except (OSError, ValueError, json.JSONDecodeError):
        return None
    if images.shape[0] != labels.shape[0] or images.dtype != np.uint8:
        return None
    return images, labels, meta


def _atomic_save(path: Path, array: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_entry(key: str, images: np.ndarray, labels: np.ndarray, meta: dict) -> None:
    """Write an entry; meta.json goes last so a present meta means a complete entry."""
    d = entry_dir(key)
    d.mkdir(parents=True, exist_ok=True)
    _atomic_save(d / "images.npy", np.ascontiguousarray(images, dtype=np.uint8))
    _atomic_save(d / "labels.npy", np.asarray(labels, dtype=np.int64))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".meta.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(meta, fh, indent=1)
    os.replace(tmp, d / "meta.json")
