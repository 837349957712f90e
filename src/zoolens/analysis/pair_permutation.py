"""Permutation test over models for "pairs within a group are more similar than pairs across".

The SAT paper's Table 2 compares the mean SAT of pairs within one architecture family with
the mean over pairs across families. Pairs that share a model are not independent (n models
give n(n−1)/2 pairs but only n models' worth of evidence), so a Mann-Whitney test over the
pairs overstates significance. This test keeps the dependence, as the Mantel test
(:mod:`zoolens.analysis.mantel`) does: it permutes the *family labels across models* and
recomputes the statistic mean(within) − mean(across) with the matrix unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zoolens.analysis.mantel import EXACT_UP_TO, relabellings


@dataclass(frozen=True)
class GroupPermutationResult:
    """``difference``: observed mean(within) − mean(across); ``p``: one-sided permutation p-value
    (within > across); ``n_models``, ``n_within``, ``n_across`` (measured pairs); ``permutations``:
    relabellings drawn (all ``n!`` when ``exact``)."""

    difference: float
    p: float
    n_models: int
    n_within: int
    n_across: int
    permutations: int
    exact: bool


def _difference(vals: np.ndarray, same: np.ndarray) -> np.ndarray:
    """mean over ``same`` pairs − mean over the others, per row of ``vals`` (NaN = pair not measured)."""
    ok = np.isfinite(vals)
    w, c = ok & same, ok & ~same
    v = np.where(ok, vals, 0.0)
    nw, nc = w.sum(-1), c.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((nw > 0) & (nc > 0), (v * w).sum(-1) / nw - (v * c).sum(-1) / nc, np.nan)


def within_across_permutation(matrix, groups, *, permutations: int = 9999, seed: int = 0
                              ) -> GroupPermutationResult:
    """Permutation test of mean(within-group pairs) > mean(across-group pairs) over models
    (SAT paper Sec. 4.2, Table 2: SAT within one architecture vs across architectures).

    Parameters
    ----------
    matrix:
        Square (n × n) pairwise statistic, e.g. SAT; the upper triangle is used (a one-sided
        matrix counts as given above the diagonal); NaN marks a pair not measured.
    groups:
        (n,) group label of each model (its architecture family), in the matrix's order.
    permutations:
        Random relabellings (``seed``-ed) when ``n`` > :data:`~zoolens.analysis.mantel.EXACT_UP_TO`;
        up to that many models every one of the ``n!`` relabellings is enumerated and ``p`` is exact.

    Returns
    -------
    GroupPermutationResult
        ``p = #{d_π ≥ d} / n!`` when exact, ``(1 + #{d_π ≥ d}) / (1 + permutations)`` otherwise,
        with d = mean(within) − mean(across) and d_π the same under labels permuted across models.
        NaN ``difference``/``p`` when there are no measured pairs within or across.
    """
    m = np.asarray(matrix, dtype=float)
    g = np.asarray(groups)
    n = m.shape[0]
    if m.ndim != 2 or m.shape != (n, n) or g.shape != (n,):
        raise ValueError(f"need an n × n matrix and n group labels, got {m.shape} and {g.shape}")
    iu = np.triu_indices(n, 1)
    full = np.full_like(m, np.nan)
    full[iu] = m[iu]
    full[(iu[1], iu[0])] = m[iu]
    same = g[iu[0]] == g[iu[1]]
    ok = np.isfinite(full[iu])
    d = float(_difference(full[iu][None], same[None])[0])
    n_within, n_across = int((ok & same).sum()), int((ok & ~same).sum())
    if not math.isfinite(d):
        return GroupPermutationResult(d, math.nan, n, n_within, n_across, 0, False)
    exact = n <= EXACT_UP_TO
    perms = relabellings(n, exact, permutations, seed)
    hits = 0
    for chunk in np.array_split(perms, max(1, len(perms) // 512)):
        # permuting the labels is permuting the models of the matrix under fixed labels:
        # the pair (i, j) gets the value of (π(i), π(j))
        dp = _difference(full[chunk[:, iu[0]], chunk[:, iu[1]]], same[None])
        hits += int((np.isfinite(dp) & (dp >= d - 1e-12)).sum())
    p = hits / len(perms) if exact else (1 + hits) / (1 + len(perms))
    return GroupPermutationResult(d, float(p), n, n_within, n_across, len(perms), bool(exact))


__all__ = ["GroupPermutationResult", "within_across_permutation"]
