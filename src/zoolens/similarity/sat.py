"""SAT, Eq. 1 of the SAT paper, as pure functions on numpy arrays and DataFrames.

    SAT(A,B) = ln( max{ ε_s, 100 · 1/(2|X_AB|) Σ_{x∈X_AB} [1(A(x_B) ≠ y) + 1(B(x_A) ≠ y)] } )

with X_AB = {x : A(x) = y and B(x) = y}, x_A / x_B the adversarial examples crafted
on A / B, and the natural log (the paper's diagonal is "close to 4.6 (log 100)").

ε_s is "a small scalar" the paper does not give. We use :data:`EPS_S` = 1e-2 (in the
percent units of the inner term): it is at most the smallest non-zero inner value
100/(2|X_AB|) for |X_AB| ≤ 5,000 (the paper's sample), so the floor only ever
replaces an exact zero, and ln ε_s = −ln 100 mirrors the diagonal's +ln 100.

One-sided SAT (App. G.1): when only one direction was measured, the inner term is
100 × the mean of that one direction over X_AB (i.e. the same formula with the
missing direction dropped and the normalizer 1/|X_AB|).
"""

from __future__ import annotations

import hashlib
import math
from typing import Sequence

import numpy as np
import pandas as pd

#: ε_s of Eq. 1, in percent units (see the module docstring for why 1e-2).
EPS_S = 1e-2


def sat_from_counts(n_fooled_ab: float | None, n_fooled_ba: float | None, n_both_correct: int,
                    eps_s: float = EPS_S) -> float:
    """SAT(A,B) from counts (Eq. 1).

    Parameters
    ----------
    n_fooled_ab:
        #{x ∈ X_AB : B(x_A) ≠ y} (A's adversarials fool B), or ``None`` if not measured.
    n_fooled_ba:
        #{x ∈ X_AB : A(x_B) ≠ y}, or ``None`` if not measured.
    n_both_correct:
        |X_AB|.
    eps_s:
        The floor ε_s (percent units).

    Returns
    -------
    float
        ln(max(ε_s, inner)); ln ε_s when X_AB is empty; NaN when neither direction was measured.
    """
    measured = [v for v in (n_fooled_ab, n_fooled_ba) if v is not None and not _isnan(v)]
    if not measured:
        return math.nan
    if n_both_correct <= 0:
        return math.log(eps_s)
    inner = 100.0 * sum(measured) / (len(measured) * n_both_correct)
    return math.log(max(eps_s, inner))


def _isnan(v) -> bool:
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def sat_from_outcomes(fooled_ab: np.ndarray | Sequence[bool] | None, fooled_ba: np.ndarray | Sequence[bool] | None,
                      eps_s: float = EPS_S) -> float:
    """SAT(A,B) from per-image outcomes on X_AB (Eq. 1).

    Parameters
    ----------
    fooled_ab:
        Boolean per image of X_AB: 1(B(x_A) ≠ y); ``None`` if that direction is missing.
    fooled_ba:
        Boolean per image of X_AB (same images, same order): 1(A(x_B) ≠ y); or ``None``.
    eps_s:
        The floor ε_s.

    Returns
    -------
    float
        SAT; ln ε_s for an empty X_AB; NaN if both directions are ``None``.
    """
    arrays = [np.asarray(a, dtype=bool) for a in (fooled_ab, fooled_ba) if a is not None]
    if len(arrays) == 2 and arrays[0].shape != arrays[1].shape:
        raise ValueError("both directions must cover the same images of X_AB")
    if not arrays:
        return math.nan
    n = arrays[0].size
    counts = [int(a.sum()) for a in arrays]
    return sat_from_counts(counts[0], counts[1] if len(counts) > 1 else None, n, eps_s)


def sat_matrix_from_transfer(transfer: pd.DataFrame, models: Sequence[str] | None = None,
                             eps_s: float = EPS_S) -> pd.DataFrame:
    """The symmetric SAT matrix from the asymmetric transfer table (Eq. 1).

    Parameters
    ----------
    transfer:
        One row per measured ordered pair with columns ``source``, ``target``,
        ``n_both_correct`` (|X_AB|) and ``n_fooled`` (#{x ∈ X_AB : target(x_source) ≠ y}).
        The diagonal (A, A) is the white-box attack on A's correctly classified images.
    models:
        Row/column order (default: sorted names found in ``transfer``).
    eps_s:
        The floor ε_s.

    Returns
    -------
    pandas.DataFrame
        Square, index and columns = model names; symmetric by construction (both
        orders of a pair read the same two rows). One-sided where only one direction
        exists; NaN where none does.
    """
    if models is None:
        models = sorted(set(transfer["source"]) | set(transfer["target"]))
    models = list(models)
    lookup = {(r.source, r.target): (int(r.n_fooled), int(r.n_both_correct))
              for r in transfer.itertuples(index=False)}
    out = np.full((len(models), len(models)), np.nan)
    for i, a in enumerate(models):
        for j in range(i, len(models)):
            b = models[j]
            out[i, j] = out[j, i] = _pair_sat(lookup, a, b, eps_s)
    return pd.DataFrame(out, index=pd.Index(models, name="model"), columns=models)


def _pair_sat(lookup: dict, a: str, b: str, eps_s: float) -> float:
    ab, ba = lookup.get((a, b)), lookup.get((b, a))
    if ab is None and ba is None:
        return math.nan
    if ab is not None and ba is not None and ab[1] != ba[1]:
        raise ValueError(f"|X_AB| differs between directions of ({a}, {b}): {ab[1]} vs {ba[1]}")
    n = (ab or ba)[1]
    if a == b:  # the diagonal: both directions are the same white-box measurement
        ba = None
    return sat_from_counts(ab[0] if ab else None, ba[0] if ba else None, n, eps_s)


