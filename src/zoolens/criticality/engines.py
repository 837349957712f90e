"""Criticality engines: ``naive`` (a full forward per layer and seed, like the authors'
reference code), ``suffix`` (exact suffix replay, seeds batched) and ``fast`` (the suffix
replay in channels_last with Conv-BN pairs folded). All return the same metrics up to
float rounding; the tests hold them to 1e-5.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator

import torch

from zoolens.inference import AUTOCAST_DTYPES, autocast
from zoolens.criticality.metrics import MetricSums, clean_probabilities
from zoolens.criticality.strategies import Randomizer
from zoolens.criticality.suffix import SuffixGraph, swapped_parameters
from zoolens.models.layers import LayerInfo
from zoolens.models.wrapper import WrappedModel

PRECISIONS = AUTOCAST_DTYPES  # the criticality config validates against these names


@dataclass
class EngineResult:
    """Metric sums per (layer name, seed), the clean accuracy and which engine really ran."""

    sums: dict[tuple[str, int], MetricSums]
    clean_correct: int
    n_images: int
    engine: str


def _batches(images: torch.Tensor, labels: torch.Tensor | None, batch_size: int, device: torch.device,
             channels_last: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    for start in range(0, images.shape[0], batch_size):
        x = images[start:start + batch_size].to(device).float().div_(255.0)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = labels[start:start + batch_size].to(device) if labels is not None else None
        yield x, y


def _param_sets(randomizer: Randomizer, layers: list[LayerInfo], seeds: list[int], device: torch.device,
                channels_last: bool = False) -> dict[str, list[dict[str, torch.Tensor]]]:
    # Seed-major so the re-initializer builds one fresh model per seed.
    out: dict[str, list[dict[str, torch.Tensor]]] = {l.name: [] for l in layers}
    for s in seeds:
        for l in layers:
            out[l.name].append({k: _layout(v.to(device), channels_last)
                                for k, v in randomizer.parameters(l.name, s).items()})
    return out


def _layout(t: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if channels_last and t.dim() == 4 else t


@contextlib.contextmanager
def _channels_last(net: torch.nn.Module, on: bool) -> Iterator[None]:
    """The network's 4-d weights in channels_last while the engine runs (contiguous again after)."""
    if not on:
        yield
        return
    net.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        net.to(memory_format=torch.contiguous_format)


def run_naive(model: WrappedModel, layers: list[LayerInfo], images: torch.Tensor, labels: torch.Tensor | None,
              randomizer: Randomizer, seeds: list[int], *, batch_size: int = 64, device: str = "cpu",
              precision: str = "fp32", tick: Callable[[float], None] | None = None) -> EngineResult:
    """Full forward pass of the whole model for every (layer, seed)."""
    dev = torch.device(device)
    model.to(dev).eval()
    channels_last = dev.type == "cuda"
    sums = {(l.name, s): MetricSums() for l in layers for s in seeds}
    with torch.inference_mode(), autocast(dev, precision):
        clean, correct = [], 0
        for x, y in _batches(images, labels, batch_size, dev, channels_last):
            logits = model(x).float()
            clean.append(clean_probabilities(logits, model.name))
            if y is not None:
                correct += int((logits.argmax(1) == y).sum())
        params = _param_sets(randomizer, layers, seeds, dev)
        for l in layers:
            for j, s in enumerate(seeds):
                with swapped_parameters(model.net, l.name, params[l.name][j]):
                    for b, (x, y) in enumerate(_batches(images, labels, batch_size, dev, channels_last)):
                        sums[(l.name, s)].update(clean[b], model(x).float(), y)
            if tick:
                tick(1.0)
    return EngineResult(sums, correct, int(images.shape[0]), "naive")


def run_fast(model: WrappedModel, layers: list[LayerInfo], images: torch.Tensor, labels: torch.Tensor | None,
             randomizer: Randomizer, seeds: list[int], *, batch_size: int = 64, device: str = "cpu",
             precision: str = "fp32", tick: Callable[[float], None] | None = None,
             optimize: bool = True) -> EngineResult:
    """Exact suffix replay; falls back to :func:`run_naive` (with a warning) if the model cannot be traced.

    ``optimize`` (default) runs in channels_last with eval-mode Conv-BN pairs folded (and
    folded again for each reset of either layer); ``False`` replays the plain graph in
    the model's own layout. Both agree with the naive engine up to float rounding.
    """
    dev = torch.device(device)
    model.to(dev).eval()
    channels_last = dev.type == "cuda" or optimize
    with _channels_last(model.net, channels_last):
        return _run_fast(model, layers, images, labels, randomizer, seeds, batch_size, dev, precision, tick,
                         optimize, channels_last)


def _run_fast(model: WrappedModel, layers: list[LayerInfo], images: torch.Tensor, labels: torch.Tensor | None,
              randomizer: Randomizer, seeds: list[int], batch_size: int, dev: torch.device, precision: str,
              tick: Callable[[float], None] | None, optimize: bool, channels_last: bool) -> EngineResult:
    try:
        graph = SuffixGraph(model.net, model.input_size, fold_bn=optimize)
    except Exception as exc:  # fx raises many error types on untraceable code
        warnings.warn(f"{model.name} cannot be traced with torch.fx ({type(exc).__name__}: "
                      f"{str(exc).splitlines()[0][:120]}); using the naive engine for it", stacklevel=2)
        return run_naive(model, layers, images, labels, randomizer, seeds, batch_size=batch_size, device=str(dev),
                         precision=precision, tick=tick)
    sums = {(l.name, s): MetricSums() for l in layers for s in seeds}
    plans = {l.name: graph.plan(l.name, l.param_names, batched=len(seeds) > 1) for l in layers}
    keep = graph.stored_nodes()
    params = _param_sets(randomizer, layers, seeds, dev, channels_last)
    correct = 0
    n_batches = (images.shape[0] + batch_size - 1) // batch_size
    with torch.inference_mode(), autocast(dev, precision):
        for b, (x, y) in enumerate(_batches(images, labels, batch_size, dev, channels_last)):
            logits, env = graph.run(model.normalize(x), keep=keep)
            logits = logits.float()
            probs = clean_probabilities(logits, model.name)
            if y is not None:
                correct += int((logits.argmax(1) == y).sum())
            for l in layers:
                outs = graph.replay(plans[l.name], env, params[l.name])
                for s, out in zip(seeds, outs):
                    sums[(l.name, s)].update(probs, out.float(), y)
                if tick:
                    tick(1.0 / n_batches)
            del env
    return EngineResult(sums, correct, int(images.shape[0]), "fast")


def run_suffix(model: WrappedModel, layers: list[LayerInfo], images: torch.Tensor, labels: torch.Tensor | None,
               randomizer: Randomizer, seeds: list[int], **kw) -> EngineResult:
    """:func:`run_fast` without layout changes or folding: the plain suffix replay (its exact twin)."""
    result = run_fast(model, layers, images, labels, randomizer, seeds, optimize=False, **kw)
    return dataclasses.replace(result, engine="suffix" if result.engine == "fast" else result.engine)


ENGINES = {"naive": run_naive, "suffix": run_suffix, "fast": run_fast}
