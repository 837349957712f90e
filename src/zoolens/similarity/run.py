"""SAT runs: attack every model once, evaluate every target on every source's adversarials, assemble tables.

Work units (each writes its result parts atomically into the run directory, so an
interrupted run resumes where it stopped and ends with identical tables):

* ``clean`` / ``attack`` — one per model: clean predictions on the eval set, then
  (for sources) the attack of its correctly classified images, the adversarial
  cache file and the white-box statistics.
* ``eval`` — one per target: the target is loaded once and shown every source's
  cached adversarials; it writes one ``pair`` part per (source, target), so adding
  models to a finished run computes only the new pairs.

Roles (App. G.1 of the SAT paper, both directions): ``full`` (attacked and
evaluated on everyone), ``source`` (attacked; existing models are evaluated on its
adversarials; it is not shown theirs) and ``target`` (never attacked — no gradients;
shown every source's adversarials).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from zoolens.errors import ZoolensError
from zoolens.progress import track
from zoolens.runtime import RunDir
from zoolens.similarity.attack_registry import AttackConfig, quantize, run_attack
from zoolens.similarity.cache import adv_path, load_adv, save_adv
from zoolens.similarity.sat import EPS_S, sat_ci_table, sat_matrix_from_transfer
from zoolens.inference import batched_logits
from zoolens.models.refs import display_name
from zoolens.similarity.transfer import predict, to_input

ROLES = ("full", "source", "target")
KIND = "similarity"


@dataclass
class SatResult:
    """All tables of a SAT run (the same ones written to the run directory)."""

    sat: pd.DataFrame
    sat_ci: pd.DataFrame
    transfer: pd.DataFrame
    transfer_images: pd.DataFrame
    clean: pd.DataFrame
    attack: pd.DataFrame
    out: Path | None
    timings: dict[str, float] = field(default_factory=dict)


def _role_union(a: str, b: str) -> str:
    return a if a == b else "full"


class _Models:
    """Resolves member names to models: in-memory objects first, else ``load_model(ref)``."""

    def __init__(self, objects: dict[str, torch.nn.Module], device: torch.device, trust_checkpoint: bool):
        self.objects = objects
        self.device = device
        self.trust = trust_checkpoint

    def get(self, name: str, ref: str):
        if name in self.objects:
            return self.objects[name].to(self.device).eval()
        from zoolens.models import load_model

        return load_model(ref, trust_checkpoint=self.trust).to(self.device).eval()


def _run_spec(data: str, n_images: int | None, data_seed: int, attack: AttackConfig, batch_size: int,
              eps_s: float, n_resamples: int, ci_level: float, ci_seed: int) -> dict[str, Any]:
    # Everything that determines the tables; the model list is not part of it (models can be added).
    return {"data": data, "n_images": n_images, "data_seed": data_seed, "attack": attack.as_dict(),
            "attack_key": attack.key(), "batch_size": batch_size, "eps_s": eps_s,
            "bootstrap": {"n_resamples": n_resamples, "level": ci_level, "seed": ci_seed}}


def _pair_id(source: str, target: str) -> str:
    return f"{source}\x00->\x00{target}"


def run_sat(models: Sequence[str | torch.nn.Module], *, data: str = "fashion-mnist", n_images: int | None = 500,
            data_seed: int = 0, attack: AttackConfig | None = None, out: str | Path | None = None,
            roles: dict[str, str] | None = None, batch_size: int = 256, device: str | None = None,
            eps_s: float = EPS_S, n_resamples: int = 1000, ci_level: float = 0.95, ci_seed: int = 0,
            progress: bool = False, trust_checkpoint: bool = False, executor: "str | Any" = "local",
            address: str | None = None, gpus_per_unit: float = 0.0, cpus_per_unit: float = 1.0,
            max_retries: int = 3) -> SatResult:
    """Compute SAT (Eq. 1 of the SAT paper) between models, resumably, in a run directory.

    Parameters
    ----------
    models:
        References (``zoo:fmnist-mini/NAME``, ``timm:…``, ``py:…``) or
        :class:`~zoolens.models.WrappedModel` objects (named by their ``.name``).
        Models already registered in ``out`` (an earlier run) are included as well.
    data, n_images, data_seed:
        The eval set: ``load_data(data, n_images, data_seed, model=…)`` per model.
    attack:
        The attack (default PGD-50, ε = 8/255, α = 2/255, random start).
    out:
        Run directory (default: a temporary one, removed afterwards).
    roles:
        ``{name: full|source|target}`` for the given models (default ``full``).
    batch_size:
        Images per forward/backward pass (part of the spec: PGD's random start is
        drawn per batch).
    device:
        ``cpu``/``cuda`` (default: cuda when available).
    eps_s:
        ε_s of Eq. 1.
    n_resamples, ci_level, ci_seed:
        Bootstrap of the per-pair CIs.
    progress:
        Show rich progress bars.
    executor, address, gpus_per_unit, cpus_per_unit, max_retries:
        ``local`` (in-process) or ``ray`` (:class:`zoolens.runtime.ExecutorConfig`). Units:
        ``sat:attack:M`` (clean predictions + attack of M), ``sat:eval:T`` (target T on every
        source's adversarials). A failing unit does not stop the others; the call then
        raises :class:`~zoolens.runtime.units.UnitsFailed` and a rerun retries only it.

    Returns
    -------
    SatResult
        SAT matrix, CIs, transfer tables, clean predictions, white-box attack table.
    """
    attack = (attack or AttackConfig()).normalized()
    if out is None:
        with tempfile.TemporaryDirectory(prefix="zoolens-sat-") as tmp:
            res = run_sat(models, data=data, n_images=n_images, data_seed=data_seed, attack=attack, out=tmp,
                          roles=roles, batch_size=batch_size, device=device, eps_s=eps_s,
                          n_resamples=n_resamples, ci_level=ci_level, ci_seed=ci_seed, progress=progress,
                          trust_checkpoint=trust_checkpoint, executor=executor, address=address,
                          gpus_per_unit=gpus_per_unit, cpus_per_unit=cpus_per_unit, max_retries=max_retries)
            res.out = None
            return res
    from zoolens.runtime.executors import ExecutorConfig, make_executor, run_units
    from zoolens.runtime.units import UnitsFailed, WorkUnit

    exec_cfg = executor if isinstance(executor, ExecutorConfig) else ExecutorConfig(
        kind=executor, address=address, gpus_per_unit=gpus_per_unit, cpus_per_unit=cpus_per_unit,
        max_retries=max_retries)
    runner = make_executor(exec_cfg)
    objects: dict[str, torch.nn.Module] = {}
    given: list[tuple[str, str]] = []
    for m in models:
        if isinstance(m, torch.nn.Module):
            name = str(getattr(m, "name", None) or type(m).__name__)
            objects[name] = m
            given.append((name, name))
        else:
            given.append((display_name(str(m)), str(m)))
    roles = dict(roles or {})
    for r in roles.values():
        if r not in ROLES:
            raise ZoolensError(f"unknown role {r!r}", f"use one of {', '.join(ROLES)}")
    sat_preflight([ref for (_, ref), m in zip(given, models) if not isinstance(m, torch.nn.Module)],
                  data=data, n_images=n_images, data_seed=data_seed, batch_size=batch_size, device=device,
                  eps_s=eps_s)
    spec = _run_spec(data, n_images, data_seed, attack, batch_size, eps_s, n_resamples, ci_level, ci_seed)
    run = RunDir(out, spec, kind=KIND)
    timings = {"attack_s": 0.0, "eval_s": 0.0, "clean_s": 0.0}
    # in-memory models stay in this process (local executor); failing fast keeps their original errors
    context = {"objects": objects, "progress": progress, "fail_fast": bool(objects) and exec_cfg.kind == "local"}
    with run.open():
        members = _register(run, given, roles, _digests(given, objects))
        names = list(members["model"])
        refs = dict(zip(members["model"], members["ref"]))
        role_of = dict(zip(members["model"], members["role"]))
        sources = [m for m in names if role_of[m] in ("full", "source")]

        # ---- stage 1: clean predictions + attack, one unit (one model load) per model
        units1 = [sat_model_unit_spec(name, refs[name], name in sources, data=data, n_images=n_images,
                                      data_seed=data_seed, attack=attack, batch_size=batch_size, device=device,
                                      trust_checkpoint=trust_checkpoint) for name in names]
        report = run_units(run, units1, runner, context=context)
        timings["attack_s"] = report.seconds
        failed_models = {u.payload["name"] for u in units1 if u.id in report.failed}
        ok_names = [m for m in names if m not in failed_models]
        ok_sources = [m for m in sources if m not in failed_models]

        clean_all = {m: run.read_part("clean", m) for m in ok_names}
        _check_labels(clean_all)
        fingerprints = {m: str(run.read_part("attack", m)["adv_file"].iloc[0]) for m in ok_sources}

        # ---- stage 2: one unit per target, one part per (source, target) pair
        pairs = _pairs(ok_names, role_of, ok_sources)
        by_target: dict[str, list[str]] = {}
        for s, t in pairs:
            by_target.setdefault(t, []).append(s)
        units2 = [WorkUnit(f"sat:eval:{t}", f"{__name__}:sat_eval_unit",
                           {"name": t, "ref": refs[t], "sources": srcs, "adv_files": {s: fingerprints[s] for s in srcs},
                            "batch_size": batch_size, "device": device, "trust_checkpoint": trust_checkpoint},
                           tuple(("pair", _pair_id(s, t)) for s in srcs)) for t, srcs in by_target.items()]
        report2 = run_units(run, units2, runner, context=context)
        timings["eval_s"] = report2.seconds
        report = report.merge(report2)
        if report.failed:
            run.write_manifest({"models": members.to_dict("records"), "units": report.as_dict(), "complete": False})
            raise UnitsFailed(report.failed, run.path)

        with run.publishing():  # all tables or none (a full disk here leaves a resumable directory)
            result = _assemble(run, names, pairs, clean_all, eps_s, n_resamples, ci_level, ci_seed)
            result.timings = timings
            _write_sat_manifest(run, members, data, n_images, data_seed, attack, eps_s, timings, runner, report,
                                names, clean_all)
    return result


def _write_sat_manifest(run: RunDir, members, data, n_images, data_seed, attack, eps_s, timings, runner, report,
                        names, clean_all) -> None:
    run.write_manifest({"models": members.to_dict("records"), "data": data, "n_images": n_images,
                        "data_seed": data_seed, "attack": attack.as_dict(), "attack_key": attack.key(),
                        "eps_s": eps_s, "timings_s_last_invocation": timings, "executor": runner.name,
                        "units": report.as_dict(), "complete": True,
                        "data_fingerprints": {m: str(clean_all[m]["fingerprint"].iloc[0]) for m in names}
                        if names else {}})


def sat_preflight(refs: Sequence[str], *, data: str, n_images: int | None, data_seed: int, batch_size: int,
                  device: str | None, eps_s: float) -> None:
    """Everything a SAT run can check before it writes anything: settings, references, data."""
    from zoolens.checks import check_data, check_device, check_refs, finite_number, positive_int

    positive_int(n_images, "--n-images", allow_none=True)
    positive_int(data_seed, "--data-seed", minimum=0)
    positive_int(batch_size, "--batch-size")
    check_device(device)
    if not finite_number(eps_s, "eps_s") > 0:
        raise ZoolensError(f"eps_s must be positive, got {eps_s!r}", "use a small positive constant, e.g. 1e-3")
    check_refs(refs)
    check_data(data, n_images)


# ------------------------------------------------------------------------ units
def sat_model_unit_spec(name: str, ref: str, is_source: bool, *, data: str, n_images: int | None, data_seed: int,
                        attack: AttackConfig, batch_size: int, device: str | None, trust_checkpoint: bool):
    """The stage-1 work unit of one model: clean predictions (+ the attack when it is a source)."""
    from zoolens.runtime.units import WorkUnit

    parts = (("clean", name), ("attack", name)) if is_source else (("clean", name),)
    return WorkUnit(f"sat:{'attack' if is_source else 'clean'}:{name}", f"{__name__}:sat_model_unit",
                    {"name": name, "ref": ref, "is_source": is_source, "data": data, "n_images": n_images,
                     "data_seed": data_seed, "attack": attack.as_dict(), "batch_size": batch_size, "device": device,
                     "trust_checkpoint": trust_checkpoint, "_done_check": f"{__name__}:sat_model_unit_done"}, parts)


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
    clean = _clean_unit(run, model, name, ds, payload["batch_size"])
    if payload["is_source"] and not _attack_done(run, name, attack):
        _attack_unit(run, model, name, ds, clean, attack, payload["batch_size"], bool(context.get("progress")),
                     f"attack {name}")
    return {}


def sat_eval_unit(payload: dict, run: RunDir, context: dict) -> dict:
    """Work unit: load one target and show it every listed source's adversarials (one part per pair)."""
    model = _resolve_model(payload, context)
    target = payload["name"]
    clean_all = {target: run.read_part("clean", target)}
    todo = [s for s in payload["sources"] if not run.has_part("pair", _pair_id(s, target))]
    _eval_unit(run, model, target, todo, clean_all, payload["adv_files"], payload["batch_size"])
    return {"pairs": len(todo)}


# ------------------------------------------------------------------ registration
def _digests(given: list[tuple[str, str]], objects: dict[str, torch.nn.Module]) -> dict[str, str]:
    from zoolens.models.digest import module_digest, weights_digest

    return {name: module_digest(objects[name]) if name in objects else weights_digest(ref) for name, ref in given}


def _register(run: RunDir, given: list[tuple[str, str]], roles: dict[str, str],
              digests: dict[str, str] | None = None) -> pd.DataFrame:
    """Merge the given models into the run's member list (a part per member).

    ``digests`` (name → weights digest) key the results: a member whose weights changed
    since its units ran (retrained, checkpoint replaced) loses its clean predictions, its
    adversarial images and every pair it is in, so they are recomputed; the rest is kept.
    """
    digests = digests or {}
    old = run.read_parts("member")
    members: dict[str, dict] = {}
    given_names = {name for name, _ in given}
    for r in (old.to_dict("records") if len(old) else []):
        if r["model"] not in given_names and not run.has_part("clean", r["model"]):
            # a member whose first unit never finished and that this call no longer lists (a typo since
            # fixed, a model that failed to load): forget it, or it would fail every rerun
            run.part_path("member", r["model"]).unlink(missing_ok=True)
            continue
        members[r["model"]] = r
    seen: dict[str, str] = {}
    for name, ref in given:
        if name in seen and seen[name] != ref:
            raise ZoolensError(f"two models share the display name {name!r} ({seen[name]} and {ref})",
                               "pass each model once, or rename one")
        seen[name] = ref
        role = roles.get(name, roles.get(ref, "full"))
        if name in members:
            if members[name]["ref"] != ref:
                raise ZoolensError(f"{run.path} already has a model named {name!r} from {members[name]['ref']}",
                                   f"not {ref}: use another --out directory")
            new_role = _role_union(members[name]["role"], role)
            recorded = members[name].get("weights_digest")
            current = digests.get(name)
            fresh = current is None or (isinstance(recorded, str) and recorded == current)
            if new_role == members[name]["role"] and fresh:
                continue
            if not fresh:
                _drop_results_of(run, name, list(members))
                members[name]["weights_digest"] = current
            members[name]["role"] = new_role
        else:
            members[name] = {"model": name, "ref": ref, "role": role,
                             "order": max((int(m["order"]) for m in members.values()), default=-1) + 1,
                             "weights_digest": digests.get(name)}
        run.write_part("member", name, pd.DataFrame([members[name]]))
    df = pd.DataFrame(list(members.values()), columns=["model", "ref", "role", "order", "weights_digest"])
    return df.sort_values("order", kind="stable").reset_index(drop=True)


def _drop_results_of(run: RunDir, name: str, others: list[str]) -> None:
    """Delete every result computed from ``name``'s old weights (clean, attack + its images, pairs)."""
    import warnings

    if run.has_part("attack", name):
        (run.path / str(run.read_part("attack", name)["adv_file"].iloc[0])).unlink(missing_ok=True)
    for kind in ("clean", "attack"):
        run.part_path(kind, name).unlink(missing_ok=True)
    for other in others:
        for pid in (_pair_id(name, other), _pair_id(other, name)):
            run.part_path("pair", pid).unlink(missing_ok=True)
    warnings.warn(f"the weights of {name} changed since it was measured in {run.path}: recomputing its results",
                  stacklevel=3)


def _pairs(names: list[str], role_of: dict[str, str], sources: list[str]) -> list[tuple[str, str]]:
    """Ordered (source, target) pairs to measure: targets see every source; source-only models only themselves."""
    return [(s, t) for s in sources for t in names if role_of[t] in ("full", "target") or s == t]


# ------------------------------------------------------------------------- units
def _eval_set(model, name: str, data: str, n_images: int | None, data_seed: int):
    from zoolens.data import load_data

    ds = load_data(data, n=n_images, seed=data_seed, model=model)
    if int(model.num_classes) != len(ds.classes):
        raise ZoolensError(f"model {name} has {model.num_classes} classes but {ds.source} has {len(ds.classes)}",
                           "compare models trained on this data set")
    return ds


def _clean_unit(run: RunDir, model, name: str, ds, batch_size: int) -> pd.DataFrame:
    if run.has_part("clean", name):
        return run.read_part("clean", name)
    # Clean logits are kept (not only predictions): the ensemble analyses average them.
    logits = batched_logits(model, ds.images, batch_size=batch_size, name=name)
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
                 batch_size: int, progress: bool, label: str) -> None:
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
                         batch_size=batch_size, generator=gen, offset=start)
        if attack.precision == "uint8":
            adv = quantize(adv, x[start:start + batch_size], attack.eps)
        chunks.append(adv)
    adv_all = torch.cat(chunks) if chunks else x.new_zeros((0, *x.shape[1:]), dtype=torch.uint8 if
                                                            attack.precision == "uint8" else torch.float32)
    path = adv_path(run.path, name, attack.key(), ds.fingerprint)
    save_adv(path, ids, adv_all)
    # White-box check on exactly what was stored (what the targets will see).
    adv_pred = predict(model, adv_all, batch_size=batch_size, name=name).numpy()
    n, n_correct = len(clean), int(correct.sum())
    n_fooled = int((adv_pred != y.numpy()).sum())
    run.write_part("attack", name, pd.DataFrame([{
        "model": name, "n_images": n, "n_correct": n_correct, "n_fooled": n_fooled,
        "clean_accuracy": n_correct / n if n else math.nan,
        "adversarial_accuracy": (n_correct - n_fooled) / n if n else math.nan,
        "success_rate": n_fooled / n_correct if n_correct else math.nan,
        "attack_key": attack.key(), "adv_file": str(path.relative_to(run.path))}]))


