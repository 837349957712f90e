"""Clean logits of a SAT run's models on the run's eval set (for ensembles).

Older SAT runs stored clean *predictions* only (``clean.parquet``); ensembles average
logits, so the analysis loads each model once (``zoolens.load_model``) and evaluates
it on the same eval set (``zoolens.load_data`` with the run's data, n_images and
data_seed). Results are cached in ``DIR/analysis/logits/`` keyed by the eval-set
fingerprint, so re-analysing is free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from zoolens.data import load_data
from zoolens.errors import ZoolensError
from zoolens.inference import batched_logits
from zoolens.models import load_model
from zoolens.progress import track
from zoolens.runtime.rundir import unit_filename


def _cache_file(folder: Path, name: str) -> Path:
    return folder / f"{unit_filename(name)}.npz"


def clean_logits(refs: Mapping[str, str], data: str, n_images: int | None, data_seed: int, cache_dir: Path, *,
                 expected_images: Mapping[str, np.ndarray] | None = None, progress: bool = False,
                 batch_size: int = 256) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Logits of every model on the run's eval set, cached per model.

    Parameters
    ----------
    refs:
        Display name → model reference.
    data, n_images, data_seed:
        The SAT run's eval set.
    cache_dir:
        Folder for the per-model ``.npz`` cache.
    expected_images:
        Per model, the image ids of ``clean.parquet``; a mismatch raises.

    Returns
    -------
    (logits, image_ids, labels)
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, np.ndarray] = {}
    ids_ref = labels_ref = None
    for name in track(list(refs), description="clean logits for ensembles", enabled=progress):
        path = _cache_file(cache_dir, name)
        if path.is_file():
            with np.load(path) as z:
                logits, ids, labels = z["logits"], z["image"], z["label"]
        else:
            model = load_model(refs[name])
            ds = load_data(data, n=n_images, seed=data_seed, model=model)
            logits = batched_logits(model, ds.images, batch_size=batch_size, name=name, check_finite=False).numpy()
            ids, labels = np.asarray(ds.indices, dtype=np.int64), ds.labels.numpy().astype(np.int64)
            tmp = path.with_name(f".{path.name}.tmp.npz")
            np.savez(tmp, logits=logits, image=ids, label=labels)
            tmp.replace(path)
        if expected_images is not None and name in expected_images and \
                not np.array_equal(np.asarray(expected_images[name]), ids):
            raise ZoolensError(f"the eval images of {name} differ from the SAT run's clean.parquet",
                               f"delete {cache_dir} and re-run `zoolens analyze`")
        if ids_ref is None:
            ids_ref, labels_ref = ids, labels
        elif not np.array_equal(ids, ids_ref):
            raise ZoolensError(f"{name} was evaluated on other images than the first model",
                               "use one data source and seed for the whole run")
        out[name] = logits
    return out, (ids_ref if ids_ref is not None else np.zeros(0, np.int64)), \
        (labels_ref if labels_ref is not None else np.zeros(0, np.int64))


__all__ = ["clean_logits"]
