"""Quality of the shipped ``fmnist-mini`` zoo: clean accuracy, PGD robustness, training cost.

Run: ``python benchmarks/zoo_quality.py [--n-adv 1000] [--steps 20]``.

* Clean top-1 accuracy of every model on the 10,000 Fashion-MNIST test images
  (recomputed here, compared with the manifest).
* For every adversarially trained model: PGD-``steps`` accuracy at its own training
  budget ε on the first ``n_adv`` test images, next to the baseline ResNet's
  PGD accuracy at the same ε (bar: ≥ 20 points better).
* PGD-``steps`` accuracy at ε = 8/255 for every model (the SAT paper's budget).
* Per-model training wall time from the manifest, total time and weights size.

Bars (from the zoo's issue): CNN baselines ≥ 90 %, ViT/Mixer baselines ≥ 86 %.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from zoolens.attacks import pgd_attack
from zoolens.zoo import load_zoo_model
from zoolens.zoo.mini import manifest_rows, zoo_dir
from zoolens.zoo.augment import load_split, resize_to
from zoolens.zoo.train import evaluate

ZOO = "fmnist-mini"
BARS = {"resnet": 90.0, "vgg": 90.0, "convnext": 90.0, "vit": 86.0, "mixer": 86.0}


def robust_accuracy(model, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int, batch: int = 250) -> float:
    """PGD-``steps`` accuracy (%) with α = 2.5ε/steps, random start, seed 0; x uint8 28×28."""
    hw = model.input_size[-1]
    xf = resize_to(x.float() / 255, hw)  # attack the model at its native input size
    g = torch.Generator().manual_seed(0)
    adv = pgd_attack(model, xf, y, eps=eps, alpha=2.5 * eps / steps, steps=steps, generator=g, batch_size=batch)
    with torch.no_grad():
        pred = torch.cat([model(adv[i:i + batch]).argmax(1) for i in range(0, len(adv), batch)])
    return 100.0 * (pred == y).float().mean().item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-adv", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-8", action="store_true", help="skip PGD at 8/255 for every model")
    ap.add_argument("--names", nargs="*", help="only these models (default: all)")
    ap.add_argument("--exclude", nargs="*", default=[], help="skip these models")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = [r for r in manifest_rows(ZOO) if (not args.names or r["name"] in args.names)
            and r["name"] not in args.exclude]
    x_test, y_test = load_split("test")
    xa, ya = x_test[:args.n_adv], y_test[:args.n_adv]
    base = load_zoo_model(ZOO, "resnet_baseline")
    out = []
    t0 = time.perf_counter()
    for row in rows:
        m = load_zoo_model(ZOO, row["name"])
        acc = evaluate(m, x_test, y_test)
        rec = {"name": row["name"], "family": row["family"], "category": row["category"],
               "params": row["params"], "input": "x".join(map(str, row["input_size"][1:])),
               "acc": round(acc, 2), "acc_manifest": row["accuracy"]}
        if row["category"] == "baseline":
            rec["bar"] = BARS[row["family"]]
            rec["pass"] = acc >= BARS[row["family"]]
        eps = row["config"]["adv_eps"]
        if eps > 0:
            own = robust_accuracy(m, xa, ya, eps, args.steps)
            ref = robust_accuracy(base, xa, ya, eps, args.steps)
            rec.update({"eps": eps, f"pgd{args.steps}@eps": round(own, 1), f"base_pgd{args.steps}@eps": round(ref, 1),
                        "margin": round(own - ref, 1), "pass": own - ref >= 20})
        if not args.skip_8:
            rec[f"pgd{args.steps}@8/255"] = round(robust_accuracy(m, xa, ya, 8 / 255, args.steps), 1)
        rec["train_s"] = row["train_wall_time_s"]
        out.append(rec)
        print(f"  {row['name']}: done", flush=True)
    df = pd.DataFrame(out)
    with pd.option_context("display.width", 220, "display.max_columns", 30):
        print(df.to_string(index=False))
    wdir = zoo_dir(ZOO) / "weights"
    size = sum(p.stat().st_size for p in wdir.glob("*.safetensors"))
    print(f"\nmodels: {len(df)}  total train time: {df['train_s'].sum() / 60:.1f} min  "
          f"weights: {size / 2**20:.2f} MiB  bars passed: {int(df['pass'].fillna(True).astype(bool).sum())}/{len(df)}"
          f"  (benchmark took {time.perf_counter() - t0:.0f}s)")


if __name__ == "__main__":
    main()
