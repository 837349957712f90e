"""SAT benchmark: attack throughput, SAT run time, one-sided vs full SAT, uint8 vs fp32 cache.

Run: ``python benchmarks/sat.py [--n-images 500] [--steps 10] [--models a,b,...] [--out DIR]``.

1. PGD throughput (images·steps/s): our PGD vs torchattack's PGD, same model, same
   batch, same settings (no random start), interleaved in one process.
2. Total SAT time on the mini zoo (models whose weights exist), split into attack
   and evaluation (defaults: 500 images, PGD-10 — PGD-50 on 5,000 images is the
   paper's setting and is too slow for a shared 2-core laptop).
3. Pearson r of one-sided SAT (source-side: only A→B; target-side: only B→A) with
   the full two-sided SAT, over all off-diagonal pairs (App. G.1 reports 0.82).
4. Effect of storing adversarials as uint8 instead of fp32 on the transfer rates.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import zoolens
from zoolens.data import load_data
from zoolens.similarity import AttackConfig, predict, run_attack, run_sat
from zoolens.similarity.sat import EPS_S, sat_from_counts

WEIGHTS = Path(zoolens.__file__).parent / "zoo" / "fmnist_mini" / "weights"


def available_models() -> list[str]:
    from zoolens.zoo import zoo_model_names

    return [n for n in zoo_model_names("fmnist-mini") if (WEIGHTS / f"{n}.safetensors").is_file()]


def throughput(name: str, n: int, steps: int, batch: int, repeats: int) -> dict:
    import torchattack

    from zoolens.models import load_model

    model = load_model(f"zoo:fmnist-mini/{name}")
    ds = load_data("fashion-mnist", n=n, model=model)
    x, y = ds.images[:batch], ds.labels[:batch].long()
    cfg = AttackConfig("pgd", eps=8 / 255, alpha=2 / 255, steps=steps, random_start=False)
    xf = x.float() / 255

    def ours():
        run_attack(model, x, y, cfg, batch_size=batch)

    def theirs():
        for p in model.parameters():  # as our adapter does: no parameter grads
            p.requires_grad_(False)
        torchattack.PGD(model, normalize=None, device=torch.device("cpu"), eps=cfg.eps, steps=steps, alpha=cfg.alpha,
                        random_start=False)(xf, y)
        for p in model.parameters():
            p.requires_grad_(True)

    ours(), theirs()  # warm-up
    t_ours, t_theirs = [], []
    for _ in range(repeats):  # interleaved so background load hits both alike
        t0 = time.perf_counter(); ours(); t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); theirs(); t_theirs.append(time.perf_counter() - t0)
    work = x.shape[0] * steps
    o, t = statistics.median(t_ours), statistics.median(t_theirs)
    return {"model": name, "batch": x.shape[0], "steps": steps, "ours_img_steps_per_s": work / o,
            "torchattack_img_steps_per_s": work / t, "speedup": t / o}


def one_sided_correlation(transfer: pd.DataFrame, sat: pd.DataFrame) -> dict:
    rows = transfer.set_index(["source", "target"])
    full, src, tgt = [], [], []
    names = list(sat.index)
    for a in names:
        for b in names:
            if a == b or (a, b) not in rows.index or (b, a) not in rows.index:
                continue
            ab, ba = rows.loc[(a, b)], rows.loc[(b, a)]
            full.append(sat.loc[a, b])
            # newcomer a: source-side = only a's adversarials shown to b; target-side = a shown b's
            src.append(sat_from_counts(int(ab.n_fooled), None, int(ab.n_both_correct), EPS_S))
            tgt.append(sat_from_counts(None, int(ba.n_fooled), int(ba.n_both_correct), EPS_S))
    if len(full) < 3:
        return {"pairs": len(full), "pearson_source": math.nan, "pearson_target": math.nan}
    return {"pairs": len(full), "pearson_source": float(np.corrcoef(full, src)[0, 1]),
            "pearson_target": float(np.corrcoef(full, tgt)[0, 1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-images", type=int, default=500)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--models", default=None, help="comma-separated zoo names (default: all with weights)")
    ap.add_argument("--fp32-models", type=int, default=4, help="models in the uint8-vs-fp32 comparison")
    ap.add_argument("--throughput-batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    ap.add_argument("--eps", default="8/255", help="L-inf budget (the demo uses 16/255 on Fashion-MNIST)")
    ap.add_argument("--alpha", default="2/255")
    args = ap.parse_args()
    from zoolens.similarity.attack_registry import parse_fraction

    eps, alpha = parse_fraction(args.eps), parse_fraction(args.alpha)
    torch.manual_seed(0)
    names = args.models.split(",") if args.models else available_models()
    if not names:
        raise SystemExit(f"no mini-zoo weights in {WEIGHTS}: train the zoo first")
    out = Path(args.out or tempfile.mkdtemp(prefix="zoolens-sat-bench-"))
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, models {len(names)}, out {out}")

    tp = pd.DataFrame([throughput(names[0], 256, args.steps, args.throughput_batch, args.repeats)])
    print("\n[1] PGD throughput (median of interleaved repeats)\n" + tp.to_string(index=False))

    refs = [f"zoo:fmnist-mini/{n}" for n in names]
    cfg = AttackConfig("pgd", eps=eps, alpha=alpha, steps=args.steps, seed=0)
    t0 = time.perf_counter()
    res = run_sat(refs, data="fashion-mnist", n_images=args.n_images, attack=cfg, out=out / "uint8", batch_size=256)
    total = time.perf_counter() - t0
    tm = res.timings
    print(f"\n[2] SAT run: {len(names)} models, {args.n_images} images, PGD-{args.steps}, eps {args.eps}, "
          f"alpha {args.alpha}")
    print(pd.DataFrame([{"total_s": total, "attack_s": tm["attack_s"], "eval_s": tm["eval_s"],
                         "clean_s": tm["clean_s"], "other_s": total - sum(tm.values())}]).round(2).to_string(index=False))
    print(res.attack[["model", "clean_accuracy", "success_rate"]].round(3).to_string(index=False))
    off = res.sat.to_numpy()[~np.eye(len(names), dtype=bool)]
    print(f"mean off-diagonal SAT {np.nanmean(off):.3f}, mean diagonal {np.nanmean(np.diag(res.sat)):.3f}")

    corr = one_sided_correlation(res.transfer, res.sat)
    print("\n[3] one-sided vs full SAT (Pearson over ordered off-diagonal pairs)\n"
          + pd.DataFrame([corr]).round(3).to_string(index=False))

    sub = refs[:args.fp32_models]
    fp = run_sat(sub, data="fashion-mnist", n_images=args.n_images,
                 attack=AttackConfig("pgd", eps=eps, alpha=alpha, steps=args.steps, seed=0, precision="fp32"),
                 out=out / "fp32", batch_size=256)
    merged = res.transfer.merge(fp.transfer, on=["source", "target"], suffixes=("_uint8", "_fp32"))
    merged["diff"] = merged.rate_uint8 - merged.rate_fp32
    print(f"\n[4] uint8 vs fp32 adversarial cache ({len(sub)} models, {len(merged)} ordered pairs)")
    print(pd.DataFrame([{"mean_rate_uint8": merged.rate_uint8.mean(), "mean_rate_fp32": merged.rate_fp32.mean(),
                         "mean_abs_diff": merged["diff"].abs().mean(), "max_abs_diff": merged["diff"].abs().max(),
                         "sat_max_abs_diff": float(np.nanmax(np.abs(
                             res.sat.loc[[s.split('/')[-1] for s in sub], [s.split('/')[-1] for s in sub]].to_numpy()
                             - fp.sat.to_numpy())))}]).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
