"""Two appendix analyses of a SAT run for ``zoolens analyze``: stability against the number of
images (App. A.1, Table A.1; :mod:`zoolens.analysis.sat_stability`) and SAT during training
(App. G.3, Table G.1; :mod:`zoolens.analysis.sat_training`).

Both read only the run's own tables (no model is loaded) and add their tables, figure
requests and notes to the :class:`~zoolens.analysis.result.Analysis`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from zoolens.analysis import sat_stability as stab
from zoolens.analysis import sat_training as tr
from zoolens.analysis.result import Analysis
from zoolens.errors import ZoolensError
from zoolens.zoo.checkpoints import checkpoint_of_ref


def parse_pair(text: str) -> tuple[str, str]:
    """``"A,B"`` → ``("A", "B")`` (a ``--stability-pair`` value)."""
    a, sep, b = text.partition(",")
    if not sep or not a.strip() or not b.strip() or "," in b or a.strip() == b.strip():
        raise ZoolensError(f"--stability-pair {text!r} is not two different model names",
                           "write MODEL_A,MODEL_B (display names, as in sat_matrix.csv)")
    return a.strip(), b.strip()


def stability(a: Analysis, names: list[str], spec: dict, pairs: Sequence[tuple[str, str]] | None = None,
              seed: int = 0) -> None:
    """Table A.1 on this run: std of SAT (percent) over 10 disjoint image samples per size, and the cost.

    ``pairs``: the pairs to measure (default: every pair measured in both directions). Needs
    the per-image outcomes (``transfer_images.parquet``) and at least 100 images.
    """
    f = a.run / "transfer_images.parquet"
    if not f.is_file() or not (a.run / "clean.parquet").is_file():
        a.notes.append("Stability (App. A.1) skipped: the run has no per-image outcomes (transfer_images.parquet).")
        return
    images = pd.read_parquet(a.run / "clean.parquet", columns=["image"])["image"].unique()
    sizes = stab.default_sizes(len(images))
    if not sizes:
        a.notes.append(f"Stability (App. A.1) skipped: {len(images)} images are too few for "
                       f"{stab.N_SAMPLES} disjoint samples of at least 10 images.")
        return
    ti = a.transfer_images()
    possible = stab.two_sided_pairs(ti, names)
    if pairs:
        unknown = [p for p in pairs if p not in possible and p[::-1] not in possible]
        if unknown:
            raise ZoolensError(f"--stability-pair {','.join(unknown[0])}: {a.run} has no per-image outcomes of it "
                               "in both directions (one-sided, not measured, or no image both classify correctly)",
                               f"choose two of: {', '.join(names)}")
        pairs = list(pairs)
    else:
        pairs = possible
    if not pairs:
        a.notes.append("Stability (App. A.1) skipped: no pair was measured in both directions.")
        return
    steps = int((spec.get("attack") or {}).get("steps") or 1)
    table = stab.sat_stability(ti, images, pairs, steps=steps, sizes=sizes, seed=seed)
    a.table("sat_stability", table, f"Std of SAT (%, no log) over {stab.N_SAMPLES} disjoint image samples and cost "
                                    f"(App. A.1, Table A.1); cost = 2·(n·{steps} + n) passes per pair")
    a.table("sat_stability_paper", stab.PAPER_TABLE_A1, "The paper's Table A.1 (SAT; ImageNet ConvNeXt-T vs Swin-T)")
    summary = table.groupby("n_images")["std"].agg(["mean", "min", "max"]).reset_index()
    a.summary["stability"] = {"pairs": [list(p) for p in pairs], "sizes": sizes, "steps": steps,
                              "n_images": int(len(images)), "std_by_n": summary.to_dict("records")}
    a.plot("sat_stability_figure", "Stability of SAT vs number of images (App. A.1)",
           f"Std of SAT (percent, no log) over {stab.N_SAMPLES} disjoint samples of n of the run's {len(images)} "
           f"images, per pair; cost 2·(n·steps + n) forward/backward passes relative to {len(images)} forward "
           "passes. Black: the paper's Table A.1 (ImageNet, relative to 50K).", table, stab.PAPER_TABLE_A1)


def checkpoint_members(refs: dict[str, str]) -> pd.DataFrame:
    """Members whose reference is a zoo checkpoint with a sidecar: ``member, model, epoch, epochs, final``."""
    rows = []
    for name, ref in refs.items():
        side = checkpoint_of_ref(ref)
        if side and "epoch" in side and "model" in side:
            rows.append({"member": name, "model": f"{side.get('zoo', '?')}/{side['model']}",
                         "epoch": int(side["epoch"]), "epochs": int(side.get("epochs") or side["epoch"]),
                         "final": bool(side.get("final"))})
    return pd.DataFrame(rows, columns=["member", "model", "epoch", "epochs", "final"])


def training(a: Analysis, sat: pd.DataFrame, refs: dict[str, str]) -> None:
    """Table G.1 on this run when its members are epoch checkpoints; finding ``sat.training_curve``."""
    members = checkpoint_members({m: refs.get(m, m) for m in sat.index})
    ci_file = a.run / "sat_ci.csv"
    ci = pd.read_csv(ci_file) if ci_file.is_file() else None
    curve = tr.training_curve(sat, members, ci) if len(members) else pd.DataFrame(columns=tr.CURVE_COLUMNS)
    if len(curve):
        a.table("sat_training_curve", curve, "SAT(final model, checkpoint at epoch e) (App. G.3, Table G.1); the "
                                             "final epoch's row is the final model's self-SAT")
        a.table("sat_training_paper", tr.PAPER_TABLE_G1, "The paper's Table G.1 (CIFAR-10, 180 epochs)")
        a.plot("sat_training_figure", "SAT during training (App. G.3)",
               "SAT between each model's final checkpoint and its checkpoint at epoch e (bootstrap 95 % intervals); "
               "dotted: the final model's self-SAT. Grey: the paper's Table G.1 (CIFAR-10, epoch / 180).",
               curve, tr.PAPER_TABLE_G1, tr.PAPER_EPOCHS)
        a.summary["training_curve"] = {m: dict(zip(g["epoch"].astype(int).tolist(), np.round(g["sat"], 4).tolist()))
                                       for m, g in curve.groupby("model")}
    a.finding("sat.training_curve", *tr.curve_verdict(curve))


__all__ = ["checkpoint_members", "parse_pair", "stability", "training"]
