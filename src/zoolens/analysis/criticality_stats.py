"""Criticality summaries behind the criticality paper's Figs. 1–5 (pure pandas).

Inputs are the run's ``criticality_summary.csv`` (per model × layer: ``criticality_mean``,
``criticality_sem``, ``role``) and a per-model metadata frame (``category``,
``adv_eps``, ``accuracy``).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from zoolens.analysis.statistics import correlation

CATEGORY_ORDER = ("baseline", "seed", "hparam", "augmentation", "adversarial_training", "ssl", "improved_training",
                  "freezing", "sat69", "unknown")


def model_order(models: Sequence[str], meta: pd.DataFrame | None = None) -> list[str]:
    """Models grouped by category (in :data:`CATEGORY_ORDER`), then by adversarial budget, then as given."""
    models = list(models)
    if meta is None or "category" not in meta:
        return models

    def key(m):
        cat = meta["category"].get(m, "unknown") if m in meta.index else "unknown"
        rank = CATEGORY_ORDER.index(cat) if cat in CATEGORY_ORDER else len(CATEGORY_ORDER)
        eps = meta["adv_eps"].get(m, 0.0) if "adv_eps" in meta and m in meta.index else 0.0
        return (rank, 0.0 if eps is None or not np.isfinite(eps) else eps, models.index(m))

    return sorted(models, key=key)


def layer_matrix(summary: pd.DataFrame, value: str = "criticality_mean", models: Sequence[str] | None = None
                 ) -> pd.DataFrame:
    """Models × layers matrix of ``value`` with paper-style labels as columns (Fig. 1 / Fig. 5).

    Columns are ordered by their mean ``layer_index`` (execution order); rows by ``models``
    (default: order of appearance). Layers a model lacks are NaN.
    """
    order = summary.groupby("label", sort=False)["layer_index"].mean().sort_values(kind="stable").index
    mat = summary.pivot_table(index="model", columns="label", values=value, aggfunc="mean", sort=False)
    rows = list(models) if models is not None else list(dict.fromkeys(summary["model"]))
    return mat.reindex(index=rows, columns=list(order))


def baseline_difference(matrix: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each model's layer criticality minus the baseline model's (criticality paper Fig. 4)."""
    if baseline not in matrix.index:
        raise KeyError(f"baseline {baseline!r} is not among the models")
    return matrix.sub(matrix.loc[baseline], axis=1)


def per_model(summary: pd.DataFrame, models: pd.DataFrame | None = None, meta: pd.DataFrame | None = None
              ) -> pd.DataFrame:
    """One row per model: mean criticality over layers, share of auxiliary/critical layers, accuracy, metadata.

    ``accuracy`` is the published top-1 (as a fraction) where the model's zoo records one
    — the accuracy the criticality paper's Fig. 3 uses — else the clean accuracy on the
    run's eval subset; ``accuracy_source`` says which.

    Returns
    -------
    pandas.DataFrame
        ``model, n_layers, mean_criticality, max_sem, share_auxiliary, share_critical,
        clean_accuracy, accuracy, accuracy_source, category, family, method, norm, epsilon,
        epsilon_unit, adv_eps``.
    """
    g = summary.groupby("model", sort=False)
    out = pd.DataFrame({
        "n_layers": g.size(),
        "mean_criticality": g["criticality_mean"].mean(),
        "max_sem": g["criticality_sem"].max(),
        "share_auxiliary": g["role"].apply(lambda r: float((r == "auxiliary").mean())),
        "share_critical": g["role"].apply(lambda r: float((r == "critical").mean())),
    })
    out.index.name = "model"
    out = out.reset_index()
    acc = dict(zip(models["model"], models["clean_accuracy"])) if models is not None else {}
    out["clean_accuracy"] = [acc.get(m, math.nan) for m in out["model"]]
    for col, default in (("category", "unknown"), ("family", "unknown"), ("method", None), ("norm", None),
                         ("epsilon", math.nan), ("epsilon_unit", None), ("adv_eps", math.nan),
                         ("published_top1", math.nan)):
        out[col] = [meta[col].get(m, default) if meta is not None and col in meta and m in meta.index else default
                    for m in out["model"]]
    pub = pd.to_numeric(out["published_top1"], errors="coerce") / 100.0
    out["accuracy"] = pub.where(pub.notna(), out["clean_accuracy"])
    out["accuracy_source"] = np.where(pub.notna(), "published ImageNet top-1",
                                      np.where(out["clean_accuracy"].notna(), "eval subset", "none"))
    return out.drop(columns=["published_top1"])