def pair_seed(seed: int, a: str, b: str) -> int:
    """A per-pair seed independent of which other models are in the run (so incremental == scratch)."""
    lo, hi = sorted((a, b))
    h = hashlib.sha256(f"{seed}\x00{lo}\x00{hi}".encode()).digest()
    return int.from_bytes(h[:8], "little")


def bootstrap_sat(fooled_ab: np.ndarray | None, fooled_ba: np.ndarray | None, *, n_resamples: int = 1000,
                  level: float = 0.95, seed: int = 0, eps_s: float = EPS_S) -> tuple[float, float]:
    """Percentile bootstrap CI of SAT(A,B), resampling the images of X_AB with replacement.

    Both directions are resampled with the *same* image indices (they are paired
    outcomes of one image). Vectorised: one (R, n) index draw, R SAT values.

    Parameters
    ----------
    fooled_ab, fooled_ba:
        As in :func:`sat_from_outcomes` (either may be ``None`` for one-sided SAT).
    n_resamples:
        R, number of bootstrap resamples.
    level:
        Two-sided coverage of the interval.
    seed:
        Seeds ``numpy.random.default_rng``.
    eps_s:
        The floor ε_s.

    Returns
    -------
    (low, high)
        ln ε_s twice for an empty X_AB; NaN twice if no direction is given.
    """
    arrays = [np.asarray(a, dtype=np.int64) for a in (fooled_ab, fooled_ba) if a is not None]
    if not arrays:
        return math.nan, math.nan
    n = arrays[0].size
    if n == 0:
        return math.log(eps_s), math.log(eps_s)
    per_image = np.sum(arrays, axis=0)  # 0, 1 or 2 fooled directions per image
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(int(n_resamples), n))
    inner = 100.0 * per_image[idx].sum(axis=1) / (len(arrays) * n)
    sats = np.log(np.maximum(eps_s, inner))
    tail = (1.0 - level) / 2.0
    return float(np.quantile(sats, tail)), float(np.quantile(sats, 1.0 - tail))


def sat_ci_table(transfer_images: pd.DataFrame, transfer: pd.DataFrame, models: Sequence[str], *,
                 n_resamples: int = 1000, level: float = 0.95, seed: int = 0, eps_s: float = EPS_S) -> pd.DataFrame:
    """SAT with a bootstrap CI for every unordered pair (diagonal included).

    Parameters
    ----------
    transfer_images:
        Per-image outcomes on X_AB: ``source``, ``target``, ``image``, ``fooled``.
    transfer:
        Pair counts (see :func:`sat_matrix_from_transfer`).
    models:
        Model names; pairs (a, b) are emitted for a ≤ b in this order.

    Returns
    -------
    pandas.DataFrame
        Columns ``model_a, model_b, sat, ci_low, ci_high, n_both_correct, n_directions``
        (``n_directions`` 2 = Eq. 1, 1 = one-sided, 0 = not measured).
    """
    counts = {(r.source, r.target): int(r.n_both_correct) for r in transfer.itertuples(index=False)}
    groups = {k: g for k, g in transfer_images.groupby(["source", "target"], sort=False)} \
        if len(transfer_images) else {}
    sat = sat_matrix_from_transfer(transfer, models, eps_s)
    rows = []
    models = list(models)
    for i, a in enumerate(models):
        for b in models[i:]:
            dirs = [(a, b)] if a == b else [(a, b), (b, a)]
            present = [d for d in dirs if d in counts]
            n_both = counts[present[0]] if present else 0
            outcomes = []
            ref_images = None
            for d in present:
                g = groups.get(d)
                g = g.sort_values("image") if g is not None else pd.DataFrame({"image": [], "fooled": []})
                images = g["image"].to_numpy()
                if ref_images is not None and not np.array_equal(images, ref_images):
                    raise ValueError(f"per-image outcomes of ({a}, {b}) cover different images per direction")
                ref_images = images
                outcomes.append(g["fooled"].to_numpy(dtype=bool))
            lo, hi = bootstrap_sat(*(outcomes + [None] * (2 - len(outcomes))), n_resamples=n_resamples,
                                   level=level, seed=pair_seed(seed, a, b), eps_s=eps_s)
            rows.append({"model_a": a, "model_b": b, "sat": float(sat.loc[a, b]), "ci_low": lo, "ci_high": hi,
                         "n_both_correct": n_both,
                         "n_directions": 2 * len(present) if a == b else len(present)})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "sat", "ci_low", "ci_high", "n_both_correct",
                                       "n_directions"])


def x_ab_rows(transfer_images: pd.DataFrame) -> pd.DataFrame:
    """The rows of a ``transfer_images`` table that Eq. 1 counts: images both models classify correctly.

    Table format 2 stores every image the source attacked, with a ``both_correct`` flag; format 1
    stored only X_AB (no flag), so its rows are returned as they are.
    """
    if "both_correct" not in transfer_images.columns:
        return transfer_images
    return transfer_images[transfer_images["both_correct"].astype(bool)]


__all__ = ["EPS_S", "bootstrap_sat", "pair_seed", "sat_ci_table", "sat_from_counts", "sat_from_outcomes", "x_ab_rows",
           "sat_matrix_from_transfer"]
