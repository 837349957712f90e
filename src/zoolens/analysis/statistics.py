"""Correlation helpers: Pearson and Spearman with p-values, NaN-safe and defined for tiny samples."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats


def _clean(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length ({x.shape} vs {y.shape})")
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def correlation(x: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """Pearson r and Spearman ρ of ``x`` and ``y`` with two-sided p-values.

    Pairs with a non-finite value are dropped. With fewer than 3 pairs, or a constant
    variable, every statistic is NaN (never a misleading 0 or 1).

    Parameters
    ----------
    x, y:
        Paired samples (e.g. SAT and ERR of all model pairs, SAT paper Fig. 6;
        mean criticality and accuracy, criticality paper Fig. 3).

    Returns
    -------
    dict
        ``n``, ``pearson_r``, ``pearson_p``, ``spearman_rho``, ``spearman_p``.
    """
    x, y = _clean(x, y)
    out = {"n": int(len(x)), "pearson_r": math.nan, "pearson_p": math.nan,
           "spearman_rho": math.nan, "spearman_p": math.nan}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    r, p = stats.pearsonr(x, y)
    rho, sp = stats.spearmanr(x, y)
    out.update(pearson_r=float(r), pearson_p=float(p), spearman_rho=float(rho), spearman_p=float(sp))
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, int]:
    """Spearman ρ, its two-sided p-value and the number of finite pairs (see :func:`correlation`)."""
    c = correlation(x, y)
    return c["spearman_rho"], c["spearman_p"], c["n"]


def upper_triangle(matrix: np.ndarray, k: int = 1) -> np.ndarray:
    """Entries above the diagonal (offset ``k``) of a square matrix, row-major."""
    m = np.asarray(matrix)
    i, j = np.triu_indices(m.shape[0], k=k)
    return m[i, j]


__all__ = ["correlation", "spearman", "upper_triangle"]
