"""Whole-network criticality on a timm ResNet-50 at 224: the authors' approach (naive) vs suffix vs fast.

    python benchmarks/criticality_resnet50.py     # 54 layers × 3 seeds × 8 digits images, ~5 min on 2 cores

One process, one run each after a warm-up (fresh-parameter builds cached); prints the times,
the speedups, the largest |Δ criticality| against naive and the FLOP ratio naive / fast
(from ``zoolens.runtime.plan.arch_info``). The bound is that ratio × (peak / naive's GFLOP/s),
with the peak from ``benchmarks/roofline.py``.
"""
import time, warnings
warnings.simplefilter("ignore")
from benchmarks.criticality import _run
from zoolens.data import load_data
from zoolens.models import discover_layers, load_model
model = load_model("timm:resnet50@init:0").eval()
ds = load_data("digits", n=8, seed=0, model=model)
layers = discover_layers(model.net, model.input_size)
seeds = [0, 1, 2]
res, t = {}, {}
def run(e):
    return _run(e, model, ds, None, layers, seeds, 8)  # the engines as benchmarks/criticality.py runs them
run("fast")  # warm-up: fresh parameter builds cached
for e in ("naive", "fast", "suffix"):
    t0 = time.perf_counter(); res[e] = run(e); t[e] = time.perf_counter() - t0
    print(e, f"{t[e]:.1f} s", flush=True)
d = max(abs(res["fast"].sums[k].result()["cosine_distance"] - res["naive"].sums[k].result()["cosine_distance"]) for k in res["naive"].sums)
print(f"layers {len(layers)} seeds 3 images 8: naive {t['naive']:.1f} s, suffix {t['suffix']:.1f} s, fast {t['fast']:.1f} s; fast/naive speedup {t['naive']/t['fast']:.2f}x, suffix {t['naive']/t['suffix']:.2f}x; max|dcrit| {d:.2e}")
from zoolens.runtime.plan import arch_info
info = arch_info("timm:resnet50@init:0")
F = info.forward_flops; S = 3
print("FLOP ratio naive/fast", (1 + len(layers) * S) * F / (F + S * sum(info.suffix_flops)))
