"""The ImageNet evaluation sets of both papers, on a local ILSVRC-2012 val folder.

- Criticality (seeds/000, Sec. 3): "a subset of 10,000 random images from the
  ImageNet ILSVRC-2012 challenge validation set".
- SAT (seeds/004, Sec. 4): "we sub-sample 10% ImageNet validation images (i.e.,
  5,000 images)".

Neither paper publishes its draw, so zoolens fixes one: the class-stratified, seeded
subset of :func:`zoolens.data.subset.stratified_subset` (10 resp. 5 images per class
on the 50-per-class val set), seed 0 by default. The val folder must be in synset
sub-folders (``val/n01440764/ILSVRC2012_val_00000293.JPEG``); labels follow timm's
class index — the 1,000 WordNet synsets in sorted order, as in
``timm.data.ImageNetInfo`` — shipped as ``imagenet_synsets.json`` (written from timm
at build time, so no network is needed). Passing the index file explicitly keeps
the labels right even when some synset folders are absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from zoolens.data.sources import open_source
from zoolens.data.subset import stratified_subset
from zoolens.errors import ZoolensError

CLASS_INDEX_PATH = Path(__file__).with_name("imagenet_synsets.json")
CRITICALITY_N = 10_000
SAT_N = 5_000
SUBSET_SIZES = {"criticality": CRITICALITY_N, "sat": SAT_N}


def imagenet_synsets() -> list[str]:
    """The 1,000 synset ids in timm's class-index order (index = label)."""
    return list(json.loads(CLASS_INDEX_PATH.read_text()))


def imagenet_val_source(root: str | Path) -> str:
    """``imagefolder:ROOT::INDEXFILE`` for an ImageNet val folder in synset sub-folders.

    Raises :class:`ZoolensError` when ``root`` is missing or flat (the raw
    ``ILSVRC2012_val_*.JPEG`` tarball layout has no class folders).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ZoolensError(f"ImageNet val folder {root} does not exist",
                           "point it at ILSVRC-2012 val sorted into synset folders (val/n01440764/*.JPEG)")
    synsets = set(imagenet_synsets())
    found = [p.name for p in root.iterdir() if p.is_dir() and p.name in synsets]
    if not found:
        raise ZoolensError(f"{root} has no synset sub-folders (n01440764/ ...)",
                           "sort the val images into one folder per synset (e.g. with the ILSVRC2012 devkit's "
                           "ground truth, or the widely used valprep.sh)")
    return f"imagefolder:{root}::{CLASS_INDEX_PATH}"


def imagenet_subset(root: str | Path, which: str | int = "criticality", seed: int = 0) -> pd.DataFrame:
    """The seeded, class-stratified evaluation subset as a table: ``index``, ``path``, ``label``, ``synset``.

    ``which``: ``"criticality"`` (10,000), ``"sat"`` (5,000) or a number of images.
    ``load_data(imagenet_val_source(root), n=N, seed=seed, model=m)`` draws exactly
    these images (same source, same :func:`stratified_subset`).
    """
    if isinstance(which, str):
        if which not in SUBSET_SIZES:
            raise ZoolensError(f"unknown subset {which!r}", "use criticality, sat or a number of images")
        n = SUBSET_SIZES[which]
    else:
        n = int(which)
    raw = open_source(imagenet_val_source(root))
    idx = stratified_subset(raw.labels, n, seed)
    return pd.DataFrame({"index": idx, "path": [raw.paths[i] for i in idx],
                         "label": raw.labels[idx], "synset": [raw.classes[raw.labels[i]] for i in idx]})
