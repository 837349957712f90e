"""``load_data``: a seeded subset of a source, preprocessed for a model, cached as uint8."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from zoolens.data.cache import cache_key, entry_dir, load_entry, save_entry
from zoolens.data.preprocess import PreprocessConfig
from zoolens.data.sources import RawSource, open_source
from zoolens.data.subset import stratified_subset
from zoolens.errors import ZoolensError
from zoolens.progress import track

CACHE_VERSION = "1"


@dataclass
class EvalSet:
    """Preprocessed evaluation images in [0,255] uint8, (N, C, H, W), with labels.

    ``indices`` are positions in the source (after the stratified draw, minus any
    unreadable files); ``fingerprint`` identifies source + subset + preprocessing.
    """

    images: torch.Tensor
    labels: torch.Tensor
    indices: np.ndarray
    classes: list[str]
    source: str
    fingerprint: str
    cache_path: Path | None
    n_skipped: int = 0

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def float(self) -> torch.Tensor:
        """Images as float32 in [0,1]."""
        return self.images.float().div_(255.0)


def _config_for(model, raw: RawSource) -> PreprocessConfig | None:
    if model is None:
        return None if raw.arrays is not None else PreprocessConfig()
    if isinstance(model, PreprocessConfig):
        return model
    return model.preprocess


def _is_identity(cfg: PreprocessConfig, raw: RawSource) -> bool:
    # Resizing a H×W image to H×W and center-cropping H×W is the identity in timm's
    # eval transform, so arrays at the native size skip PIL entirely (exactly equal).
    return (raw.arrays is not None and raw.image_size is not None
            and tuple(raw.image_size) == tuple(cfg.input_size[1:]) and cfg.crop_pct == 1.0)


def _transform(cfg: PreprocessConfig):
    from timm.data import create_transform

    return create_transform(input_size=cfg.input_size, interpolation=cfg.interpolation, crop_pct=cfg.crop_pct,
                            crop_mode=cfg.crop_mode, mean=cfg.mean, std=cfg.std, is_training=False, normalize=False)


def _decode(raw: RawSource, idx: np.ndarray, cfg: PreprocessConfig | None, strict: bool, progress: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """Decode + preprocess the chosen images; returns (uint8 N×C×H×W, kept mask)."""
    if cfg is None:  # native size, no model: arrays as they are
        arr = raw.arrays[idx]
        arr = arr[:, None] if arr.ndim == 3 else arr.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(arr), np.ones(len(idx), bool)
    channels = cfg.input_size[0]
    if _is_identity(cfg, raw):
        arr = raw.arrays[idx]
        arr = arr[:, None] if arr.ndim == 3 else arr.transpose(0, 3, 1, 2)
        return _match_channels(np.ascontiguousarray(arr), channels), np.ones(len(idx), bool)
    transform = _transform(cfg)
    out = np.empty((len(idx), channels, *cfg.input_size[1:]), dtype=np.uint8)
    kept = np.ones(len(idx), bool)
    for j, i in enumerate(track(idx, description=f"decoding {raw.name}", enabled=progress)):
        im = raw.get_image(int(i))
        if im is None:
            if strict:
                raise ZoolensError(f"image {raw.paths[int(i)]} is unreadable or corrupt",
                                   "remove or replace the file, or skip unreadable images (strict=False, i.e. without --strict)")
            kept[j] = False
            continue
        im = im.convert("L" if channels == 1 else "RGB")  # grayscale sources expand to RGB here
        t = transform(im)
        arr = np.asarray(t, dtype=np.uint8)
        out[j] = arr if arr.ndim == 3 else arr[None]
    return out[kept], kept


def _match_channels(arr: np.ndarray, channels: int) -> np.ndarray:
    if arr.shape[1] == channels:
        return arr
    if arr.shape[1] == 1:
        return np.repeat(arr, channels, axis=1)
    if channels == 1:  # ITU-R 601-2 luma, as PIL's convert("L")
        w = np.array([299, 587, 114], dtype=np.float64)[None, :, None, None] / 1000
        return np.clip(np.round((arr * w).sum(1, keepdims=True)), 0, 255).astype(np.uint8)
    raise ZoolensError(f"cannot map {arr.shape[1]}-channel images to {channels} channels", "use another source")


def load_data(source: str, n: int | None = None, seed: int = 0, model=None, *, strict: bool = False,
              use_cache: bool = True, progress: bool = False) -> EvalSet:
    """Load a seeded, class-stratified subset of a source, preprocessed for ``model``.

    Parameters
    ----------
    source:
        ``fashion-mnist[:test|train]``, ``digits`` or ``imagefolder:PATH[::CLASS_INDEX]``.
    n:
        Number of images (``None``: all). Stratified by class, seeded.
    seed:
        Seed of the subset draw.
    model:
        A :class:`~zoolens.models.WrappedModel` or :class:`PreprocessConfig`; images
        follow timm's eval transform for it (resize, center crop) and get its number
        of channels. ``None`` keeps array sources at their native size.
    strict:
        Raise on an unreadable image instead of skipping it with a warning.

    Returns
    -------
    EvalSet with uint8 images (N, C, H, W) in [0, 255] — no normalization, which
    belongs to the model wrapper.
    """
    raw = open_source(source)
    idx = stratified_subset(raw.labels, n, seed)
    cfg = _config_for(model, raw)
    prep_key = cfg.cache_key() if cfg is not None else "native"
    subset_key = f"n={'all' if n is None else n},seed={seed}"
    key = cache_key(CACHE_VERSION, raw.fingerprint, subset_key, prep_key)
    fingerprint = f"{raw.fingerprint}/{subset_key}/{prep_key}"
    hit = load_entry(key) if use_cache else None
    if hit is not None:
        images, labels, meta = hit
        kept_idx = np.asarray(meta["indices"], dtype=np.int64)
        n_skipped = int(meta.get("n_skipped", 0))
        if strict and n_skipped:  # the cache remembers what decoding skipped: --strict still fails
            first = meta.get("skipped", ["?"])[0]
            raise ZoolensError(f"{n_skipped} image(s) of {raw.name} are unreadable or corrupt (e.g. {first})",
                               "remove or replace the files, or skip unreadable images (strict=False, i.e. without --strict)")
    else:
        images, kept = _decode(raw, idx, cfg, strict, progress)
        labels = raw.labels[idx][kept]
        kept_idx = idx[kept]
        n_skipped = int((~kept).sum())
        if use_cache:
            skipped = [raw.paths[int(i)] if raw.paths else str(int(i)) for i in idx[~kept][:20]]
            save_entry(key, images, labels, {"source": raw.name, "fingerprint": fingerprint,
                                             "indices": kept_idx.tolist(), "n_skipped": n_skipped,
                                             "skipped": skipped})
            images = load_entry(key)[0]
    if n_skipped:
        warnings.warn(f"skipped {n_skipped} unreadable image(s) in {raw.name} (strict=True, or --strict, makes this an error)",
                      stacklevel=2)
    if len(labels) == 0:
        raise ZoolensError(f"no readable images in {raw.name}", "check the files")
    return EvalSet(images=torch.from_numpy(np.asarray(images)), labels=torch.from_numpy(np.asarray(labels)),
                   indices=kept_idx, classes=raw.classes, source=raw.name, fingerprint=fingerprint,
                   cache_path=entry_dir(key) if use_cache else None, n_skipped=n_skipped)