def _eval_unit(run: RunDir, model, target: str, sources: list[str], clean_all: dict[str, pd.DataFrame],
               adv_files: dict[str, str], batch_size: int) -> None:
    """Show ``target`` every source's adversarials on X_ST; one part per pair."""
    t_clean = clean_all[target]
    t_ok = set(t_clean["image"][t_clean["pred"] == t_clean["label"]].tolist())
    labels = dict(zip(t_clean["image"].tolist(), t_clean["label"].tolist()))
    for source in sources:
        ids, adv = load_adv(run.path / adv_files[source])
        keep = np.fromiter((i in t_ok for i in ids.tolist()), dtype=bool, count=len(ids))
        both = ids[keep]  # X_ST: the source attacked only its correct images
        y = np.asarray([labels[i] for i in both.tolist()], dtype=np.int64)
        if len(both):
            x = to_input(adv[torch.from_numpy(keep)], model.input_size)
            pred = predict(model, x, batch_size=batch_size, name=target).numpy()
            fooled = pred != y
        else:
            fooled = np.zeros(0, dtype=bool)
        run.write_part("pair", _pair_id(source, target), pd.DataFrame(
            {"source": pd.Series([source] * len(both), dtype=object),
             "target": pd.Series([target] * len(both), dtype=object),
             "image": both.astype(np.int64), "fooled": fooled.astype(bool)}))


