"""Criticality engines side by side: naive vs fast (exact suffix replay).

Measures, in one process: wall time of each engine, the speedup, and the FLOP bound
(naive FLOPs / fast FLOPs, counted with torch.utils.flop_counter on the same work).
Peak RSS of each engine is measured in a fresh child process.

    python benchmarks/criticality.py                # timm resnet18@init:0 at 224, 32 images, 3 seeds
    python benchmarks/criticality.py --zoo           # + mini-zoo ResNet on 1,000 images
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import torch
from torch.utils.flop_counter import FlopCounterMode

from zoolens.criticality.engines import ENGINES
from zoolens.criticality.strategies import Randomizer
from zoolens.data import load_data
from zoolens.models import discover_layers, load_model


def _setup(ref: str, n: int):
    model = load_model(ref)
    data = load_data("fashion-mnist", n=n, seed=0, model=model)
    labels = data.labels if model.num_classes == len(data.classes) else None
    layers = discover_layers(model.net, model.input_size)
    return model, data, labels, layers


def _run(engine: str, model, data, labels, layers, seeds, batch_size):
    randomizer = Randomizer(model, "init")
    model.reinitializer.cache_size = max(4, len(seeds))
    return ENGINES[engine](model, layers, data.images, labels, randomizer, seeds, batch_size=batch_size)


def flops(engine: str, model, data, labels, layers, seeds, batch_size) -> int:
    with FlopCounterMode(display=False) as counter:
        _run(engine, model, data, labels, layers, seeds, batch_size)
    return counter.get_total_flops()


def bench(ref: str, n: int, seeds: list[int], batch_size: int, repeats: int) -> dict:
    model, data, labels, layers = _setup(ref, n)
    # FLOPs scale linearly with images: count on a small slice.
    small = type(data)(**{**data.__dict__, "images": data.images[: min(n, 8)], "labels": data.labels[: min(n, 8)]})
    small_labels = small.labels if labels is not None else None
    f_naive = flops("naive", model, small, small_labels, layers, seeds, batch_size)
    f_fast = flops("fast", model, small, small_labels, layers, seeds, batch_size)
    _run("fast", model, data, labels, layers, seeds, batch_size)  # warm-up (fresh builds cached, allocator)
    times = {"naive": [], "fast": []}
    for _ in range(repeats):
        for engine in ("naive", "fast"):
            t0 = time.perf_counter()
            _run(engine, model, data, labels, layers, seeds, batch_size)
            times[engine].append(time.perf_counter() - t0)
    t_naive, t_fast = min(times["naive"]), min(times["fast"])
    bound = f_naive / f_fast
    speedup = t_naive / t_fast
    return {"model": ref, "images": n, "layers": len(layers), "seeds": len(seeds), "naive_s": round(t_naive, 2),
            "fast_s": round(t_fast, 2), "speedup": round(speedup, 3), "flop_bound": round(bound, 3),
            "speedup_over_bound": round(speedup / bound, 3),
            "rss_naive_gb": _child_rss(ref, n, "naive", batch_size), "rss_fast_gb": _child_rss(ref, n, "fast", batch_size)}


def _child_rss(ref: str, n: int, engine: str, batch_size: int) -> float:
    code = (f"import sys; sys.argv=['x']; import benchmarks.criticality as b; "
            f"m,d,l,ls=b._setup({ref!r},{n}); b._run({engine!r},m,d,l,ls,[0,1,2],{batch_size}); "
            "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(int(out.stdout.strip().splitlines()[-1]) / 1024 ** 2, 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", action="store_true", help="also the mini-zoo ResNet on 1,000 images")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rows = [bench("timm:resnet18@init:0", 32, [0, 1, 2], 32, args.repeats)]
    if args.zoo:
        rows.append(bench("zoo:fmnist-mini/resnet_baseline", 1000, [0, 1, 2], 250, args.repeats))
    print(f"torch threads: {torch.get_num_threads()}")
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
