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

CATEGORY_ORDER = ("baseline", "seed", "hparam", "augmentation", "adversarial_training", "improved_training",
                  "unknown")


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
    """One row per model: mean criticality over layers, share of auxiliary/critical layers, accuracy, category.

    Returns
    -------
    pandas.DataFrame
        ``model, n_layers, mean_criticality, max_sem, share_auxiliary, share_critical,
        clean_accuracy, category, adv_eps``.
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
    for col, default in (("category", "unknown"), ("adv_eps", math.nan), ("family", "unknown")):
        out[col] = [meta[col].get(m, default) if meta is not None and col in meta and m in meta.index else default
                    for m in out["model"]]
    return out


def accuracy_correlation(models: pd.DataFrame, exclude_category: str | None = "adversarial_training"
                         ) -> pd.DataFrame:
    """Spearman ρ (and Pearson r) of mean criticality vs clean accuracy (criticality paper Fig. 3),
    for all models and without ``exclude_category``."""
    rows = [{"subset": "all models", **correlation(models["mean_criticality"], models["clean_accuracy"])}]
    if exclude_category:
        keep = models["category"] != exclude_category
        rows.append({"subset": f"without {exclude_category}",
                     **correlation(models.loc[keep, "mean_criticality"], models.loc[keep, "clean_accuracy"])})
    return pd.DataFrame(rows)


def adversarial_budget(models: pd.DataFrame, baseline: str | None) -> tuple[pd.DataFrame, dict]:
    """Mean criticality vs adversarial-training budget ε (criticality paper Fig. 2).

    The baseline enters at ε = 0; adversarially trained models at their training ε.

    Returns
    -------
    (table, summary)
        ``table``: ``model, adv_eps, mean_criticality, delta_vs_baseline``, sorted by ε;
        ``summary``: Spearman/Pearson of ε vs mean criticality, the number of adversarial
        models above the baseline, and the baseline's mean.
    """
    adv = models[models["category"] == "adversarial_training"]
    parts = [adv]
    base_mean = math.nan
    if baseline is not None and baseline in set(models["model"]):
        b = models[models["model"] == baseline].copy()
        b["adv_eps"] = 0.0
        base_mean = float(b["mean_criticality"].iloc[0])
        parts.insert(0, b)
    t = pd.concat(parts, ignore_index=True)[["model", "adv_eps", "mean_criticality"]]
    t = t.sort_values("adv_eps", kind="stable").reset_index(drop=True)
    t["delta_vs_baseline"] = t["mean_criticality"] - base_mean
    summary = {**correlation(t["adv_eps"], t["mean_criticality"]), "baseline_mean": base_mean,
               "n_adversarial": int(len(adv)),
               "n_above_baseline": int((adv["mean_criticality"] > base_mean).sum()) if np.isfinite(base_mean) else 0}
    return t, summary


def role_shares(models: pd.DataFrame) -> pd.DataFrame:
    """Share of auxiliary and critical layers per model (criticality paper Sec. 4)."""
    return models[["model", "category", "n_layers", "share_auxiliary", "share_critical"]].copy()


__all__ = ["CATEGORY_ORDER", "accuracy_correlation", "adversarial_budget", "baseline_difference", "layer_matrix",
           "model_order", "per_model", "role_shares"]
