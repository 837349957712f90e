"""Criticality runs: models × layers × seeds → tidy tables, one resumable unit per model."""

from __future__ import annotations

import contextlib

import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
import torch

from zoolens.criticality.engines import ENGINES, PRECISIONS
from zoolens.criticality.labels import paper_labels
from zoolens.criticality.strategies import Randomizer
from zoolens.data import load_data
from zoolens.errors import ZoolensError
from zoolens.models import discover_layers, load_model
from zoolens.models.refs import display_name as display_name_of
from zoolens.models.wrapper import WrappedModel

if TYPE_CHECKING:
    from zoolens.runtime.executors import ExecutorConfig
    from zoolens.runtime.units import WorkUnit

ROW_COLUMNS = ["model", "layer", "label", "layer_index", "module_type", "n_params", "seed", "cosine_distance",
               "top1_agreement", "accuracy", "l1", "l2", "nonfinite"]
SUMMARY_COLUMNS = ["model", "layer", "label", "layer_index", "module_type", "n_params", "criticality_mean",
                   "criticality_sem", "n_seeds", "role"]
# The paper's thresholds were lost in extraction; these are ours (configurable).
AUXILIARY_BELOW = 0.05
CRITICAL_ABOVE = 0.5


@dataclass
class CriticalitySettings:
    """Everything that determines a criticality result (recorded in the run's spec)."""

    data: str = "fashion-mnist"
    n_images: int | None = 1000
    data_seed: int = 0
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    randomize: str = "init"
    include_norm: bool = False
    layers: str | None = None
    precision: str = "fp32"

    def validate(self) -> None:
        """Check every setting (cheap: no data or model is read); raises :class:`ZoolensError`."""
        from zoolens.checks import check_seeds, positive_int
        from zoolens.models.layers import compile_layer_pattern

        if self.precision not in PRECISIONS:
            raise ZoolensError(f"unknown precision {self.precision!r}", "use fp32, bf16 or fp16")
        self.seeds = check_seeds(self.seeds)
        positive_int(self.n_images, "--n-images", allow_none=True)
        positive_int(self.data_seed, "--data-seed", minimum=0)
        if not isinstance(self.include_norm, bool):
            raise ZoolensError(f"include_norm must be true or false, got {self.include_norm!r}", "use true or false")
        if self.layers is not None and not isinstance(self.layers, str):
            raise ZoolensError(f"--layers must be a regular expression, got {self.layers!r}", "e.g. --layers 'layer1'")
        compile_layer_pattern(self.layers)
        r = self.randomize
        if not isinstance(r, str) or not (r in ("init", "zero") or r.startswith("checkpoint:")):
            raise ZoolensError(f"unknown randomization strategy {r!r}", "use init, zero or checkpoint:PATH")
        if r.startswith("checkpoint:") and not Path(r[len("checkpoint:"):]).is_file():
            raise ZoolensError(f"--randomize {r}: {r[len('checkpoint:'):]} is not a file",
                               "give the initial checkpoint's path after checkpoint:")


def preflight(models: Sequence[str], settings: CriticalitySettings, *, engine: str, batch_size: int,
              device: str, auxiliary_below: float, critical_above: float) -> None:
    """Everything a criticality run can check before it writes anything: settings, references, data.

    A typo is refused here, so the run directory is never created (or keeps its old
    spec) and the corrected command then runs in the same ``--out``.
    """
    from zoolens.checks import check_data, check_device, check_refs, finite_number, positive_int

    settings.validate()
    if engine not in ENGINES:
        raise ZoolensError(f"unknown engine {engine!r}", "use fast or naive")
    positive_int(batch_size, "--batch-size")
    check_device(device)
    lo = finite_number(auxiliary_below, "--auxiliary-below")
    hi = finite_number(critical_above, "--critical-above")
    if lo > hi:
        raise ZoolensError(f"--auxiliary-below {lo:g} is above --critical-above {hi:g}",
                           "the auxiliary threshold must not exceed the critical one")
    check_refs(models)
    check_data(settings.data, settings.n_images)