def _check_labels(clean_all: dict[str, pd.DataFrame]) -> None:
    ref = None
    for name, df in clean_all.items():
        labels = dict(zip(df["image"].tolist(), df["label"].tolist()))
        if ref is None:
            ref = (name, labels)
        elif labels != ref[1]:
            raise ZoolensError(f"models {ref[0]} and {name} were evaluated on different images or labels",
                               "use one data source and seed for the whole run")


# ---------------------------------------------------------------------- tables
def _assemble(run: RunDir, names: list[str], pairs: list[tuple[str, str]], clean_all: dict[str, pd.DataFrame],
              eps_s: float, n_resamples: int, ci_level: float, ci_seed: int) -> SatResult:
    frames, rows = [], []
    for s, t in pairs:
        part = run.read_part("pair", _pair_id(s, t))
        frames.append(part)
        n_both = len(part)
        n_fooled = int(part["fooled"].sum()) if n_both else 0
        rows.append({"source": s, "target": t, "n_both_correct": n_both, "n_fooled": n_fooled,
                     "rate": n_fooled / n_both if n_both else math.nan})
    transfer = pd.DataFrame(rows, columns=["source", "target", "n_both_correct", "n_fooled", "rate"])
    images = (pd.concat(frames, ignore_index=True) if frames
              else pd.DataFrame(columns=["source", "target", "image", "fooled"]))
    images = images.astype({"image": np.int64, "fooled": bool})
    sat = sat_matrix_from_transfer(transfer, names, eps_s)
    ci = sat_ci_table(images, transfer, names, n_resamples=n_resamples, level=ci_level, seed=ci_seed, eps_s=eps_s)
    clean = pd.concat([clean_all[m][[c for c in ("model", "image", "label", "pred", "logits") if c in clean_all[m]]]
                       for m in names], ignore_index=True)
    attack_rows = [run.read_part("attack", m) for m in names if run.has_part("attack", m)]
    attack = (pd.concat(attack_rows, ignore_index=True)[["model", "clean_accuracy", "adversarial_accuracy",
                                                         "success_rate", "n_images", "n_correct", "n_fooled"]]
              if attack_rows else pd.DataFrame(columns=["model", "clean_accuracy", "adversarial_accuracy",
                                                        "success_rate", "n_images", "n_correct", "n_fooled"]))
    run.write_table("clean", clean, csv=False)
    run.write_table("attack", attack, parquet=False)
    run.write_table("transfer", transfer)
    run.write_table("transfer_images", images, csv=False)
    run.write_table("sat_ci", ci, parquet=False)
    _write_matrix(run, "sat_matrix.csv", sat)
    rate = transfer.pivot(index="source", columns="target", values="rate") if len(transfer) else pd.DataFrame()
    _write_matrix(run, "transfer_matrix.csv", rate.reindex(index=[m for m in names if m in rate.index],
                                                                 columns=[m for m in names if m in rate.columns]))
    return SatResult(sat=sat, sat_ci=ci, transfer=transfer, transfer_images=images, clean=clean, attack=attack,
                     out=run.path)


