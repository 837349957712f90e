"""Criticality runs: models × layers × seeds → tidy tables, one resumable unit per model."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from zoolens.criticality.engines import ENGINES, PRECISIONS
from zoolens.criticality.labels import paper_labels
from zoolens.criticality.strategies import Randomizer
from zoolens.data import load_data
from zoolens.errors import ZoolensError
from zoolens.models import discover_layers, load_model
from zoolens.models.wrapper import WrappedModel

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
        if self.precision not in PRECISIONS:
            raise ZoolensError(f"unknown precision {self.precision!r}", "use fp32, bf16 or fp16")
        if not self.seeds:
            raise ZoolensError("no seeds given", "pass --seeds N with N ≥ 1")


def model_display_name(ref: str) -> str:
    """``zoo:fmnist-mini/resnet_baseline`` → ``resnet_baseline``; other references stay as given."""
    return ref.split("/", 1)[1] if ref.startswith("zoo:") else ref


def criticality_one_model(model: WrappedModel, settings: CriticalitySettings, *, engine: str = "fast",
                          batch_size: int = 64, device: str = "cpu", trust_checkpoint: bool = False,
                          display_name: str | None = None, progress=None) -> tuple[pd.DataFrame, dict]:
    """Per-(layer, seed) metrics for one model; returns (rows, model summary)."""
    settings.validate()
    name = display_name or model_display_name(model.name)
    data = load_data(settings.data, n=settings.n_images, seed=settings.data_seed, model=model)
    labels = data.labels if len(data.classes) == model.num_classes else None
    if labels is None:
        warnings.warn(f"{name} has {model.num_classes} classes but {settings.data} has {len(data.classes)}: "
                      "accuracy is not reported", stacklevel=2)
    layers = discover_layers(model.net, model.input_size, include_norm=settings.include_norm,
                             pattern=settings.layers)
    if not layers:
        raise ZoolensError(f"no layers of {name} match {settings.layers!r}", "check --layers against `zoolens models info`")
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
    labels_txt = paper_labels([l.name for l in layers])
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
               "n_layers": len(layers), "engine": result.engine, "data_fingerprint": data.fingerprint}
    return df, summary


def summarize(rows: pd.DataFrame, *, auxiliary_below: float = AUXILIARY_BELOW,
              critical_above: float = CRITICAL_ABOVE) -> pd.DataFrame:
    """Mean criticality over seeds, its standard error std/√S, and the layer's role.

    role = ``auxiliary`` if mean < ``auxiliary_below``, ``critical`` if mean > ``critical_above``,
    else ``intermediate`` (the criticality paper's terms; its numeric thresholds were lost
    in the text we have, so ours are documented defaults).
    """
    keys = ["model", "layer", "label", "layer_index", "module_type", "n_params"]
    g = rows.groupby(keys, sort=False)["cosine_distance"]
    out = g.agg(criticality_mean="mean", n_seeds="count").reset_index()
    std = g.std(ddof=1).reset_index(drop=True)
    out["criticality_sem"] = np.where(out["n_seeds"] > 1, std / np.sqrt(out["n_seeds"]), 0.0)
    out["role"] = np.select([out["criticality_mean"] < auxiliary_below, out["criticality_mean"] > critical_above],
                            ["auxiliary", "critical"], "intermediate")
    return out[SUMMARY_COLUMNS]


def criticality(models: Sequence[str] | str, data: str = "fashion-mnist", n_images: int | None = 1000, *,
                seeds: int | Sequence[int] = 3, randomize: str = "init", engine: str = "fast",
                include_norm: bool = False, layers: str | None = None, data_seed: int = 0,
                precision: str = "fp32", batch_size: int = 64, device: str = "cpu", out: str | Path | None = None,
                trust_checkpoint: bool = False, auxiliary_below: float = AUXILIARY_BELOW,
                critical_above: float = CRITICAL_ABOVE, progress: bool = False) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame with one row per (model, layer, seed) — columns ``ROW_COLUMNS``.
    """
    if isinstance(models, str):
        models = [models]
    if engine not in ENGINES:
        raise ZoolensError(f"unknown engine {engine!r}", "use fast or naive")
    settings = CriticalitySettings(data=data, n_images=n_images, data_seed=data_seed,
                                   seeds=list(range(seeds)) if isinstance(seeds, int) else list(seeds),
                                   randomize=randomize, include_norm=include_norm, layers=layers, precision=precision)
    settings.validate()
    names = [model_display_name(m) for m in models]
    if len(set(names)) != len(names):
        raise ZoolensError("the same model is listed twice", "list each model once")
    from zoolens.runtime import RunDir

    run = RunDir(out, asdict(settings), kind="criticality") if out is not None else None
    ctx = run.open() if run is not None else _nullcontext()
    bar = _progress(progress)
    with ctx, bar as prog:
        frames, summaries = [], []
        for ref, name in zip(models, names):
            if run is not None and run.has_part("criticality", name) and run.has_part("criticality_models", name):
                frames.append(run.read_part("criticality", name))
                summaries.append(run.read_part("criticality_models", name))
                continue
            model = load_model(ref, trust_checkpoint=trust_checkpoint)
            rows, summary = criticality_one_model(model, settings, engine=engine, batch_size=batch_size,
                                                  device=device, trust_checkpoint=trust_checkpoint,
                                                  display_name=name, progress=prog)
            summary_df = pd.DataFrame([summary])
            if run is not None:  # rows first: a part of models without rows never exists
                run.write_part("criticality", name, rows)
                run.write_part("criticality_models", name, summary_df)
            frames.append(rows)
            summaries.append(summary_df)
            del model
        table = pd.concat(frames, ignore_index=True)
        models_df = pd.concat(summaries, ignore_index=True)
        if run is not None:
            run.write_table("criticality", table)
            run.write_table("criticality_summary", summarize(table, auxiliary_below=auxiliary_below,
                                                             critical_above=critical_above), parquet=False)
            run.write_table("models", models_df, parquet=False)
            run.write_manifest({"models": list(models), "seeds": settings.seeds, "engine": engine,
                                "data_fingerprints": sorted(set(models_df["data_fingerprint"])),
                                "thresholds": {"auxiliary_below": auxiliary_below, "critical_above": critical_above},
                                "torch_threads": torch.get_num_threads()})
    table.attrs["models"] = models_df
    return table


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _progress(enabled: bool):
    if not enabled:
        return _nullcontext()
    from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(TextColumn("criticality {task.description}"), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