def criticality_one_model(model: WrappedModel, settings: CriticalitySettings, *, engine: str = "fast",
                          batch_size: int = 64, device: str = "cpu", trust_checkpoint: bool = False,
                          display_name: str | None = None, progress=None,
                          layer_slice: tuple[int, int] | None = None) -> tuple[pd.DataFrame, dict]:
    """Per-(layer, seed) metrics for one model; returns (rows, model summary).

    ``layer_slice=(start, stop)`` restricts the work to those layers (in execution
    order) — a work unit of a large model; the rows equal the same slice of a whole run.
    """
    settings.validate()
    name = display_name or display_name_of(model.name)
    data = load_data(settings.data, n=settings.n_images, seed=settings.data_seed, model=model)
    labels = data.labels if len(data.classes) == model.num_classes else None
    if labels is None:
        warnings.warn(f"{name} has {model.num_classes} classes but {settings.data} has {len(data.classes)}: "
                      "accuracy is not reported", stacklevel=2)
    layers = discover_layers(model.net, model.input_size, include_norm=settings.include_norm,
                             pattern=settings.layers)
    if not layers:
        raise ZoolensError(f"no layers of {name} match {settings.layers!r}", "check --layers against `zoolens models info`")
    n_layers_total = len(layers)
    labels_all = paper_labels([l.name for l in layers])  # labels depend on the whole model's layer names
    if layer_slice is not None:
        start, stop = layer_slice
        layers, labels_all = layers[start:stop], labels_all[start:stop]
        if not layers:
            raise ZoolensError(f"{name} has {n_layers_total} layers; slice [{start}:{stop}] is empty",
                               "the model changed since the run was planned: use another --out directory")
    randomizer = Randomizer(model, settings.randomize, trust_checkpoint=trust_checkpoint)
    if model.reinitializer is not None:
        model.reinitializer.cache_size = max(model.reinitializer.cache_size, len(settings.seeds))
    seeds = [settings.seeds[0]] if randomizer.deterministic else list(settings.seeds)
    tick = None
    if progress is not None:
        task = progress.add_task(f"{name}", total=len(layers))
        tick = lambda amount: progress.advance(task, amount)  # noqa: E731
    result = ENGINES[engine](model, layers, data.images, labels, randomizer, seeds, batch_size=batch_size,
                             device=device, precision=settings.precision, tick=tick)
    labels_txt = labels_all
    rows = []
    for l, label in zip(layers, labels_txt):
        for s in seeds:
            m = result.sums[(l.name, s)].result()
            rows.append({"model": name, "layer": l.name or "<root>", "label": label, "layer_index": l.index,
                         "module_type": l.module_type, "n_params": l.n_params, "seed": s, **m})
    df = pd.DataFrame(rows, columns=ROW_COLUMNS)
    bad = df[df["nonfinite"] > 0]
    if len(bad):
        worst = bad.sort_values("nonfinite", ascending=False).iloc[0]
        warnings.warn(f"{name}: {int(bad['nonfinite'].sum())} non-finite outputs over {len(bad)} (layer, seed) pairs "
                      f"(worst: {worst['layer']} seed {worst['seed']}: {int(worst['nonfinite'])} of {len(data)} images); "
                      "they are excluded from the means and counted in the 'nonfinite' column", stacklevel=2)
    summary = {"model": name, "reference": model.name, "clean_accuracy":
               result.clean_correct / len(data) if labels is not None else math.nan,
               "n_images": len(data), "parameters": int(sum(p.numel() for p in model.net.parameters())),
               "n_layers": n_layers_total, "engine": result.engine, "data_fingerprint": data.fingerprint}
    return df, summary


