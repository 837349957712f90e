"""The work unit of a ``measures`` run: everything one model contributes, computed with one model load.

``measures:model:M`` writes, for model M on the run's eval set:

* ``measures_pred`` — per image: label and top-1 prediction (error consistency, disagreement);
* ``measures_features`` + a ``.npy`` file — its penultimate features (linear CKA, streamed per pair);
* ``measures_plane`` — its prediction at every grid point of the shared Somepalli planes;
* ``measures_tramer`` — its boundary distance along each shared Tramèr direction and along its
  own adversarial direction, whose steps it keeps in a ``.npy`` file (part ``measures_tramer_dir``).

``measures:tramer:B`` (second stage, Tramèr only) searches target B's boundary along every other
model's adversarial directions, one part ``measures_tramer_adv`` per (source, target) pair.
Per pair only a comparison of these is left (``assemble``), so adding a model computes one unit
per stage, and only the new pairs of the second.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import zoolens.io as zio
from zoolens.data import load_data
from zoolens.errors import ZoolensError
from zoolens.inference import batched_logits
from zoolens.models import load_model
from zoolens.progress import track
from zoolens.runtime.rundir import RunDir, unit_filename
from zoolens.runtime.units import WorkUnit
from zoolens.similarity.measures.boundary import draw_triplets, plane_predictions, triplet_coefficients
from zoolens.similarity.measures.config import MeasuresConfig
from zoolens.similarity.measures.features import batched_features
from zoolens.similarity.measures.tramer import (ADVERSARIAL, SHARED, adversarial_directions, boundary_distances,
                                                shared_directions)
from zoolens.similarity.members import pair_id


def model_parts(name: str, config: MeasuresConfig) -> tuple[tuple[str, str], ...]:
    parts = [("measures_pred", name)]
    parts += [("measures_features", name)] if "cka" in config.measures else []
    parts += [("measures_plane", name)] if "somepalli" in config.measures else []
    parts += [("measures_tramer_dir", name), ("measures_tramer", name)] if "tramer" in config.measures else []
    return tuple(parts)


def model_unit_spec(name: str, ref: str, config: MeasuresConfig) -> WorkUnit:
    import dataclasses

    return WorkUnit(f"measures:model:{name}", f"{__name__}:measures_model_unit",
                    {"name": name, "ref": ref, "config": dataclasses.asdict(config),
                     "_done_check": f"{__name__}:measures_model_unit_done"}, model_parts(name, config))


def _file_part_done(run: RunDir, kind: str, name: str) -> bool:
    return run.has_part(kind, name) and (run.path / str(run.read_part(kind, name)["file"].iloc[0])).is_file()


def measures_model_unit_done(payload: dict, run: RunDir) -> bool:
    """Besides its parts, the unit is done only when its features and direction files exist."""
    ms, name = payload["config"]["measures"], payload["name"]
    return (("cka" not in ms or _file_part_done(run, "measures_features", name))
            and ("tramer" not in ms or _file_part_done(run, "measures_tramer_dir", name)))


def _model(payload: dict, config: MeasuresConfig, context: dict):
    dev = torch.device(config.device) if config.device else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    model = context.get("objects", {}).get(payload["name"])
    if model is None:
        model = load_model(payload["ref"], trust_checkpoint=config.trust_checkpoint)
    return model.to(dev).eval()


def measures_model_unit(payload: dict, run: RunDir, context: dict) -> dict:
    """Work unit: one model's predictions, features, plane predictions and boundary distances."""
    config = MeasuresConfig(**payload["config"])
    name = payload["name"]
    model = _model(payload, config, context)
    ds = load_data(config.data, n=config.n_images, seed=config.data_seed, model=model)
    if int(model.num_classes) != len(ds.classes):
        raise ZoolensError(f"model {name} has {model.num_classes} classes but {ds.source} has {len(ds.classes)}",
                           "compare models trained on this data set")
    show = bool(context.get("progress"))
    native = None
    if "somepalli" in config.measures or "tramer" in config.measures:
        native = load_data(config.data, n=config.n_images, seed=config.data_seed)  # the shared geometry
        if not np.array_equal(native.indices, ds.indices):
            raise ZoolensError(f"model {name}'s eval set differs from the data's own", "use readable images only")
    if "cka" in config.measures and not _file_part_done(run, "measures_features", name):
        _features(run, model, name, ds, config.batch_size)
    if "somepalli" in config.measures and not run.has_part("measures_plane", name):
        triplets = draw_triplets(native.labels.numpy(), config.triplets, config.plane_seed)
        coefs = triplet_coefficients(native.images, triplets, config.grid, config.plane_margin)
        bar = (lambda it: track(it, description=f"planes {name}", enabled=True)) if show else None
        preds = plane_predictions(model, ds.images, triplets, coefs, batch_size=config.batch_size, name=name,
                                  progress=bar)
        t, p = np.divmod(np.arange(preds.size), preds.shape[1])
        run.write_part("measures_plane", name, pd.DataFrame({"triplet": t.astype(np.int32), "point": p.astype(np.int32),
                                                             "pred": preds.ravel().astype(np.int32)}))
    if "tramer" in config.measures and not (run.has_part("measures_tramer", name)
                                            and _file_part_done(run, "measures_tramer_dir", name)):
        _tramer(run, model, name, ds, native, config)
    if not run.has_part("measures_pred", name):  # last: written when everything else is there
        logits = batched_logits(model, ds.images, batch_size=config.batch_size, name=name)
        run.write_part("measures_pred", name, pd.DataFrame({
            "model": name, "image": np.asarray(ds.indices, dtype=np.int64),
            "label": ds.labels.numpy().astype(np.int64), "pred": logits.argmax(1).numpy().astype(np.int64),
            "fingerprint": ds.fingerprint}))
    return {}


