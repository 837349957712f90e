"""Which batch size the criticality engine runs fastest, and whether ``--batch-size auto`` finds it.

    python benchmarks/batch_size.py            # mini zoo ResNet, ViT, ConvNeXt (512 images, 3 seeds)
    python benchmarks/batch_size.py --r50      # + timm ResNet-50 @224 (64 digits images, every 12th layer, 2 seeds; ~5 min)

In one process, per model: the fast engine on all its (selected) layers at every fixed batch
(best of 2; ResNet-50: one), then ``auto`` end to end (its first slices at doubling batches included, the same). Printed per model: the
images/s of each batch, the best batch, the default 64, auto's pick, and two ratios measured
side by side: auto's whole time (tuning slices + the rest) against the default's and against the best
fixed batch's. The bound of auto against the default is the best batch's speedup.

Also printed, for the record, what a static cache rule would have chosen: the largest power
of two ≥ 4 with batch × seeds × (inputs + output of the busiest leaf module, one image) +
its weights ≤ the last-level cache. It did no better than the default here, so it is not
in the package; its working-set measure lives only in this file.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch

from benchmarks.criticality import _run
from zoolens.criticality.batching import TunedEngine
from zoolens.criticality.engines import ENGINES
from zoolens.criticality.strategies import Randomizer
from zoolens.data import load_data
from zoolens.models import discover_layers, load_model

DEFAULT = 64


def _bytes(v) -> int:
    if isinstance(v, torch.Tensor):
        return v.numel() * v.element_size()
    return sum(_bytes(x) for x in v) if isinstance(v, (tuple, list)) else 0


def busiest_leaf(net: torch.nn.Module, input_size) -> tuple[int, int]:
    """(inputs + output bytes of the busiest leaf module for one image, the largest leaf's weight bytes)."""
    sizes: list[int] = []
    leaves = [m for _, m in net.named_modules() if not any(True for _ in m.children())]
    hooks = [m.register_forward_hook(lambda _m, a, o: sizes.append(_bytes(a) + _bytes(o))) for m in leaves]
    try:
        with torch.no_grad():
            net.eval()(torch.zeros(1, *input_size))
    finally:
        for h in hooks:
            h.remove()
    weights = max(sum(p.numel() * p.element_size() for p in m.parameters(recurse=False)) for m in leaves)
    return max(sizes), weights


def last_level_cache() -> int:
    caches = [int(p.read_text().strip().rstrip("K")) * 1024
              for p in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size")]
    return max(caches, default=32 << 20)


def static_rule(per_image: int, weights: int, seeds: int, cache: int) -> int:
    b = 4
    while b * 2 <= 512 and b * 2 * seeds * per_image + weights <= cache:
        b *= 2
    return b


def bench(ref: str, data_name: str, n: int, every: int, seeds: list[int], batches: list[int],
          repeats: int = 2) -> dict:
    model = load_model(ref)
    data = load_data(data_name, n=n, seed=0, model=model)
    labels = data.labels if model.num_classes == len(data.classes) else None
    layers = discover_layers(model.net, model.input_size)[::every]
    _run("fast", model, data, labels, layers, seeds, DEFAULT)  # warm-up
    rate = {}
    for b in batches:
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _run("fast", model, data, labels, layers, seeds, b)
            ts.append(time.perf_counter() - t0)
        rate[b] = min(ts)
    auto_t, pick = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        tuned = TunedEngine(ENGINES["fast"])
        tuned(model, layers, data.images, labels, Randomizer(model, "init"), seeds)
        auto_t.append(time.perf_counter() - t0)
        pick = tuned.batch
    best = min(rate, key=rate.get)
    per_image, weights = busiest_leaf(model.net, model.input_size)
    rule = static_rule(per_image, weights, len(seeds), last_level_cache())
    rule_b = max(b for b in batches if b <= rule)
    return {"model": ref, "images": n, "layers": len(layers), "seeds": len(seeds),
            "img_per_s": {b: round(n / t, 1) for b, t in rate.items()}, "best": best, "auto_pick": pick,
            "auto_s": round(min(auto_t), 3), "default_s": round(rate[DEFAULT], 3), "best_s": round(rate[best], 3),
            "auto_vs_default": round(rate[DEFAULT] / min(auto_t), 3), "bound": round(rate[DEFAULT] / rate[best], 3),
            "auto_vs_best": round(rate[best] / min(auto_t), 3), "static_rule": rule,
            "static_rule_of_best": round(rate[best] / rate[rule_b], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--r50", action="store_true", help="also timm ResNet-50 at 224 (about 5 minutes)")
    ap.add_argument("--only-r50", action="store_true", help="only timm ResNet-50 at 224")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, last-level cache "
          f"{last_level_cache() >> 20} MiB", flush=True)
    jobs = [] if args.only_r50 else [(f"zoo:fmnist-mini/{m}", "fashion-mnist", 512, 1, [0, 1, 2], [8, 16, 32, 64, 128, 256, 512])
            for m in ("resnet_baseline", "vit_baseline", "convnext_baseline")]
    if args.r50 or args.only_r50:
        jobs.append(("timm:resnet50@init:0", "digits", 64, 12, [0, 1], [4, 8, 16, 32, 64], 1))
    for job in jobs:
        print(bench(*job), flush=True)


if __name__ == "__main__":
    main()
