"""The tables of a criticality run: per-(layer, seed) rows and the per-layer summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoolens.criticality.config import AUXILIARY_BELOW, CRITICAL_ABOVE

ROW_COLUMNS = ["model", "layer", "label", "layer_index", "module_type", "n_params", "seed", "cosine_distance",
               "top1_agreement", "accuracy", "l1", "l2", "nonfinite"]
SUMMARY_COLUMNS = ["model", "layer", "label", "layer_index", "module_type", "n_params", "criticality_mean",
                   "criticality_sem", "n_seeds", "role"]


def summarize(rows: pd.DataFrame, *, auxiliary_below: float = AUXILIARY_BELOW,
              critical_above: float = CRITICAL_ABOVE) -> pd.DataFrame:
    """Mean criticality over seeds, its standard error std/√S (NaN for S < 2), and the layer's role.

    role = ``auxiliary`` if mean < ``auxiliary_below``, ``critical`` if mean > ``critical_above``,
    ``unmeasured`` when every seed's output was non-finite (``n_seeds`` = 0), else ``intermediate`` (the criticality paper's terms; its numeric thresholds were lost
    in the text we have, so ours are documented defaults).
    """
    keys = ["model", "layer", "label", "layer_index", "module_type", "n_params"]
    g = rows.groupby(keys, sort=False)["cosine_distance"]
    out = g.agg(criticality_mean="mean", n_seeds="count").reset_index()
    std = g.std(ddof=1).reset_index(drop=True)
    # one seed has no spread to measure and none has no measurement: NaN, never a reassuring 0.0
    out["criticality_sem"] = np.where(out["n_seeds"] > 1, std / np.sqrt(out["n_seeds"].clip(lower=1)), np.nan)
    out["role"] = np.select([out["n_seeds"] == 0, out["criticality_mean"] < auxiliary_below,
                             out["criticality_mean"] > critical_above],
                            ["unmeasured", "auxiliary", "critical"], "intermediate")
    return out[SUMMARY_COLUMNS]


__all__ = ["ROW_COLUMNS", "SUMMARY_COLUMNS", "summarize"]