def summarize(rows: pd.DataFrame, *, auxiliary_below: float = AUXILIARY_BELOW,
              critical_above: float = CRITICAL_ABOVE) -> pd.DataFrame:
    """Mean criticality over seeds, its standard error std/√S (NaN for S < 2), and the layer's role.

    role = ``auxiliary`` if mean < ``auxiliary_below``, ``critical`` if mean > ``critical_above``,
    ``unmeasured`` when every seed's output was non-finite (``n_seeds`` = 0), else ``intermediate`` (the criticality paper's terms; its numeric thresholds were lost
    in the text we have, so ours are documented defaults).
    """
    keys = ["model", "layer", "label", "layer_index", "module_type", "n_params"]
    g = rows.groupby(keys, sort=False)["cosine_distance"]
    out = g.agg(criticality_mean="mean", n_seeds="count").reset_index()
    std = g.std(ddof=1).reset_index(drop=True)
    # one seed has no spread to measure and none has no measurement: NaN, never a reassuring 0.0
    out["criticality_sem"] = np.where(out["n_seeds"] > 1, std / np.sqrt(out["n_seeds"].clip(lower=1)), np.nan)
    out["role"] = np.select([out["n_seeds"] == 0, out["criticality_mean"] < auxiliary_below,
                             out["criticality_mean"] > critical_above],
                            ["unmeasured", "auxiliary", "critical"], "intermediate")
    return out[SUMMARY_COLUMNS]


def criticality(models: Sequence[str] | str, data: str = "fashion-mnist", n_images: int | None = 1000, *,
                seeds: int | Sequence[int] = 3, randomize: str = "init", engine: str = "fast",
                include_norm: bool = False, layers: str | None = None, data_seed: int = 0,
                precision: str = "fp32", batch_size: int = 64, device: str = "cpu", out: str | Path | None = None,
                trust_checkpoint: bool = False, auxiliary_below: float = AUXILIARY_BELOW,
                critical_above: float = CRITICAL_ABOVE, progress: bool = False, layers_per_unit: int | None = None,
                executor: "str | ExecutorConfig" = "local", address: str | None = None, gpus_per_unit: float = 0.0,
                cpus_per_unit: float = 1.0, max_retries: int = 3) -> pd.DataFrame:
    """Layer criticality of one or more models (criticality paper, Sec. 3).

    For every layer l and seed s: criticality(l, s) = (1/n) Σ_i [1 − cos(p(x_i), p_{l,s}(x_i))],
    with p = softmax of the model's logits and p_{l,s} the same after replacing l's
    parameters per ``randomize`` (seeded). Also top-1 agreement, accuracy after
    randomization (when the data's classes match the model's), L1/L2 distances of the
    probability vectors and the count of non-finite outputs.

    Parameters
    ----------
    models:
        Model references (``timm:...``, ``zoo:fmnist-mini/NAME``, ...).
    data, n_images, data_seed:
        Evaluation source and its seeded, class-stratified subset.
    seeds:
        Number of seeds (``0..S-1``) or explicit list.
    randomize:
        ``init`` (architecture's own initializer), ``zero`` or ``checkpoint:PATH``.
    engine:
        ``fast`` (exact suffix replay) or ``naive`` (full forward per layer and seed).
    out:
        Run directory; each model is a resumable unit and the tables are written there.
    layers_per_unit:
        Split each model into work units of this many layers (for many GPUs on few big
        models); default one unit per model. Results are identical either way.
    executor, address, gpus_per_unit, cpus_per_unit, max_retries:
        ``local`` (in-process) or ``ray`` (see :class:`zoolens.runtime.ExecutorConfig`).
        A failing unit does not stop the others; the call then raises
        :class:`~zoolens.runtime.units.UnitsFailed` naming it, and rerunning retries only it.

    Returns
    -------
    pandas.DataFrame with one row per (model, layer, seed) — columns ``ROW_COLUMNS``.
    """
    from zoolens.checks import seed_list

    if isinstance(models, str):
        models = [models]
    settings = CriticalitySettings(data=data, n_images=n_images, data_seed=data_seed, seeds=seed_list(seeds),
                                   randomize=randomize, include_norm=include_norm, layers=layers, precision=precision)
    preflight(models, settings, engine=engine, batch_size=batch_size, device=device,
              auxiliary_below=auxiliary_below, critical_above=critical_above)
    names = [display_name_of(m) for m in models]
    if len(set(names)) != len(names):
        raise ZoolensError("the same model is listed twice", "list each model once")
    from zoolens.runtime.executors import ExecutorConfig, make_executor

    exec_cfg = executor if isinstance(executor, ExecutorConfig) else ExecutorConfig(
        kind=executor, address=address, gpus_per_unit=gpus_per_unit, cpus_per_unit=cpus_per_unit,
        max_retries=max_retries)
    runner = make_executor(exec_cfg)
    if out is None:  # units write parts: an in-memory run uses a temporary directory
        import tempfile

        with tempfile.TemporaryDirectory(prefix="zoolens-criticality-") as tmp:
            return _criticality_run(models, names, settings, engine, batch_size, device, Path(tmp),
                                    trust_checkpoint, auxiliary_below, critical_above, progress, layers_per_unit,
                                    runner, write_tables=False, fail_fast=exec_cfg.kind == "local")
    return _criticality_run(models, names, settings, engine, batch_size, device, Path(out), trust_checkpoint,
                            auxiliary_below, critical_above, progress, layers_per_unit, runner)


