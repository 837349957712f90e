"""The work units of a SAT run and what they compute.

* ``sat:attack:M`` / ``sat:clean:M`` — one per model: clean predictions on the eval set,
  then (for sources) the attack of its correctly classified images, the adversarial
  cache file and the white-box statistics.
* ``sat:eval:T`` — one per target: the target is loaded once and shown every source's
  cached adversarials; it writes one ``pair`` part per (source, target), so adding
  models to a finished run computes only the new pairs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from zoolens.data import load_data
from zoolens.errors import ZoolensError
from zoolens.inference import batched_logits
from zoolens.models import load_model
from zoolens.progress import track
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import WorkUnit
from zoolens.similarity.attack_registry import AttackConfig, quantize, run_attack
from zoolens.similarity.cache import adv_path, load_adv, save_adv
from zoolens.similarity.members import pair_id
from zoolens.similarity.transfer import predict, to_input


class _Models:
    """Resolves member names to models: in-memory objects first, else ``load_model(ref)``."""

    def __init__(self, objects: dict[str, torch.nn.Module], device: torch.device, trust_checkpoint: bool):
        self.objects = objects
        self.device = device
        self.trust = trust_checkpoint

    def get(self, name: str, ref: str):
        if name in self.objects:
            return self.objects[name].to(self.device).eval()
        return load_model(ref, trust_checkpoint=self.trust).to(self.device).eval()


def sat_model_unit_spec(name: str, ref: str, is_source: bool, *, data: str, n_images: int | None, data_seed: int,
                        attack: AttackConfig, batch_size: int, device: str | None, trust_checkpoint: bool,
                        fast: bool = True, compute: str = "fp32"):
    """The stage-1 work unit of one model: clean predictions (+ the attack when it is a source)."""
    parts = (("clean", name), ("attack", name)) if is_source else (("clean", name),)
    return WorkUnit(f"sat:{'attack' if is_source else 'clean'}:{name}", f"{__name__}:sat_model_unit",
                    {"name": name, "ref": ref, "is_source": is_source, "data": data, "n_images": n_images,
                     "data_seed": data_seed, "attack": attack.as_dict(), "batch_size": batch_size, "device": device,
                     "trust_checkpoint": trust_checkpoint, "fast": fast, "compute": compute,
                     "_done_check": f"{__name__}:sat_model_unit_done"}, parts)


def sat_model_unit_done(payload: dict, run: RunDir) -> bool:
    """Besides its parts, an attack unit is done only when its adversarial cache file exists."""
    return not payload["is_source"] or _attack_done(run, payload["name"], AttackConfig(**payload["attack"]))


def _resolve_model(payload: dict, context: dict):
    dev = torch.device(payload["device"]) if payload["device"] else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    return _Models(context.get("objects", {}), dev, payload["trust_checkpoint"]).get(payload["name"], payload["ref"])


def sat_model_unit(payload: dict, run: RunDir, context: dict) -> dict:
    """Work unit: load one model, predict the clean eval set, attack it if it is a source."""
    name, attack = payload["name"], AttackConfig(**payload["attack"])
    model = _resolve_model(payload, context)
    ds = _eval_set(model, name, payload["data"], payload["n_images"], payload["data_seed"])
    compute = payload.get("compute", "fp32")
    clean = _clean_unit(run, model, name, ds, payload["batch_size"], compute)
    if payload["is_source"] and not _attack_done(run, name, attack):
        _attack_unit(run, model, name, ds, clean, attack, payload["batch_size"], bool(context.get("progress")),
                     f"attack {name}", payload.get("fast", True), compute)
    return {}


def sat_eval_unit_spec(target: str, ref: str, sources: list[str], adv_files: dict[str, str], *, batch_size: int,
                       device: str | None, trust_checkpoint: bool, fast: bool = True,
                       compute: str = "fp32") -> WorkUnit:
    """The stage-2 work unit of one target: every listed source's adversarials, one part per pair."""
    return WorkUnit(f"sat:eval:{target}", f"{__name__}:sat_eval_unit",
                    {"name": target, "ref": ref, "sources": sources, "adv_files": adv_files,
                     "batch_size": batch_size, "device": device, "trust_checkpoint": trust_checkpoint, "fast": fast,
                     "compute": compute},
                    tuple(("pair", pair_id(s, target)) for s in sources))


def sat_eval_unit(payload: dict, run: RunDir, context: dict) -> dict:
    """Work unit: load one target and show it every listed source's adversarials (one part per pair)."""
    model = _resolve_model(payload, context)
    target = payload["name"]
    clean_all = {target: run.read_part("clean", target)}
    todo = [s for s in payload["sources"] if not run.has_part("pair", pair_id(s, target))]
    _eval_unit(run, model, target, todo, clean_all, payload["adv_files"], payload["batch_size"],
               payload.get("fast", True), payload.get("compute", "fp32"))
    return {"pairs": len(todo)}


def _eval_set(model, name: str, data: str, n_images: int | None, data_seed: int):
    ds = load_data(data, n=n_images, seed=data_seed, model=model)
    if int(model.num_classes) != len(ds.classes):
        raise ZoolensError(f"model {name} has {model.num_classes} classes but {ds.source} has {len(ds.classes)}",
                           "compare models trained on this data set")
    return ds