def _write_matrix(run: RunDir, name: str, df: pd.DataFrame) -> None:
    run.write_file(name, lambda tmp: df.to_csv(tmp, index_label="model"))


def read_run_spec(path: str | Path) -> dict[str, Any]:
    """The settings of an existing SAT run directory (for ``--add … --to DIR``)."""
    import json

    spec_file = Path(path) / f"{KIND}_spec.json"
    if not spec_file.is_file():
        raise ZoolensError(f"{path} holds no SAT run (missing {spec_file})",
                           "run `zoolens similarity … --out DIR` first")
    return json.loads(spec_file.read_text())


def add_model(ref: str | torch.nn.Module, to: str | Path, one_sided: str = "full", *, batch_size: int | None = None,
              device: str | None = None, progress: bool = False, trust_checkpoint: bool = False,
              models: Sequence[torch.nn.Module] = ()) -> SatResult:
    """Add a newcomer to a finished run, computing only the new pairs (App. G.1 of the SAT paper).

    Parameters
    ----------
    ref:
        The newcomer (reference or model object).
    to:
        The existing run directory; its settings (data, attack, …) are reused.
    one_sided:
        ``source`` (attack only the newcomer; existing models are evaluated on its
        adversarials), ``target`` (the newcomer is evaluated on the cached adversarials
        of the existing models; no gradients) or ``full`` (both: exact Eq. 1).
    models:
        In-memory model objects of existing members (needed only for members that were
        added as objects rather than references).
    """
    if one_sided not in ROLES:
        raise ZoolensError(f"unknown --one-sided mode {one_sided!r}", "use source, target or full")
    spec = read_run_spec(to)
    attack = AttackConfig(**spec["attack"])
    name = str(getattr(ref, "name", ref)) if isinstance(ref, torch.nn.Module) else display_name(str(ref))
    return run_sat([*models, ref], data=spec["data"], n_images=spec["n_images"], data_seed=spec["data_seed"],
                   attack=attack, out=to, roles={name: one_sided},
                   batch_size=spec["batch_size"] if batch_size is None else batch_size,
                   device=device, eps_s=spec["eps_s"], n_resamples=spec["bootstrap"]["n_resamples"],
                   ci_level=spec["bootstrap"]["level"], ci_seed=spec["bootstrap"]["seed"], progress=progress,
                   trust_checkpoint=trust_checkpoint)


