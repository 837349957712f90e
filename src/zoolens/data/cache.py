"""On-disk cache of preprocessed uint8 image tensors, memory-mapped on read.

Keyed by source fingerprint + subset + preprocessing, so each (data set, model
family preprocessing) pair is decoded once. Writes are atomic (temp file + rename):
an interrupted run never leaves a half-written entry. ``meta.json`` records a
SHA-256 of the image and label arrays; an entry whose bytes no longer match (a
flipped bit on disk) is treated as absent and rebuilt, so the same fingerprint
always means the same pixels.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

import zoolens.io as zio
from zoolens.io import write_text_atomic

# (key, mtime_ns, size) of entries whose checksum this process has verified: hash once per process
_VERIFIED: set[tuple[str, int, int]] = set()


def cache_root() -> Path:
    """``$ZOOLENS_CACHE`` or ``~/.cache/zoolens``."""
    return Path(os.environ.get("ZOOLENS_CACHE") or Path.home() / ".cache" / "zoolens")


def cache_key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def entry_dir(key: str) -> Path:
    return cache_root() / "images" / key


def array_checksum(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 over the raw bytes of both arrays (in 64 MiB slices, so a memmap is never copied whole)."""
    h = hashlib.sha256()
    for arr in (images, labels):
        flat = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
        step = 64 << 20
        for start in range(0, flat.shape[0], step):
            h.update(flat[start:start + step])
    return h.hexdigest()


def read_entry(key: str) -> tuple[np.ndarray, np.ndarray, dict] | None:
    """(images memmap, labels, meta) as stored, without verifying; None when absent or unreadable."""
    d = entry_dir(key)
    try:
        meta = json.loads((d / "meta.json").read_text())
        images = np.load(d / "images.npy", mmap_mode="c")  # copy-on-write: writable tensors, file untouched
        labels = np.load(d / "labels.npy")
    except (OSError, ValueError, json.JSONDecodeError):
        return None
    if images.shape[0] != labels.shape[0] or images.dtype != np.uint8 or not isinstance(meta, dict):
        return None
    return images, labels, meta


def entry_is_sound(key: str, images: np.ndarray, labels: np.ndarray, meta: dict) -> bool:
    """True when the arrays match the checksum recorded in ``meta`` (entries without one are rebuilt)."""
    st = (entry_dir(key) / "images.npy").stat()
    stamp = (key, st.st_mtime_ns, st.st_size)
    if stamp in _VERIFIED:
        return True
    ok = meta.get("sha256") == array_checksum(images, labels)
    if ok:
        _VERIFIED.add(stamp)
    return ok


def load_entry(key: str) -> tuple[np.ndarray, np.ndarray, dict] | None:
    """Return (images memmap, labels, meta), or None when absent, unreadable or failing its checksum."""
    hit = read_entry(key)
    if hit is None:
        return None
    if "sha256" not in hit[2]:
        return None  # written by a zoolens without cache checksums: rebuilt silently, nothing is wrong with it
    if not entry_is_sound(key, *hit):
        import warnings

        warnings.warn(f"image cache entry {entry_dir(key)} fails its checksum; rebuilding it", stacklevel=2)
        return None
    return hit


def _atomic_save(path: Path, array: np.ndarray) -> None:
    with zio.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)


def save_entry(key: str, images: np.ndarray, labels: np.ndarray, meta: dict) -> None:
    """Write an entry; meta.json goes last so a present meta means a complete entry."""
    d = entry_dir(key)
    d.mkdir(parents=True, exist_ok=True)
    images = np.ascontiguousarray(images, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    meta = {**meta, "sha256": array_checksum(images, labels)}
    (d / "meta.json").unlink(missing_ok=True)  # an entry is complete only once its new meta is written
    _atomic_save(d / "images.npy", images)
    _atomic_save(d / "labels.npy", labels)
    write_text_atomic(d / "meta.json", json.dumps(meta, indent=1))
    st = (d / "images.npy").stat()
    _VERIFIED.add((key, st.st_mtime_ns, st.st_size))
