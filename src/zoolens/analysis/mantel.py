"""Mantel permutation test: the correlation of two pairwise (model × model) matrices.

Pairwise statistics that share a model are not independent: the 2,346 pairs of 69 models
carry 69 models' worth of evidence, not 2,346 points'. Testing a pair-level correlation
(SAT against ensemble ERR, one similarity measure against another) with the pair count
therefore overstates significance. The Mantel test (Mantel 1967) keeps the pairs'
dependence: it permutes the *models* — rows and columns of one matrix together — and
compares the observed correlation with its permutation distribution.

Written here because the one maintained implementation (``skbio.stats.distance.mantel``)
would bring scikit-bio and its compiled stack into the install for forty lines; this one
also ignores missing pairs (NaN), which SAT matrices of one-sided runs have.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

#: Up to this many models every permutation is enumerated (7! = 5,040) and p is exact.
EXACT_UP_TO = 7


@dataclass(frozen=True)
class MantelResult:
    """``r``: correlation over the pairs both matrices have; ``p``: two-sided permutation p-value;
    ``n_models``, ``n_pairs``; ``permutations``: how many were drawn (all of them when ``exact``)."""

    r: float
    p: float
    n_models: int
    n_pairs: int
    permutations: int
    exact: bool
    method: str


def relabellings(n: int, exact: bool, permutations: int, seed: int) -> np.ndarray:
    """(P, n) model relabellings: all n! when ``exact``, else ``permutations`` seeded random ones."""
    if exact:
        return np.array(list(itertools.permutations(range(n))))
    rng = np.random.default_rng(seed)
    return np.array([rng.permutation(n) for _ in range(permutations)])


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape != b.shape:
        raise ValueError(f"mantel needs two square matrices of one shape, got {a.shape} and {b.shape}")


def _corr_rows(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``x`` with each row of ``y`` over the entries where ``mask`` holds (row-wise)."""
    m = mask.astype(float)
    n = m.sum(1)
    xs = np.where(mask, x, 0.0)
    ys = np.where(mask, y, 0.0)
    mx = xs.sum(1) / n
    my = ys.sum(1) / n
    dx = np.where(mask, x - mx[:, None], 0.0)
    dy = np.where(mask, y - my[:, None], 0.0)
    den = np.sqrt((dx * dx).sum(1) * (dy * dy).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (dx * dy).sum(1) / den, np.nan)


def mantel(a, b, *, method: str = "spearman", permutations: int = 9999, seed: int = 0,
           alternative: str = "two-sided") -> MantelResult:
    """Mantel test between two model × model matrices.

    Parameters
    ----------
    a, b:
        Square matrices over the same models in the same order. Only the pairs above the
        diagonal are used; where a matrix is not symmetric (e.g. one-sided SAT) its upper
        triangle is taken as given. NaN marks a pair that was not measured.
    method:
        ``"spearman"`` (rank correlation; ranks are taken once, as permuting models permutes
        which pair holds which value but not the values) or ``"pearson"``.
    permutations:
        Random permutations of the models (``seed``-ed). With at most :data:`EXACT_UP_TO`
        models every permutation is enumerated instead and ``p`` is exact.
    alternative:
        ``"two-sided"`` (``|r_π| ≥ |r|``) or ``"greater"`` (``r_π ≥ r``: a claim of a positive
        relation).

    Returns
    -------
    MantelResult
        ``p = (1 + #{|r_π| ≥ |r|}) / (1 + permutations)`` for random permutations (the
        observed order counts as one of them), ``#{|r_π| ≥ |r|} / n!`` when exact.
    """
    if method not in ("spearman", "pearson"):
        raise ValueError(f"method must be 'spearman' or 'pearson', got {method!r}")
    if alternative not in ("two-sided", "greater"):
        raise ValueError(f"alternative must be 'two-sided' or 'greater', got {alternative!r}")
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    _check(a, b)
    n = a.shape[0]
    iu = np.triu_indices(n, 1)
    # the upper triangle, mirrored (a one-sided matrix counts as given above the diagonal);
    # for Spearman its ranks over the measured pairs, taken once: NaN stays NaN
    a, b = _upper_mirrored(a, iu, method == "spearman"), _upper_mirrored(b, iu, method == "spearman")
    x = a[iu]
    base = np.isfinite(x)
    n_pairs = int((base & np.isfinite(b[iu])).sum())
    if n < 3 or n_pairs < 3:
        return MantelResult(math.nan, math.nan, n, n_pairs, 0, False, method)
    r = float(_corr_rows(x[None], b[iu][None], (base & np.isfinite(b[iu]))[None])[0])
    exact = math.factorial(n) <= max(permutations, 1) or n <= EXACT_UP_TO
    perms = relabellings(n, exact, permutations, seed)
    hits = 0
    for chunk in np.array_split(perms, max(1, len(perms) // 512)):
        # b with models relabelled: b_π[i, j] = b[π(i), π(j)], read off at the upper triangle
        yb = b[chunk[:, iu[0]], chunk[:, iu[1]]]
        # (b is mirrored, so a permuted pair landing below the diagonal reads the same value)
        mask = base[None] & np.isfinite(yb)
        rp = _corr_rows(np.broadcast_to(x, yb.shape), yb, mask)
        # a relabelling whose pairs leave < 2 distinct values (r_π = NaN) counts as no match
        reached = (np.abs(rp) >= abs(r) - 1e-12) if alternative == "two-sided" else (rp >= r - 1e-12)
        hits += int((np.isfinite(rp) & reached).sum())
    p = hits / len(perms) if exact else (1 + hits) / (1 + len(perms))
    return MantelResult(r, float(p), n, n_pairs, len(perms), bool(exact), method)


def _upper_mirrored(m: np.ndarray, iu, rank: bool) -> np.ndarray:
    """``m``'s upper triangle (as ranks over its finite values when ``rank``) mirrored below; NaN diagonal."""
    out = np.full_like(m, np.nan)
    vals = m[iu].copy()
    if rank:
        ok = np.isfinite(vals)
        vals[ok] = rankdata(vals[ok])
    out[iu] = vals
    out[(iu[1], iu[0])] = vals
    return out


__all__ = ["EXACT_UP_TO", "MantelResult", "mantel", "relabellings"]