def sat_matrix(models: Sequence[str | torch.nn.Module], data: str = "fashion-mnist", n_images: int | None = 500,
               attack: str | AttackConfig = "pgd", *, eps: float | str = 8 / 255, alpha: float | str = 2 / 255,
               steps: int = 50, random_start: bool = True, seed: int = 0, precision: str = "uint8",
               preset: str | None = None, out: str | Path | None = None, data_seed: int = 0,
               batch_size: int = 256, device: str | None = None, progress: bool = False) -> pd.DataFrame:
    """SAT matrix (Eq. 1 of the SAT paper) between ``models``, as a square DataFrame.

    Parameters
    ----------
    models:
        Model references or :class:`~zoolens.models.WrappedModel` objects.
    data, n_images, data_seed:
        Evaluation set (see :func:`zoolens.load_data`).
    attack:
        ``pgd`` | ``fgsm`` | ``mifgsm`` | ``vmifgsm`` or an :class:`AttackConfig`.
    eps, alpha, steps, random_start, seed, precision:
        Attack settings when ``attack`` is a name (fractions like ``"8/255"`` accepted).
    preset:
        ``sat-paper``: PGD-50, ε = 8/255, α = 2/255, 5,000 images.
    out:
        Run directory for all tables (default: temporary).

    Returns
    -------
    pandas.DataFrame
        Symmetric SAT matrix, model names as index and columns. The full tables
        (transfer, CIs, …) are in ``out`` or from :func:`run_sat`.
    """
    cfg, n_images = build_attack(attack, eps=eps, alpha=alpha, steps=steps, random_start=random_start, seed=seed,
                                 precision=precision, preset=preset, n_images=n_images)
    return run_sat(models, data=data, n_images=n_images, data_seed=data_seed, attack=cfg, out=out,
                   batch_size=batch_size, device=device, progress=progress).sat


