"""How far bf16 (autocast) moves zoolens' results from fp32: the error bound of ``--precision bf16``.

    python benchmarks/precision.py                 # the trained mini zoo
    python benchmarks/precision.py --n-images 100  # smaller

Measured, each model in fp32 and in bf16 with the same seeds, images and engine (``fast``):

- criticality: max |Δ criticality| over (layer, seed) rows and over per-layer means, and the
  Spearman correlation of the layers' ranks by mean criticality (does bf16 reorder layers?);
- SAT on the mini zoo: max |Δ transfer rate| over ordered pairs, max |Δ SAT| over pairs,
  and the white-box success rates.

This measures error, not speed: it runs on any CPU (bf16 without native instructions is
slow, so the budgets are small). fp32 stays the default; see docs/scaling.md. timm models
are not included: without downloadable weights they are untrained here, their softmax
outputs are near uniform and every criticality is ~1e-10, so their bf16 error says nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings

import numpy as np
from scipy.stats import spearmanr

from zoolens.criticality import criticality
from zoolens.similarity import run_sat

MINI = ["resnet_baseline", "vit_baseline", "convnext_baseline", "vgg_baseline", "mixer_baseline"]


def criticality_error(ref: str, data: str, n: int, seeds: int) -> dict:
    kw = dict(data=data, n_images=n, seeds=seeds, engine="fast", batch_size=n)
    a = criticality(ref, precision="fp32", **kw)
    b = criticality(ref, precision="bf16", **kw)
    rows = np.abs(a["cosine_distance"].to_numpy() - b["cosine_distance"].to_numpy())
    ma = a.groupby("layer", sort=False)["cosine_distance"].mean()
    mb = b.groupby("layer", sort=False)["cosine_distance"].mean()
    return {"model": ref, "layers": len(ma), "max_abs_dcrit_rows": float(rows.max()),
            "max_abs_dcrit_layer_means": float((ma - mb).abs().max()), "max_crit": float(ma.max()),
            "spearman_layer_ranks": float(spearmanr(ma.to_numpy(), mb.to_numpy()).statistic)}


def sat_error(refs: list[str], n: int, steps: int) -> dict:
    kw = dict(data="fashion-mnist", n_images=n, steps=steps, eps=16 / 255, alpha=4 / 255, batch_size=n,
              n_resamples=20)
    with tempfile.TemporaryDirectory() as tmp:
        a = run_sat(refs, out=f"{tmp}/fp32", **kw)
        b = run_sat(refs, out=f"{tmp}/bf16", compute_precision="bf16", **kw)
    ra = a.transfer.set_index(["source", "target"])["rate"]
    rb = b.transfer.set_index(["source", "target"])["rate"]
    sa, sb = a.sat.to_numpy(float), b.sat.to_numpy(float)
    off = ~np.eye(len(sa), dtype=bool)
    return {"models": len(refs), "images": n, "pgd_steps": steps,
            "max_abs_dtransfer": float((ra - rb).abs().max()), "mean_abs_dtransfer": float((ra - rb).abs().mean()),
            "max_abs_dsat": float(np.abs(sa - sb)[off].max()),
            "success_fp32": a.attack["success_rate"].round(4).tolist(),
            "success_bf16": b.attack["success_rate"].round(4).tolist()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-images", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5, help="PGD steps of the SAT comparison")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    crit = [criticality_error(f"zoo:fmnist-mini/{m}", "fashion-mnist", args.n_images, args.seeds) for m in MINI]
    print("| model | layers | max |Δcrit| (rows) | max |Δcrit| (layer means) | max crit | Spearman of layer ranks |")
    print("|---|---|---|---|---|---|")
    for r in crit:
        print(f"| {r['model']} | {r['layers']} | {r['max_abs_dcrit_rows']:.4f} | {r['max_abs_dcrit_layer_means']:.4f} "
              f"| {r['max_crit']:.3f} | {r['spearman_layer_ranks']:.3f} |", flush=True)
    sat = sat_error([f"zoo:fmnist-mini/{m}" for m in MINI], args.n_images, args.steps)
    print(json.dumps(sat))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"criticality": crit, "sat": sat}, fh, indent=1)


if __name__ == "__main__":
    main()
