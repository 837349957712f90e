"""Adaptive image budgets (``--target-se X``): images in seeded chunks per layer until its standard error is ≤ X.

The layer's standard error (:func:`image_se`) treats the *image* as the sampling unit:
average each image's distance 1 − cos over the seeds, then take the standard deviation
of those n image means over √n. It is the standard error of the layer's criticality
given the drawn randomizations — exactly the part of the uncertainty that more images
reduce. The part that comes from the seeds (how destructive each draw is; the summary's
``criticality_sem``, std/√S over the seeds) does not shrink with images, so a target on a
total error could be unreachable; and pooling the n·S (image, seed) values as if
independent would understate the error, since an image hard for one draw is hard for the
others.

The schedule: the evaluation subset is visited in a seeded random order (a permutation
seeded by ``data_seed``, so each prefix is a random sample even when the source is sorted
by class). Chunks of ``se_chunk`` images go through the engine for the layers not yet
finished; after each chunk a layer whose standard error is ≤ X is finished. Every layer
stops at the whole subset at the latest. When the data has labels, the images no layer
used still get their clean forward pass, so the model's clean accuracy is over the whole
subset as in a fixed run. With X = 0 nothing can finish early and the engine runs once over the subset in its
usual order, exactly as a fixed-budget run (the same numbers, bit for bit).

The caveat of optional stopping is in ``docs/criticality.md``: the number of images depends
on the data, so the result is not a fixed-n estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from zoolens.criticality.engines import EngineResult
from zoolens.criticality.metrics import MetricSums, merge_into
from zoolens.criticality.strategies import Randomizer
from zoolens.models.layers import LayerInfo
from zoolens.models.wrapper import WrappedModel

Engine = Callable[..., EngineResult]


def image_se(values: np.ndarray) -> float:
    """Standard error of a layer's criticality over images, given its seeds.

    Parameters
    ----------
    values:
        (n_images, n_seeds) per-image distances 1 − cos(p(x_i), p_{l,s}(x_i)), NaN where the
        randomized output was non-finite.

    Returns
    -------
    float
        With m_i the mean over image i's finite seeds (images with none are left out) and
        n' the number of such images: std(m, ddof=1) / √n'. NaN for n' < 2.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    finite = ~np.isnan(values)
    count = finite.sum(axis=1)
    keep = count > 0
    means = np.where(finite, values, 0.0).sum(axis=1)[keep] / count[keep]
    if len(means) < 2:
        return math.nan
    return float(means.std(ddof=1) / math.sqrt(len(means)))


def layer_se(sums: dict[tuple[str, int], MetricSums], layer: str, seeds: list[int]) -> float:
    """:func:`image_se` of one layer from its per-seed sums (their ``per_image`` values)."""
    return image_se(np.column_stack([sums[(layer, s)].image_values() for s in seeds]))


@dataclass
class AdaptiveResult:
    """An engine's result over the images each layer used, and what it cost.

    ``n_used[layer]``: images the layer's rows average over (a prefix of the seeded order);
    ``se[layer]``: its :func:`image_se` there. ``image_passes``: image forward passes as the
    naive engine counts them — each image once clean, plus once per (layer, seed) that
    used it; ``image_passes_fixed``: the same for a fixed budget, n·(1 + L·S).
    """

    result: EngineResult
    n_used: dict[str, int]
    se: dict[str, float]
    image_passes: int
    image_passes_fixed: int


def image_order(n: int, seed: int) -> np.ndarray:
    """The order in which an adaptive run visits the subset: a permutation seeded by ``seed``."""
    return np.random.default_rng([seed, 1]).permutation(n)


def run_adaptive(engine: Engine, model: WrappedModel, layers: list[LayerInfo], images: torch.Tensor,
                 labels: torch.Tensor | None, randomizer: Randomizer, seeds: list[int], *, target_se: float,
                 chunk: int, order_seed: int, batch_size: int = 64, device: str = "cpu", precision: str = "fp32",
                 tick: Callable[[float], None] | None = None) -> AdaptiveResult:
    """Run ``engine`` (:data:`~zoolens.criticality.engines.ENGINES`) on each layer until its SE ≤ ``target_se``.

    Parameters
    ----------
    engine:
        ``run_fast`` or ``run_naive``; called once per chunk on the unfinished layers.
    target_se:
        X ≥ 0. With 0, one engine call on every image, in their order (the fixed budget).
    chunk:
        Images added per step (the first step too).
    order_seed:
        Seed of the visiting order (:func:`image_order`).
    tick:
        Progress: advances by the number of layers in total, as the engine's own.
    """
    n, n_seeds = int(images.shape[0]), len(seeds)
    fixed = n * (1 + len(layers) * n_seeds)
    kw = dict(batch_size=batch_size, device=device, precision=precision)
    if target_se <= 0:
        res = engine(model, layers, images, labels, randomizer, seeds, tick=tick, **kw)
        return AdaptiveResult(res, {l.name: n for l in layers},
                              {l.name: layer_se(res.sums, l.name, seeds) for l in layers}, fixed, fixed)
    order = torch.from_numpy(image_order(n, order_seed))
    sums: dict[tuple[str, int], MetricSums] = {}
    n_used: dict[str, int] = {}
    se: dict[str, float] = {}
    active, passes, correct, seen, engine_name = list(layers), 0, 0, 0, None
    while active and seen < n:
        idx = order[seen:seen + chunk]
        share = len(idx) / n
        res = engine(model, active, images[idx], labels[idx] if labels is not None else None, randomizer, seeds,
                     tick=(lambda amount: tick(amount * share)) if tick else None, **kw)
        engine_name = engine_name or res.engine
        passes += len(idx) * (1 + len(active) * n_seeds)
        correct += res.clean_correct
        seen += len(idx)
        merge_into(sums, res.sums)
        for l in active:
            n_used[l.name] = seen
            se[l.name] = layer_se(sums, l.name, seeds)
        active = [l for l in active if not se[l.name] <= target_se]  # NaN SE (under 2 images) never finishes
    if tick:
        tick(sum(1.0 - n_used[l.name] / n for l in layers))
    if seen < n and labels is not None:  # the rest only clean: the clean accuracy is over the whole subset
        rest = order[seen:]
        res = engine(model, [], images[rest], labels[rest] if labels is not None else None, randomizer, seeds, **kw)
        passes += len(rest)
        correct += res.clean_correct
    result = EngineResult(sums, correct, n, engine_name or "fast")
    return AdaptiveResult(result, n_used, se, passes, fixed)


__all__ = ["AdaptiveResult", "image_order", "image_se", "layer_se", "run_adaptive"]