def accuracy_correlation(models: pd.DataFrame, exclude_category: str | None = "adversarial_training"
                         ) -> pd.DataFrame:
    """Spearman ρ (and Pearson r) of mean criticality vs accuracy (criticality paper Fig. 3),
    for all models and without ``exclude_category`` (``accuracy`` of :func:`per_model`)."""
    col = "accuracy" if "accuracy" in models else "clean_accuracy"
    rows = [{"subset": "all models", **correlation(models["mean_criticality"], models[col])}]
    if exclude_category:
        keep = models["category"] != exclude_category
        rows.append({"subset": f"without {exclude_category}",
                     **correlation(models.loc[keep, "mean_criticality"], models.loc[keep, col])})
    return pd.DataFrame(rows)


def adversarial_budget(models: pd.DataFrame, baseline: str | None) -> tuple[pd.DataFrame, dict]:
    """Mean criticality vs adversarial-training budget ε, one curve per norm (criticality paper Fig. 2).

    Each norm's curve holds the adversarially trained models of that norm at their ε in
    the norm's own unit. Its ε = 0 point is an adversarially trained model with ε = 0
    (the same pipeline without attack, norm-less) when the run has one, else the baseline.

    Returns
    -------
    (table, summary)
        ``table``: ``norm, model, epsilon, epsilon_unit, mean_criticality, delta_vs_baseline``,
        sorted by norm and ε. ``summary``: ``baseline_mean``, ``n_adversarial`` (ε > 0),
        ``n_above_baseline``, and per norm (``norms``) the Spearman/Pearson statistics of ε
        vs mean criticality and whether it increases strictly with ε (``monotone``).
    """
    adv = models[models["category"] == "adversarial_training"].copy()
    if "epsilon" not in adv or adv["epsilon"].isna().all():
        adv["epsilon"] = adv.get("adv_eps", math.nan)
    if "norm" not in adv:
        adv["norm"] = None
    adv["norm"] = adv["norm"].where(adv["norm"].notna() | (adv["epsilon"] == 0), "unspecified")
    base_mean = math.nan
    if baseline is not None and baseline in set(models["model"]):
        base_mean = float(models.loc[models["model"] == baseline, "mean_criticality"].iloc[0])
    zero = adv[adv["norm"].isna()]
    pos = adv[adv["norm"].notna()]
    parts, norms = [], {}
    for norm in sorted(pos["norm"].unique()):
        start = zero if len(zero) else models[models["model"] == baseline].assign(epsilon=0.0)
        g = pd.concat([start, pos[pos["norm"] == norm]], ignore_index=True).assign(norm=norm)
        g["epsilon_unit"] = pos.loc[pos["norm"] == norm, "epsilon_unit"].iloc[0] if "epsilon_unit" in pos else None
        g = g.sort_values("epsilon", kind="stable")
        parts.append(g)
        vals = g["mean_criticality"].to_numpy()
        norms[str(norm)] = {**correlation(g["epsilon"], vals), "monotone": bool(np.all(np.diff(vals) > 0)),
                            "zero_point": str(g["model"].iloc[0]) if len(g) else None}
    cols = ["norm", "model", "epsilon", "epsilon_unit", "mean_criticality"]
    t = pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    t["delta_vs_baseline"] = t["mean_criticality"] - base_mean
    summary = {"baseline_mean": base_mean, "n_adversarial": int(len(pos)),
               "n_above_baseline": int((pos["mean_criticality"] > base_mean).sum()) if np.isfinite(base_mean) else 0,
               "norms": norms}
    return t, summary


def role_shares(models: pd.DataFrame) -> pd.DataFrame:
    """Share of auxiliary and critical layers per model (criticality paper Sec. 4)."""
    return models[["model", "category", "n_layers", "share_auxiliary", "share_critical"]].copy()


__all__ = ["CATEGORY_ORDER", "accuracy_correlation", "adversarial_budget", "baseline_difference", "layer_matrix",
           "model_order", "per_model", "role_shares"]
