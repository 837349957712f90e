"""Adaptive image budgets (``--target-se``) against a fixed budget at equal standard error.

Counts image forward passes (not time): each image once clean, plus once per
(layer, seed) that uses it — the naive engine's work, n·(1 + L·S) for a fixed budget
(the fast engine replays suffixes, but both designs save in the same proportion).

Per model, in one process:
1. a fixed run on N images gives each layer's standard error over images
   (``zoolens.criticality.adaptive.image_se``); X = the largest of them is the precision
   the fixed budget guarantees for every layer;
2. an adaptive run with ``target_se = X`` (every layer then ends with SE ≤ X, or on all N
   images, where its SE is the fixed run's);
3. for reference, the smallest fixed prefix of the same seeded order (a multiple of the
   chunk) at which every layer's SE is ≤ X, read off the fixed run's per-image values:
   what a fixed budget tuned after the fact would have needed.

    python benchmarks/adaptive_budget.py                 # mini-zoo resnet_baseline, fashion-mnist, 1,000 images
    python benchmarks/adaptive_budget.py --resnet50      # + timm resnet50@init:0 (small: 64 images, layer4 + fc)
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from zoolens.criticality.adaptive import image_order, image_se, run_adaptive
from zoolens.criticality.engines import ENGINES
from zoolens.criticality.strategies import Randomizer
from zoolens.data import load_data
from zoolens.models import discover_layers, load_model


def bench(ref: str, data_source: str, n: int, seeds: list[int], chunk: int, layers_re: str | None,
          batch_size: int, engine: str = "fast") -> dict:
    model = load_model(ref)
    data = load_data(data_source, n=n, seed=0, model=model)
    labels = data.labels if model.num_classes == len(data.classes) else None
    layers = discover_layers(model.net, model.input_size, pattern=layers_re)
    randomizer = Randomizer(model, "init")
    model.reinitializer.cache_size = max(model.reinitializer.cache_size, len(seeds))

    def run(target: float):
        t0 = time.perf_counter()
        out = run_adaptive(ENGINES[engine], model, layers, data.images, labels, randomizer, seeds, target_se=target,
                           chunk=chunk, order_seed=0, batch_size=batch_size)
        return out, time.perf_counter() - t0

    fixed, t_fixed = run(0.0)
    target = max(fixed.se.values())
    adaptive, t_adaptive = run(target)
    # the smallest fixed prefix (of the adaptive order) meeting the target on every layer
    order = image_order(len(data), 0)
    values = {l.name: np.column_stack([fixed.result.sums[(l.name, s)].image_values() for s in seeds])[order]
              for l in layers}
    needed = next(k for k in list(range(chunk, len(data), chunk)) + [len(data)]
                  if all(image_se(v[:k]) <= target for v in values.values()) or k == len(data))
    used = np.array([adaptive.n_used[l.name] for l in layers])
    mean_fixed = {l.name: np.mean([fixed.result.sums[(l.name, s)].result()["cosine_distance"] for s in seeds])
                  for l in layers}
    mean_adaptive = {l.name: np.mean([adaptive.result.sums[(l.name, s)].result()["cosine_distance"] for s in seeds])
                     for l in layers}
    shift = max(abs(mean_adaptive[k] - mean_fixed[k]) / fixed.se[k] for k in mean_fixed if fixed.se[k] > 0)
    n_seeds = len(seeds)
    return {
        "model": ref, "data": data_source, "images": len(data), "layers": len(layers), "seeds": n_seeds,
        "chunk": chunk, "target_se (max fixed SE)": float(f"{target:.3g}"),
        "fixed_passes": fixed.image_passes, "adaptive_passes": adaptive.image_passes,
        "adaptive/fixed": round(adaptive.image_passes / fixed.image_passes, 3),
        "adaptive_max_se": float(f"{max(adaptive.se.values()):.3g}"),
        "layers_on_all_images": int((used == len(data)).sum()),
        "images_per_layer min/median/max": [int(used.min()), int(np.median(used)), int(used.max())],
        "tuned_fixed_images": needed, "tuned_fixed_passes": needed * (1 + len(layers) * n_seeds),
        "max |adaptive − fixed| / fixed SE": round(float(shift), 2) if math.isfinite(shift) else None,
        "fixed_s": round(t_fixed, 1), "adaptive_s": round(t_adaptive, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-images", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--skip-zoo", action="store_true", help="Only the ResNet-50 part.")
    ap.add_argument("--resnet50", action="store_true", help="Also timm:resnet50@init:0 at 224 (slow on a CPU).")
    ap.add_argument("--r50-images", type=int, default=64)
    ap.add_argument("--r50-seeds", type=int, default=2)
    ap.add_argument("--r50-chunk", type=int, default=16)
    ap.add_argument("--r50-layers", default=r"^layer4\.|^fc$", help="Regex on module paths (default: layer4 and fc).")
    a = ap.parse_args()
    results = []
    if not a.skip_zoo:
        results.append(bench("zoo:fmnist-mini/resnet_baseline", "fashion-mnist", a.n_images, list(range(a.seeds)),
                             a.chunk, None, batch_size=100))
        print(json.dumps(results[-1]), flush=True)
    if a.resnet50:
        results.append(bench("timm:resnet50@init:0", "fashion-mnist", a.r50_images, list(range(a.r50_seeds)),
                             a.r50_chunk, a.r50_layers, batch_size=16))
        print(json.dumps(results[-1]), flush=True)


if __name__ == "__main__":
    main()
