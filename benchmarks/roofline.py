"""Roofline of zoolens' hot loops: attained FLOP/s of each loop against this machine's matmul peak.

    python benchmarks/roofline.py                   # mini zoo + timm ResNet-50, ViT-S/16, ConvNeXt-T at 224
    python benchmarks/roofline.py --quick           # mini zoo + ResNet-50 only, one repeat
    python benchmarks/roofline.py --json out.json   # also write the rows

For every model and loop, the variants run side by side in one process (interleaved
repeats, best time kept), so each ratio compares like with like:

- ``clean``: logits of a batch; the model as loaded ("plain", contiguous) vs its fast twin
  (Conv-BN folded, channels_last) vs the twin under bf16 autocast.
- ``transfer``: ``predict`` (the SAT evaluation loop), plain vs twin.
- ``pgd``: torchattack's PGD vs ours on the plain model vs ours on the twin (no random
  start, same steps); on the mini zoo also the white-box success of each (real images).
- ``criticality``: the authors' approach (``naive``: a full fp32 forward per layer and seed,
  contiguous, all images in one batch) vs ``suffix`` (our replay before this issue) vs
  ``fast`` (suffix replay, channels_last, Conv-BN folded) vs ``fast`` in bf16. At 224 the
  layers are every k-th layer (``--every``), so the suffix FLOP fraction stays typical.

FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add;
convolutions, matmuls and attention) on the very call that is timed. ``bound`` is the
largest speedup the hardware allows: FLOP ratio × (peak / baseline GFLOP/s).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from zoolens.criticality.engines import ENGINES
from zoolens.criticality.strategies import Randomizer
from zoolens.data import load_data
from zoolens.models import discover_layers, load_model
from zoolens.models.fast import fast_twin
from zoolens.similarity import AttackConfig, predict, run_attack

MINI = ["resnet_baseline", "vit_baseline", "convnext_baseline"]
TIMM = ["resnet50", "vit_small_patch16_224", "convnext_tiny"]


def matmul_peak(dtype: torch.dtype, n: int = 4096, seconds: float = 3.0) -> float:
    """Best FLOP/s of ``torch.matmul`` on n×n matrices (the issue's probe)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best, t_end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        a @ b
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0))
    return best