def plan_criticality_units(models: Sequence[str], settings: CriticalitySettings, *, engine: str = "fast",
                           batch_size: int = 64, device: str = "cpu", trust_checkpoint: bool = False,
                           layers_per_unit: int | None = None, layer_counts: dict[str, int] | None = None
                           ) -> list["WorkUnit"]:
    """Work units of a criticality run: one per model, or per model × slice of ``layers_per_unit`` layers.

    ``layer_counts`` ({ref: number of layers}) is needed only for slicing; the planner
    counts them from the architecture (no weights needed).
    """
    from zoolens.runtime.units import WorkUnit

    from zoolens.models.digest import weights_digest

    units = []
    for ref in models:
        name = display_name_of(ref)
        base = {"ref": ref, "name": name, "settings": asdict(settings), "engine": engine, "batch_size": batch_size,
                "device": device, "trust_checkpoint": trust_checkpoint, "weights_digest": weights_digest(ref)}
        if not layers_per_unit:
            units.append(WorkUnit(f"criticality:{name}", f"{__name__}:criticality_unit",
                                  {**base, "part": name, "layer_slice": None},
                                  (("criticality", name), ("criticality_models", name))))
            continue
        n = (layer_counts or {}).get(ref)
        if n is None:
            raise ZoolensError(f"cannot slice {name} into layer units without its layer count",
                               "plan with zoolens.runtime.plan (it counts layers from the architecture)")
        for start in range(0, n, layers_per_unit):
            stop = min(n, start + layers_per_unit)
            part = f"{name}#layers[{start}:{stop}]"
            units.append(WorkUnit(f"criticality:{part}", f"{__name__}:criticality_unit",
                                  {**base, "part": part, "layer_slice": [start, stop]},
                                  (("criticality", part), ("criticality_models", part))))
    return units


def criticality_unit(payload: dict, run, context: dict) -> dict:
    """Work unit: criticality of one model (or one slice of its layers); writes its two parts."""
    objects = context.get("objects", {})
    model = objects.get(payload["ref"]) or load_model(payload["ref"], trust_checkpoint=payload["trust_checkpoint"])
    settings = CriticalitySettings(**payload["settings"])
    sl = payload.get("layer_slice")
    rows, summary = criticality_one_model(model, settings, engine=payload["engine"], batch_size=payload["batch_size"],
                                          device=payload["device"], trust_checkpoint=payload["trust_checkpoint"],
                                          display_name=payload["name"], progress=context.get("progress"),
                                          **({"layer_slice": tuple(sl)} if sl else {}))
    summary["weights_digest"] = payload.get("weights_digest")
    # rows first: a models part without its rows never exists
    run.write_part("criticality", payload["part"], rows)
    run.write_part("criticality_models", payload["part"], pd.DataFrame([summary]))
    return {"rows": len(rows)}