def build_attack(attack: str | AttackConfig = "pgd", *, eps: float | str = 8 / 255, alpha: float | str = 2 / 255,
                 steps: int = 50, random_start: bool = True, seed: int = 0, precision: str = "uint8",
                 preset: str | None = None, n_images: int | None = None) -> tuple[AttackConfig, int | None]:
    """An :class:`AttackConfig` (and image count) from names, numbers/fractions or a preset."""
    from zoolens.similarity.attack_registry import PRESETS, parse_fraction

    if preset is not None:
        if preset not in PRESETS:
            raise ZoolensError(f"unknown preset {preset!r}", f"use one of {', '.join(PRESETS)}")
        p = PRESETS[preset]
        cfg = p["attack"]
        from dataclasses import replace

        return replace(cfg, seed=seed, precision=precision), p["n_images"]
    if isinstance(attack, AttackConfig):
        return attack, n_images
    cfg = AttackConfig(str(attack).lower(), eps=parse_fraction(eps, what="--eps"),
                       alpha=parse_fraction(alpha, what="--alpha"), steps=int(steps), random_start=bool(random_start),
                       seed=int(seed), precision=precision)
    return cfg, n_images


__all__ = ["ROLES", "SatResult", "add_model", "build_attack", "display_name", "read_run_spec", "run_sat",
           "sat_matrix"]