def _clean_unit(run: RunDir, model, name: str, ds, batch_size: int, compute: str = "fp32") -> pd.DataFrame:
    if run.has_part("clean", name):
        return run.read_part("clean", name)
    # Clean logits are kept (not only predictions): the ensemble analyses average them.
    logits = batched_logits(model, ds.images, batch_size=batch_size, name=name, compute=compute)
    df = pd.DataFrame({"model": name, "image": np.asarray(ds.indices, dtype=np.int64),
                       "label": ds.labels.numpy().astype(np.int64), "pred": logits.argmax(1).numpy().astype(np.int64),
                       "fingerprint": ds.fingerprint, "logits": list(logits.numpy())})
    run.write_part("clean", name, df)
    return df


def _attack_done(run: RunDir, name: str, attack: AttackConfig) -> bool:
    if not run.has_part("attack", name):
        return False
    path = run.path / str(run.read_part("attack", name)["adv_file"].iloc[0])
    return path.is_file()  # a lost cache file means the unit must be redone


def _attack_unit(run: RunDir, model, name: str, ds, clean: pd.DataFrame, attack: AttackConfig,
                 batch_size: int, progress: bool, label: str, fast: bool = True, compute: str = "fp32") -> None:
    """Attack the model's correctly classified images (only those can enter any X_AB)."""
    correct = (clean["pred"].to_numpy() == clean["label"].to_numpy())
    ids = clean["image"].to_numpy()[correct]
    x = ds.images[torch.from_numpy(correct)]
    y = ds.labels[torch.from_numpy(correct)].long()
    gen = torch.Generator().manual_seed(int(attack.seed))
    chunks = []
    starts = range(0, x.shape[0], batch_size)
    for start in track(starts, description=label, enabled=progress):
        adv = run_attack(model, x[start:start + batch_size], y[start:start + batch_size], attack,
                         batch_size=batch_size, generator=gen, offset=start, fast=fast,
                         compute=compute)
        if attack.precision == "uint8":
            adv = quantize(adv, x[start:start + batch_size], attack.eps)
        chunks.append(adv)
    adv_all = torch.cat(chunks) if chunks else x.new_zeros((0, *x.shape[1:]), dtype=torch.uint8 if
                                                            attack.precision == "uint8" else torch.float32)
    path = adv_path(run.path, name, attack.key(), ds.fingerprint)
    save_adv(path, ids, adv_all)
    # White-box check on exactly what was stored (what the targets will see).
    adv_pred = predict(model, adv_all, batch_size=batch_size, name=name, fast=fast, compute=compute).numpy()
    n, n_correct = len(clean), int(correct.sum())
    n_fooled = int((adv_pred != y.numpy()).sum())
    run.write_part("attack", name, pd.DataFrame([{
        "model": name, "n_images": n, "n_correct": n_correct, "n_fooled": n_fooled,
        "clean_accuracy": n_correct / n if n else math.nan,
        "adversarial_accuracy": (n_correct - n_fooled) / n if n else math.nan,
        "success_rate": n_fooled / n_correct if n_correct else math.nan,
        "attack_key": attack.key(), "adv_file": str(path.relative_to(run.path))}]))


def _eval_unit(run: RunDir, model, target: str, sources: list[str], clean_all: dict[str, pd.DataFrame],
               adv_files: dict[str, str], batch_size: int, fast: bool = True, compute: str = "fp32") -> None:
    """Show ``target`` every adversarial image of each source; one part per pair.

    Every image the source attacked (its correctly classified ones) is shown, not only
    X_ST, so the transfer table can give the success rate over all images next to Eq. 1's
    rate over X_ST; ``both_correct`` marks X_ST. ``adv_pred`` is the target's class on
    x_S: on the diagonal (S, S) it is the source's own white-box class, which the
    same-misclassification analysis (SAT paper App. G.2) compares with.
    """
    t_clean = clean_all[target]
    t_ok = set(t_clean["image"][t_clean["pred"] == t_clean["label"]].tolist())
    labels = dict(zip(t_clean["image"].tolist(), t_clean["label"].tolist()))
    for source in sources:
        ids, adv = load_adv(run.path / adv_files[source])
        both = np.fromiter((i in t_ok for i in ids.tolist()), dtype=bool, count=len(ids))
        y = np.asarray([labels[i] for i in ids.tolist()], dtype=np.int64)
        if len(ids):
            pred = predict(model, to_input(adv, model.input_size), batch_size=batch_size, name=target,
                           fast=fast, compute=compute).numpy()
        else:
            pred = np.zeros(0, dtype=np.int64)
        run.write_part("pair", pair_id(source, target), pd.DataFrame(
            {"source": pd.Series([source] * len(ids), dtype=object),
             "target": pd.Series([target] * len(ids), dtype=object),
             "image": ids.astype(np.int64), "fooled": (pred != y).astype(bool),
             "adv_pred": pred.astype(np.int64), "both_correct": both}))


def check_labels(clean_all: dict[str, pd.DataFrame]) -> None:
    ref = None
    for name, df in clean_all.items():
        labels = dict(zip(df["image"].tolist(), df["label"].tolist()))
        if ref is None:
            ref = (name, labels)
        elif labels != ref[1]:
            raise ZoolensError(f"models {ref[0]} and {name} were evaluated on different images or labels",
                               "use one data source and seed for the whole run")


__all__ = ["check_labels", "sat_eval_unit", "sat_eval_unit_spec", "sat_model_unit", "sat_model_unit_done",
           "sat_model_unit_spec"]