def _tramer(run: RunDir, model, name: str, ds, native, config: MeasuresConfig) -> None:
    """Distances along the shared directions and along the model's own adversarial direction, whose steps are kept."""
    m = min(config.tramer_images, len(ds.labels))
    dirs = shared_directions(native.images[:m], native.labels[:m].numpy(), config.plane_seed,
                             config.tramer_max_distance)
    adv = adversarial_directions(model, ds.images[:m], ds.labels[:m], tuple(native.images.shape[1:]),
                                 batch_size=config.batch_size) * float(config.tramer_max_distance)
    dirs[ADVERSARIAL] = (adv, np.full(m, float(config.tramer_max_distance)))
    digest = hashlib.sha256(ds.fingerprint.encode()).hexdigest()[:10]
    rel = Path("tramer") / f"{unit_filename(name)}-{digest}.npy"
    with zio.atomic_path(run.path / rel) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, adv.numpy())
    run.write_part("measures_tramer_dir", name, pd.DataFrame([{"model": name, "file": str(rel), "n_images": m}]))
    frames = []
    for kind in (*SHARED, ADVERSARIAL):
        dist, pred = boundary_distances(model, ds.images[:m], *dirs[kind], scan=config.tramer_scan,
                                        refine=config.tramer_refine, batch_size=config.batch_size, name=name)
        frames.append(pd.DataFrame({"image": np.asarray(ds.indices[:m], dtype=np.int64), "direction": kind,
                                    "distance": dist, "pred": pred.astype(np.int64),
                                    "label": ds.labels[:m].numpy().astype(np.int64)}))
    run.write_part("measures_tramer", name, pd.concat(frames, ignore_index=True))


def tramer_unit_spec(target: str, ref: str, sources: list[str], dir_files: dict[str, str],
                     config: MeasuresConfig) -> WorkUnit:
    """The second-stage unit of one target: every listed source's adversarial directions, one part per pair."""
    import dataclasses

    return WorkUnit(f"measures:tramer:{target}", f"{__name__}:measures_tramer_unit",
                    {"name": target, "ref": ref, "sources": sources, "dir_files": dir_files,
                     "config": dataclasses.asdict(config)},
                    tuple(("measures_tramer_adv", pair_id(s, target)) for s in sources))


def measures_tramer_unit(payload: dict, run: RunDir, context: dict) -> dict:
    """Work unit: d_B(x, u_A) for target B along each source A's adversarial directions."""
    config = MeasuresConfig(**payload["config"])
    target = payload["name"]
    todo = [s for s in payload["sources"] if not run.has_part("measures_tramer_adv", pair_id(s, target))]
    if not todo:
        return {"pairs": 0}
    model = _model(payload, config, context)
    ds = load_data(config.data, n=config.n_images, seed=config.data_seed, model=model)
    m = min(config.tramer_images, len(ds.labels))
    lengths = np.full(m, float(config.tramer_max_distance))
    for source in track(todo, description=f"tramer {target}", enabled=bool(context.get("progress"))):
        steps = torch.from_numpy(np.load(run.path / payload["dir_files"][source]))
        if steps.shape[0] != m:
            raise ZoolensError(f"model {source}'s adversarial directions cover {steps.shape[0]} images, not {m}",
                               "rerun in a fresh --out directory")
        dist, pred = boundary_distances(model, ds.images[:m], steps, lengths, scan=config.tramer_scan,
                                        refine=config.tramer_refine, batch_size=config.batch_size, name=target)
        run.write_part("measures_tramer_adv", pair_id(source, target), pd.DataFrame({
            "source": source, "target": target, "image": np.asarray(ds.indices[:m], dtype=np.int64),
            "distance": dist, "pred": pred.astype(np.int64)}))
    return {"pairs": len(todo)}


def _features(run: RunDir, model, name: str, ds, batch_size: int) -> None:
    """Stream the features into a ``.npy`` file (written atomically), then record it as a part."""
    digest = hashlib.sha256(ds.fingerprint.encode()).hexdigest()[:10]
    rel = Path("features") / f"{unit_filename(name)}-{digest}.npy"
    path = run.path / rel
    n = int(ds.images.shape[0])
    with zio.atomic_path(path) as tmp:
        arr = None
        row = 0
        for f in batched_features(model, ds.images, batch_size=batch_size, name=name):
            if arr is None:
                arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, f.shape[1]))
            arr[row:row + len(f)] = f.numpy()
            row += len(f)
        arr.flush()
        dim = int(arr.shape[1])
        del arr
    run.write_part("measures_features", name, pd.DataFrame([{"model": name, "file": str(rel), "n_images": n,
                                                             "dim": dim}]))


__all__ = ["measures_model_unit", "measures_model_unit_done", "measures_tramer_unit", "model_parts",
           "model_unit_spec", "tramer_unit_spec"]
