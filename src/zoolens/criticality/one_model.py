"""Criticality of one loaded model: every selected layer, every seed, one table of rows."""

from __future__ import annotations

import math
import warnings

import pandas as pd

from zoolens.criticality.adaptive import run_adaptive
from zoolens.criticality.batching import AUTO, TunedEngine
from zoolens.criticality.config import CriticalityConfig
from zoolens.criticality.engines import ENGINES
from zoolens.criticality.labels import paper_labels
from zoolens.criticality.strategies import Randomizer
from zoolens.criticality.tables import ROW_COLUMNS
from zoolens.data import load_data
from zoolens.errors import ZoolensError
from zoolens.models import discover_layers
from zoolens.models.refs import display_name as display_name_of
from zoolens.models.wrapper import WrappedModel


def criticality_one_model(model: WrappedModel, config: CriticalityConfig, *, display_name: str | None = None,
                          progress=None, layer_slice: tuple[int, int] | None = None) -> tuple[pd.DataFrame, dict]:
    """Per-(layer, seed) metrics for one loaded model (criticality paper, Sec. 3).

    Parameters
    ----------
    model:
        The model, loaded.
    config:
        The run's settings (data, seeds, strategy, engine, precision, …).
    display_name:
        Its name in the tables (default: from its reference).
    progress:
        A ``rich.progress.Progress`` to advance per layer, or ``None``.
    layer_slice:
        ``(start, stop)`` restricts the work to those layers (in execution order) — a work
        unit of a large model; the rows equal the same slice of a whole run.

    Returns
    -------
    (pandas.DataFrame, dict)
        One row per (layer, seed) with ``ROW_COLUMNS``, and the model's summary. With
        ``target_se`` > 0 each layer's rows average over its first ``n_images_used`` images
        of a seeded order (:mod:`zoolens.criticality.adaptive`); the summary counts the image
        forward passes of this call (``image_passes``) and of a fixed budget.
    """
    settings = config
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
    randomizer = Randomizer(model, settings.randomize, trust_checkpoint=settings.trust_checkpoint)
    if model.reinitializer is not None:
        model.reinitializer.cache_size = max(model.reinitializer.cache_size, len(settings.seeds))
    seeds = [settings.seeds[0]] if randomizer.deterministic else list(settings.seeds)
    tick = None
    if progress is not None:
        task = progress.add_task(f"{name}", total=len(layers))
        tick = lambda amount: progress.advance(task, amount)  # noqa: E731
    engine = TunedEngine(ENGINES[settings.engine]) if settings.batch_size == AUTO else ENGINES[settings.engine]
    adaptive = run_adaptive(engine, model, layers, data.images, labels, randomizer, seeds,
                            target_se=settings.target_se, chunk=settings.se_chunk, order_seed=settings.data_seed,
                            batch_size=settings.batch_size, device=settings.device, precision=settings.precision,
                            tick=tick)
    result = adaptive.result
    rows = []
    for l, label in zip(layers, labels_all):
        for s in seeds:
            m = result.sums[(l.name, s)].result()
            rows.append({"model": name, "layer": l.name or "<root>", "label": label, "layer_index": l.index,
                         "module_type": l.module_type, "n_params": l.n_params, "seed": s, **m,
                         "n_images_used": adaptive.n_used[l.name], "image_se": adaptive.se[l.name]})
    df = pd.DataFrame(rows, columns=ROW_COLUMNS)
    bad = df[df["nonfinite"] > 0]
    if len(bad):
        worst = bad.sort_values("nonfinite", ascending=False).iloc[0]
        warnings.warn(f"{name}: {int(bad['nonfinite'].sum())} non-finite outputs over {len(bad)} (layer, seed) pairs "
                      f"(worst: {worst['layer']} seed {worst['seed']}: {int(worst['nonfinite'])} of "
                      f"{int(worst['n_images_used'])} images); "
                      "they are excluded from the means and counted in the 'nonfinite' column", stacklevel=2)
    summary = {"model": name, "reference": model.name, "clean_accuracy":
               result.clean_correct / len(data) if labels is not None else math.nan,
               "n_images": len(data), "parameters": int(sum(p.numel() for p in model.net.parameters())),
               "n_layers": n_layers_total, "engine": result.engine, "data_fingerprint": data.fingerprint,
               "batch_size": engine.batch if isinstance(engine, TunedEngine) else settings.batch_size,
               "image_passes": adaptive.image_passes, "image_passes_fixed": adaptive.image_passes_fixed}
    return df, summary


__all__ = ["criticality_one_model"]