def drop_stale_parts(run, units) -> list[str]:
    """Delete the parts of units computed from other weights than the reference resolves to now.

    A retrained ``zoo:`` model or a replaced ``@FILE`` checkpoint keeps its reference but
    not its weights: its units are recomputed on resume, every other unit is kept.

    Returns
    -------
    list of str
        The ids of the units whose parts were dropped.
    """
    stale = []
    for u in units:
        part = u.payload["part"]
        if not run.has_part("criticality_models", part):
            continue
        recorded = run.read_part("criticality_models", part).get("weights_digest")
        if recorded is None or str(recorded.iloc[0]) != u.payload["weights_digest"]:
            for kind, pid in u.parts:
                run.part_path(kind, pid).unlink(missing_ok=True)
            stale.append(u.id)
    return stale


def _criticality_run(models, names, settings, engine, batch_size, device, out: Path, trust_checkpoint,
                     auxiliary_below, critical_above, progress, layers_per_unit, runner, *, write_tables=True,
                     fail_fast=False) -> pd.DataFrame:
    from zoolens.runtime import RunDir
    from zoolens.runtime.executors import run_units
    from zoolens.runtime.units import UnitsFailed

    counts = None
    if layers_per_unit:
        from zoolens.runtime.plan import count_layers

        counts = {ref: count_layers(ref, include_norm=settings.include_norm, pattern=settings.layers)
                  for ref in models}
    units = plan_criticality_units(models, settings, engine=engine, batch_size=batch_size, device=device,
                                   trust_checkpoint=trust_checkpoint, layers_per_unit=layers_per_unit,
                                   layer_counts=counts)
    run = RunDir(out, asdict(settings), kind="criticality")
    bar = _progress(progress)
    with run.open(), bar as prog:
        stale = drop_stale_parts(run, units)
        if stale:
            warnings.warn(f"the weights of {len(stale)} unit(s) changed since they ran ({', '.join(stale[:3])}"
                          f"{' …' if len(stale) > 3 else ''}): recomputing them", stacklevel=2)
        report = run_units(run, units, runner, context={"progress": prog, "fail_fast": fail_fast})
        if report.failed:
            run.write_manifest({"models": list(models), "units": report.as_dict(), "complete": False})
            raise UnitsFailed(report.failed, run.path)
        parts = [u.payload["part"] for u in units]
        table = run.read_parts("criticality", parts)
        table = table[ROW_COLUMNS] if len(table) else pd.DataFrame(columns=ROW_COLUMNS)
        # one summary per model: a sliced model's slices each carry the same whole-model summary
        first = {}
        for u in units:
            first.setdefault(u.payload["name"], u.payload["part"])
        models_df = run.read_parts("criticality_models", list(first.values()))
        if write_tables:
            with run.publishing():  # all tables or none (a full disk here leaves a resumable directory)
                _publish(run, table, models_df, auxiliary_below, critical_above)
                run.write_manifest({"models": list(models), "seeds": settings.seeds, "engine": engine,
                                    "data_fingerprints": sorted(set(models_df["data_fingerprint"])),
                                    "thresholds": {"auxiliary_below": auxiliary_below,
                                                   "critical_above": critical_above},
                                    "torch_threads": torch.get_num_threads(), "executor": runner.name,
                                    "layers_per_unit": layers_per_unit, "units": report.as_dict(), "complete": True})
    table.attrs["models"] = models_df
    return table


def _publish(run, table: pd.DataFrame, models_df: pd.DataFrame, auxiliary_below: float,
             critical_above: float) -> None:
    run.write_table("criticality", table)
    run.write_table("criticality_summary", summarize(table, auxiliary_below=auxiliary_below,
                                                     critical_above=critical_above), parquet=False)
    run.write_table("models", models_df, parquet=False)


def _progress(enabled: bool):
    if not enabled:
        return contextlib.nullcontext()
    from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(TextColumn("criticality {task.description}"), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