def native_bf16() -> bool:
    """True when the CPU has bf16 matrix instructions (AVX512-BF16 or AMX); without them torch falls
    back to reference kernels about 100× slower than fp32, so the bf16 loops are not timed."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def flops_of(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def race(variants: dict[str, Callable[[], object]], repeats: int, count: bool) -> tuple[dict[str, float], dict]:
    """Best wall time of each variant, the variants interleaved, after one warm-up each (which
    counts the variant's FLOPs when ``count``)."""
    flops = {k: flops_of(fn) if count else fn() for k, fn in variants.items()}
    times = {k: float("inf") for k in variants}
    for _ in range(repeats):
        for k, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[k] = min(times[k], time.perf_counter() - t0)
    return times, flops


def _bf16(fn: Callable[[], object]) -> Callable[[], object]:
    def run():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fn()
    return run


def _rows(model_name: str, loop: str, variants: dict[str, Callable[[], object]], repeats: int,
          peak: dict[str, float], flops: dict[str, int] | None = None) -> list[dict]:
    times, counted = race(variants, repeats, count=flops is None)
    flops = flops or counted
    base = next(iter(variants))
    base_rate = flops[base] / times[base]
    out = []
    for k in variants:
        rate = flops[k] / times[k]
        p = peak["bf16"] if "bf16" in k else peak["fp32"]
        flop_ratio = flops[base] / flops[k]
        out.append({"model": model_name, "loop": loop, "variant": k, "gflop": flops[k] / 1e9, "seconds": times[k],
                    "gflops": rate / 1e9, "of_peak": rate / p, "speedup": times[base] / times[k],
                    "flop_ratio": flop_ratio, "bound": flop_ratio * p / base_rate})
    return out


def bench_model(ref: str, label: str, data: str, n: int, steps: int, every: int, seeds: list[int], repeats: int,
                peak: dict[str, float], bf16: bool) -> list[dict]:
    import torchattack

    model = load_model(ref).eval()
    ds = load_data(data, n=n, seed=0, model=model)
    x, y = ds.images.float() / 255, ds.labels.long()
    twin = fast_twin(model)
    rows = []

    def logits(m):
        return lambda: _no_grad(m, x)
    clean = {"plain": logits(model), "fast": logits(twin)}
    if bf16:
        clean["fast-bf16"] = _bf16(logits(twin))
    rows += _rows(label, "clean", clean, repeats, peak)
    rows += _rows(label, "transfer", {"plain": lambda: predict(model, x, batch_size=n, fast=False),
                                      "fast": lambda: predict(model, x, batch_size=n, fast=True)}, repeats, peak)
    cfg = AttackConfig("pgd", eps=8 / 255, alpha=2 / 255, steps=steps, random_start=False)
    adv: dict[str, torch.Tensor] = {}

    def ours(fast: bool, key: str):
        return lambda: adv.__setitem__(key, run_attack(model, x, y, cfg, batch_size=n, fast=fast))

    def theirs():
        for p in model.parameters():  # as our attack does: no parameter gradients
            p.requires_grad_(False)
        adv["torchattack"] = torchattack.PGD(model, normalize=None, device=torch.device("cpu"), eps=cfg.eps,
                                             steps=steps, alpha=cfg.alpha, random_start=False)(x, y)
    pgd = {"torchattack": theirs, "ours-plain": ours(False, "ours-plain"), "ours-fast": ours(True, "ours-fast")}
    # FlopCounterMode's backward hooks break autograd.grad on a leaf: count one step with .backward()
    # (parameters frozen, so the same input-gradient ops) and multiply by the steps
    step = {"torchattack": _step_flops(model, x, y), "ours-plain": _step_flops(model, x, y),
            "ours-fast": _step_flops(twin, x, y)}
    rows += _rows(label, "pgd", pgd, repeats, peak, {k: steps * v for k, v in step.items()})
    if model.num_classes == len(ds.classes):  # white-box success on real labels (equal within 1 point?)
        clean_ok = predict(model, x, fast=False) == y
        for r in rows[-3:]:
            fooled = predict(model, adv[r["variant"]], fast=False) != y
            r["success"] = float((fooled & clean_ok).sum() / clean_ok.sum())
    layers = discover_layers(model.net, model.input_size)[::every]
    labels = ds.labels if model.num_classes == len(ds.classes) else None
    results = {}

    def crit(engine: str, precision: str = "fp32"):
        def run():
            r = Randomizer(model, "init")
            model.reinitializer.cache_size = max(4, len(seeds))
            results[engine + precision] = ENGINES[engine](model, layers, ds.images, labels, r, seeds, batch_size=n,
                                                          precision=precision)
        return run
    engines = {"naive": crit("naive"), "suffix": crit("suffix"), "fast": crit("fast")}
    if bf16:
        engines["fast-bf16"] = crit("fast", "bf16")
    crit_rows = _rows(label, f"criticality ({len(layers)} layers × {len(seeds)} seeds)", engines, repeats, peak)
    ref_sums = results["naivefp32"].sums
    for r, key in zip(crit_rows, ("naivefp32", "suffixfp32", "fastfp32", "fastbf16")):
        r["max_abs_dcrit"] = max(abs(results[key].sums[k].result()["cosine_distance"]
                                     - ref_sums[k].result()["cosine_distance"]) for k in ref_sums)
    return rows + crit_rows


def _step_flops(m, x, y) -> int:
    flags = [(p, p.requires_grad) for p in m.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    xr = x.clone().requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(m(xr), y, reduction="sum").backward()
    for p, f in flags:
        p.requires_grad_(f)
    return counter.get_total_flops()


def _no_grad(m, x):
    with torch.inference_mode():
        return m(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="mini zoo + ResNet-50 only, one repeat")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8, help="images at 224 (the mini zoo uses 128)")
    ap.add_argument("--every", type=int, default=6, help="at 224: every k-th layer for criticality")
    ap.add_argument("--bf16", action="store_true", help="time the bf16 loops even without native bf16 instructions")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    repeats = 1 if args.quick else args.repeats
    bf16 = native_bf16() or args.bf16
    peak = {"fp32": matmul_peak(torch.float32),
            "bf16": matmul_peak(torch.bfloat16, n=4096 if bf16 else 1024, seconds=3.0 if bf16 else 1.0)}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU kernels "
          f"{torch.backends.cpu.get_cpu_capability()}; matmul peak: fp32 {peak['fp32'] / 1e9:.1f} GFLOP/s (4096²), "
          f"bf16 {peak['bf16'] / 1e9:.1f} GFLOP/s ({4096 if bf16 else 1024}²)"
          + ("" if bf16 else "; no native bf16 instructions: bf16 loops not timed (--bf16 forces them)"), flush=True)
    cols = ["model", "loop", "variant", "gflop", "seconds", "gflops", "of_peak", "speedup", "flop_ratio", "bound"]
    print("| " + " | ".join(cols + ["success", "max_abs_dcrit"]) + " |", flush=True)
    jobs = [(f"zoo:fmnist-mini/{m}", m, "fashion-mnist", 128, 10, 1, [0, 1, 2]) for m in MINI[:1 if args.quick else 3]]
    jobs += [(f"timm:{m}@init:0", f"{m}@224", "digits", args.batch, 2, args.every, [0, 1])
             for m in TIMM[:1 if args.quick else 3]]
    rows = []
    for job in jobs:
        new = bench_model(*job, repeats, peak, bf16)
        for r in new:
            cells = [r[c] if isinstance(r[c], str) else f"{r[c]:.3g}" for c in cols]
            cells += [f"{r[c]:.4g}" if c in r else "" for c in ("success", "max_abs_dcrit")]
            print("| " + " | ".join(cells) + " |", flush=True)
        rows += new
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"peak": peak, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
