"""SAT during training (SAT paper, App. G.3, Table G.1): SAT(final model, checkpoint at epoch e).

The paper compares a CIFAR-10 model trained for 180 epochs with its own checkpoints:

    epoch  0     20    40    60    80    100   120   140   160   180
    SAT    2.84  4.46  4.56  4.58  4.59  4.59  4.60  4.60  4.60  4.60

— it rises fast and saturates at the final model's SAT with itself (Eq. 1's diagonal).
Here the members of an ordinary SAT run are epoch checkpoints of one or more zoo models
(``zoolens zoo train --save-every N``; each checkpoint's JSON sidecar gives its model and
epoch); the curve of a model is the row of its final checkpoint in the SAT matrix.

Finding ``sat.training_curve`` (rule fixed before measuring; not tuned): for every model
with a final checkpoint and at least one earlier checkpoint of epoch ≥ 1,

(a) *rises fast*: SAT(final, first saved epoch ≥ 1) ≥ :data:`RISE_FRACTION` × self-SAT
    (log units of Eq. 1; the paper: 4.46 / 4.60 = 0.97 at epoch 20 of 180, 0.62 at epoch 0);
(b) *saturates*: along the saved epochs ≥ 1 up to the final model (its self-SAT), no value
    falls below the previous one by more than the larger of the two points' bootstrap 95 %
    half-widths (``sat_ci.csv``; 0 where a run has no intervals).

Reproduced when every such model passes (a) and (b); ``measured`` is the smallest ratio of (a).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Table G.1 of the SAT paper (CIFAR-10, 180 epochs).
PAPER_TABLE_G1 = pd.DataFrame({"epoch": [0, 20, 40, 60, 80, 100, 120, 140, 160, 180],
                               "sat": [2.84, 4.46, 4.56, 4.58, 4.59, 4.59, 4.60, 4.60, 4.60, 4.60]})
PAPER_EPOCHS = 180

#: Rule (a): the first saved epoch ≥ 1 must reach this fraction of the final self-SAT.
RISE_FRACTION = 0.9

CURVE_COLUMNS = ["model", "epoch", "epochs", "fraction", "member", "final_member", "sat", "ci_low", "ci_high",
                 "self_sat", "ratio"]


def training_curve(sat: pd.DataFrame, members: pd.DataFrame, ci: pd.DataFrame | None = None) -> pd.DataFrame:
    """SAT between each model's final checkpoint and each of its checkpoints (Table G.1).

    Parameters
    ----------
    sat:
        The run's square SAT matrix (Eq. 1, log units), index and columns = member names.
    members:
        One row per checkpoint member: ``member`` (name in ``sat``), ``model`` (the trained
        model it belongs to), ``epoch``, ``epochs`` (of its recipe), ``final`` (bool).
    ci:
        Optional ``sat_ci.csv`` (``model_a, model_b, ci_low, ci_high``).

    Returns
    -------
    pandas.DataFrame
        :data:`CURVE_COLUMNS`, one row per (model, epoch), sorted; the final epoch's row is the
        self-SAT (diagonal). ``fraction`` = epoch / epochs; ``ratio`` = sat / self_sat. Models
        without a final checkpoint in ``sat`` are left out.
    """
    bounds = {}
    if ci is not None and len(ci):
        for r in ci.itertuples(index=False):
            bounds[(str(r.model_a), str(r.model_b))] = bounds[(str(r.model_b), str(r.model_a))] = (r.ci_low, r.ci_high)
    rows = []
    m = members[members["member"].isin(sat.index)]
    for model, g in m.groupby("model", sort=True):
        finals = g[g["final"].astype(bool)]
        if not len(finals):
            continue
        fin = finals.sort_values("epoch").iloc[-1]
        self_sat = float(sat.loc[fin["member"], fin["member"]])
        for r in g.sort_values("epoch").drop_duplicates("epoch", keep="last").itertuples(index=False):
            v = float(sat.loc[fin["member"], r.member])
            lo, hi = bounds.get((fin["member"], r.member), (math.nan, math.nan))
            rows.append({"model": model, "epoch": int(r.epoch), "epochs": int(r.epochs),
                         "fraction": int(r.epoch) / int(r.epochs) if int(r.epochs) else math.nan,
                         "member": r.member, "final_member": fin["member"], "sat": v, "ci_low": float(lo),
                         "ci_high": float(hi), "self_sat": self_sat,
                         "ratio": v / self_sat if self_sat else math.nan})
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def curve_verdict(curve: pd.DataFrame, rise_fraction: float = RISE_FRACTION) -> tuple[str, str, float | None]:
    """(verdict, evidence, measured) of ``sat.training_curve`` by the module's fixed rule."""
    parts, ok_all, ratios = [], True, []
    for model, g in curve.groupby("model", sort=True):
        g = g[g["epoch"] >= 1].sort_values("epoch")
        if len(g) < 2:  # the final checkpoint alone: nothing to compare
            continue
        first = g.iloc[0]
        rise = bool(first["ratio"] >= rise_fraction)
        half = ((g["ci_high"] - g["ci_low"]) / 2).fillna(0.0).to_numpy()
        vals = g["sat"].to_numpy()
        drops = [(int(g["epoch"].iloc[i]), vals[i - 1] - vals[i]) for i in range(1, len(vals))
                 if vals[i] < vals[i - 1] - max(half[i - 1], half[i])]
        ok_all &= rise and not drops
        ratios.append(float(first["ratio"]))
        parts.append(f"{model}: epoch {int(first['epoch'])}/{int(first['epochs'])} SAT {first['sat']:.2f} = "
                     f"{first['ratio']:.2f} × self-SAT {first['self_sat']:.2f} ({'≥' if rise else '<'} "
                     f"{rise_fraction:g}); " + ("monotone within the bootstrap half-widths" if not drops else
                                                 "drops beyond noise at epoch(s) "
                                                 + ", ".join(f"{e} (−{d:.2f})" for e, d in drops)))
    if not parts:
        return "not testable", "needs a final checkpoint and an earlier checkpoint of epoch ≥ 1 of one model " \
                               "(zoolens zoo train --save-every N; members zoo:ZOO/NAME@CHECKPOINT)", None
    rule = f"; rule: first saved epoch ≥ 1 reaches ≥ {rise_fraction:g} × self-SAT and no later drop beyond noise"
    return ("reproduced" if ok_all else "not reproduced"), "; ".join(parts) + rule, float(np.min(ratios))


__all__ = ["CURVE_COLUMNS", "PAPER_EPOCHS", "PAPER_TABLE_G1", "RISE_FRACTION", "curve_verdict", "training_curve"]
