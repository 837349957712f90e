"""The tables of a criticality run: per-(layer, seed) rows and the per-layer summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoolens.criticality.config import AUXILIARY_BELOW, CRITICAL_ABOVE

# n_images_used: the images a row averages over (all of them unless --target-se stopped the layer
# early); image_se: the layer's standard error over images (zoolens.criticality.adaptive.image_se),
# the same on each seed's row.
ROW_COLUMNS = ["model", "layer", "label", "layer_index", "module_type", "n_params", "seed", "cosine_distance",
               "top1_agreement", "accuracy", "l1", "l2", "nonfinite", "n_images_used", "image_se"]
SUMMARY_COLUMNS = ["model", "layer", "label", "layer_index", "module_type", "n_params", "criticality_mean",
                   "criticality_sem", "n_seeds", "role", "n_images_used", "image_se"]


def summarize(rows: pd.DataFrame, *, auxiliary_below: float = AUXILIARY_BELOW,
              critical_above: float = CRITICAL_ABOVE) -> pd.DataFrame:
    """Mean criticality over seeds, its standard error std/√S (NaN for S < 2), and the layer's role.

    role = ``auxiliary`` if mean < ``auxiliary_below``, ``critical`` if mean > ``critical_above``,
    ``unmeasured`` when every seed's output was non-finite (``n_seeds`` = 0), else ``intermediate`` (the criticality paper's terms; its numeric thresholds were lost
    in the text we have, so ours are documented defaults). ``n_images_used`` and
    ``image_se`` are the layer's (NaN where the rows lack them, e.g. older runs' parts).
    """
    keys = ["model", "layer", "label", "layer_index", "module_type", "n_params"]
    g = rows.groupby(keys, sort=False)["cosine_distance"]
    out = g.agg(criticality_mean="mean", n_seeds="count").reset_index()
    std = g.std(ddof=1).reset_index(drop=True)
    # one seed has no spread to measure and none has no measurement: NaN, never a reassuring 0.0
    out["criticality_sem"] = np.where(out["n_seeds"] > 1, std / np.sqrt(out["n_seeds"].clip(lower=1)), np.nan)
    for col in ("n_images_used", "image_se"):
        out[col] = (rows[col] if col in rows else pd.Series(np.nan, index=rows.index)).groupby(
            [rows[k] for k in keys], sort=False).max().to_numpy()
    out["role"] = np.select([out["n_seeds"] == 0, out["criticality_mean"] < auxiliary_below,
                             out["criticality_mean"] > critical_above],
                            ["unmeasured", "auxiliary", "critical"], "intermediate")
    return out[SUMMARY_COLUMNS]


def complete_rows(rows: pd.DataFrame, n_images: pd.Series) -> pd.DataFrame:
    """``rows`` with ``ROW_COLUMNS``; parts written before ``n_images_used`` existed used every
    image (``n_images``, by model), and their ``image_se`` is unknown (NaN)."""
    rows = rows.copy()
    if "image_se" not in rows:
        rows["image_se"] = np.nan
    used = rows["n_images_used"] if "n_images_used" in rows else pd.Series(np.nan, index=rows.index)
    if used.isna().any():
        rows["n_images_used"] = used.fillna(rows["model"].map(n_images)).astype("int64")
    return rows[ROW_COLUMNS]


def with_budget(models: pd.DataFrame, rows: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """``models`` (one summary per model) with its image budget: images used per layer
    (``n_images_used_min/median/max``) and image forward passes summed over the model's
    units (``image_passes``; ``image_passes_fixed`` for a fixed budget; NaN for older parts)."""
    models = models.copy()
    per_layer = rows.groupby(["model", "layer"], sort=False)["n_images_used"].max().groupby(level=0)
    for stat in ("min", "median", "max"):
        models[f"n_images_used_{stat}"] = models["model"].map(per_layer.agg(stat))
    for col in ("image_passes", "image_passes_fixed"):
        g = units.groupby("model")[col] if col in units else None
        total = g.sum().where(g.count() == g.size()) if g is not None else pd.Series(dtype=float)
        models[col] = models["model"].map(total)
    return models


__all__ = ["ROW_COLUMNS", "SUMMARY_COLUMNS", "complete_rows", "summarize", "with_budget"]
