"""``--batch-size auto``: the batch this machine runs fastest, measured on the engine itself.

The best batch is set by two costs that no static rule captured here. Small batches pay the
replay's per-pass overhead (Python, kernel set-up) on few images; large ones spill the CPU's
cache. Measured with the fast engine (2-core AMD EPYC, 32 MiB L3; ``benchmarks/batch_size.py``,
numbers in ``benchmarks/RESULTS.md``), the best batch was 128 for the mini ResNet, 32-64 for
the mini ViT and ConvNeXt and 8 for a ResNet-50 at 224. A rule "largest batch whose busiest
layer fits in L3" did no better than the fixed default of 64 on the mini zoo. So, like
``torch.backends.cudnn.benchmark`` for convolution algorithms, ``auto`` times the run's own
first images at doubling batch sizes and keeps the fastest (:class:`TunedEngine`). Timing one
layer on separate probe images instead chose badly (512 / 256 / 256): the clean pass, run once
per batch, weighs far more in one layer's work than in a whole model's.

The batch changes only how images are grouped, not which are measured (two batch sizes
differ by float rounding, ~1e-16), so it is not part of a run's spec; the batch a model ran
with is in ``models.csv`` (``batch_size``).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import torch

from zoolens.criticality.engines import EngineResult
from zoolens.criticality.metrics import MetricSums, merge_into
from zoolens.criticality.strategies import Randomizer
from zoolens.models.layers import LayerInfo
from zoolens.models.wrapper import WrappedModel

AUTO = "auto"
START = 4        # the smallest batch tried
CEILING = 512    # the largest: beyond it nothing measured got faster, and the cached clean pass grows
MIN_GAIN = 1.03  # a doubling must be ≥ 3 % faster per image to count as better (timer noise)
MIN_SECONDS = 0.05  # each batch size is timed over at least this long (several slices when they are quick;
                    # 0.25 s made tuning cost more than a 512-image mini-zoo run: 0.59× the default)


class TunedEngine:
    """An engine (:data:`~zoolens.criticality.engines.ENGINES`) that picks its batch on the run's own images.

    Its first call runs consecutive slices of the images at doubling batch sizes from
    :data:`START` (after one untimed warm-up slice of that size). Each size is timed per
    image over at least :data:`MIN_SECONDS` of slices (every layer, every seed: the real
    work, so nothing is thrown away) until a doubling is no longer :data:`MIN_GAIN` faster;
    the rest of that call and every later call use the fastest batch seen (:attr:`batch`).
    The results merge the slices' metric sums, so they equal one call at any fixed batch up to
    float rounding (the order of the sums).
    """

    def __init__(self, engine: Callable, *, start: int = START, ceiling: int = CEILING,
                 min_gain: float = MIN_GAIN, min_seconds: float = MIN_SECONDS,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.engine, self.start, self.ceiling, self.min_gain, self.clock = engine, start, ceiling, min_gain, clock
        self.min_seconds = min_seconds
        self.batch: int | None = None
        self.timings: dict[int, float] = {}

    def __call__(self, model: WrappedModel, layers: list[LayerInfo], images: torch.Tensor,
                 labels: torch.Tensor | None, randomizer: Randomizer, seeds: list[int], *, batch_size: Any = AUTO,
                 tick: Callable[[float], None] | None = None, **kw: Any) -> EngineResult:
        n = int(images.shape[0])
        parts, pos, b, best = [], 0, self.start, None
        if self.batch is None and not self.timings:  # warm-up slice, untimed: fresh layers drawn, buffers allocated
            pos = min(self.start, n)
            parts.append(self._call(model, layers, images, labels, randomizer, seeds, 0, pos, pos, tick, n, kw))
        while self.batch is None and pos < n - b + 1:
            # full slices of b until MIN_SECONDS have passed: one slice of a few ms is timer and scheduler noise
            t0, done = self.clock(), 0
            while pos + b <= n and (done == 0 or self.clock() - t0 < self.min_seconds):
                parts.append(self._call(model, layers, images, labels, randomizer, seeds, pos, b, b, tick, n, kw))
                pos, done = pos + b, done + b
            self.timings[b] = (self.clock() - t0) / done
            if best is None or self.timings[b] * self.min_gain <= self.timings[best]:
                best = b
            else:
                self.batch = best
            if b * 2 > self.ceiling and self.batch is None:
                self.batch = best
            b *= 2
        if self.batch is None and best is not None:  # the images ran out while it was still getting faster
            self.batch = best
        if pos < n:
            parts.append(self._call(model, layers, images, labels, randomizer, seeds, pos, n - pos,
                                    self.batch or self.start, tick, n, kw))
        return _merged(parts, n)

    def _call(self, model, layers, images, labels, randomizer, seeds, pos, take, batch, tick, n, kw) -> EngineResult:
        share = take / n
        return self.engine(model, layers, images[pos:pos + take], labels[pos:pos + take] if labels is not None
                           else None, randomizer, seeds, batch_size=batch,
                           tick=(lambda amount: tick(amount * share)) if tick else None, **kw)


def _merged(parts: list[EngineResult], n: int) -> EngineResult:
    sums: dict[tuple[str, int], MetricSums] = {}
    for part in parts:
        merge_into(sums, part.sums)
    return EngineResult(sums, sum(p.clean_correct for p in parts), n, parts[0].engine if parts else "fast")


__all__ = ["AUTO", "CEILING", "MIN_GAIN", "MIN_SECONDS", "START", "TunedEngine"]
