"""Same misclassification (SAT paper App. G.2, Fig. G.1b): identical wrong labels per pair, against SAT.

For a pair (A, B) and an image x ∈ X_AB, A's adversarial x_A gives the *same
misclassification* when it fools both models into one class:
A(x_A) = B(x_A) ≠ y. The count per pair adds both directions (x_A shown to B, x_B
shown to A), like Eq. 1; the fraction divides it by 2|X_AB|, Eq. 1's normalizer.

The paper says SAT and this count are "highly correlated" without a number. The
verdict rule, fixed before looking at data: Spearman ρ ≥ :data:`RHO_THRESHOLD` with a
one-sided Mantel permutation p < :data:`P_THRESHOLD`. Mantel (relabel the models of one
matrix, keep the other) because pairs that share a model are not independent, so
shuffling pairs would overstate the evidence.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from zoolens.analysis.mantel import mantel

from zoolens.errors import ZoolensError

#: sat.same_misclassification: reproduced iff Spearman ρ ≥ this and the Mantel p < P_THRESHOLD.
RHO_THRESHOLD = 0.5
P_THRESHOLD = 0.05
#: Permutations of the Mantel test when n! exceeds this (otherwise all n! are enumerated).
N_PERMUTATIONS = 5000

NEEDED = ("both_correct", "fooled", "adv_pred", "source_pred")


def check_columns(images: pd.DataFrame) -> None:
    """Refuse a ``transfer_images`` table written before the adversarial predictions were stored."""
    missing = [c for c in NEEDED if c not in images.columns]
    if missing:
        raise ZoolensError(f"this SAT run's transfer_images.parquet has no {', '.join(missing)} column (written by "
                           "an older zoolens, before predictions on adversarial images were stored)",
                           "re-run `zoolens similarity` into a new --out directory to count identical wrong labels")


def same_misclassification(images: pd.DataFrame, sat: pd.DataFrame) -> pd.DataFrame:
    """Identical wrong labels per unordered pair of models measured in both directions.

    Parameters
    ----------
    images:
        ``transfer_images`` of a SAT run: ``source, target, image, both_correct, fooled,
        adv_pred`` (target's class on x_source) and ``source_pred`` (source's class on it).
    sat:
        The run's SAT matrix (its off-diagonal pairs are reported).

    Returns
    -------
    pandas.DataFrame
        ``model_a, model_b, n_both_correct, same_ab`` (x_A fools B into A's class),
        ``same_ba, n_same, fraction`` (n_same / 2|X_AB|) and ``sat``.
    """
    check_columns(images)
    x = images[images["both_correct"]]
    # the target is fooled into the source's own white-box class (then the source is fooled too)
    same = x["fooled"] & (x["source_pred"] == x["adv_pred"]).fillna(False).astype(bool)
    counts = same.groupby([x["source"], x["target"]]).sum().to_dict()
    sizes = x.groupby(["source", "target"]).size().to_dict()
    rows = []
    for a, b in itertools.combinations(list(sat.index), 2):
        if (a, b) not in sizes or (b, a) not in sizes:
            continue  # one-sided pairs: App. G.2 counts both directions
        n = int(sizes[(a, b)])
        ab, ba = int(counts.get((a, b), 0)), int(counts.get((b, a), 0))
        rows.append({"model_a": a, "model_b": b, "n_both_correct": n, "same_ab": ab, "same_ba": ba,
                     "n_same": ab + ba, "fraction": (ab + ba) / (2 * n) if n else math.nan,
                     "sat": float(sat.loc[a, b])})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "n_both_correct", "same_ab", "same_ba", "n_same",
                                       "fraction", "sat"])


def mantel_spearman(pairs: pd.DataFrame, x: str = "sat", y: str = "n_same", *, n_permutations: int = N_PERMUTATIONS,
                    seed: int = 0) -> dict:
    """Spearman ρ of two per-pair quantities and its one-sided Mantel p-value (ρ at least as large).

    :func:`zoolens.analysis.mantel.mantel` with ``alternative="greater"``: the models are
    relabelled jointly (all n! relabellings up to 7 models, else ``n_permutations`` seeded ones).
    Returns ``n_pairs, n_models, spearman_rho, mantel_p, n_permutations``; NaN below 3 pairs
    or with a constant variable.
    """
    models = sorted(set(pairs["model_a"]) | set(pairs["model_b"]))
    out = {"n_pairs": int(len(pairs)), "n_models": len(models), "spearman_rho": math.nan, "mantel_p": math.nan,
           "n_permutations": 0}
    if len(pairs) < 3 or pairs[x].nunique() < 2 or pairs[y].nunique() < 2:
        return out
    idx = {m: i for i, m in enumerate(models)}
    ia, ib = pairs["model_a"].map(idx).to_numpy(), pairs["model_b"].map(idx).to_numpy()
    mats = []
    for col in (x, y):
        m = np.full((len(models), len(models)), np.nan)
        m[ia, ib] = m[ib, ia] = pairs[col].to_numpy(dtype=float)
        mats.append(m)
    res = mantel(mats[0], mats[1], method="spearman", permutations=n_permutations, seed=seed, alternative="greater")
    out.update(spearman_rho=res.r, mantel_p=res.p, n_permutations=res.permutations)
    return out


def verdict(test: dict | None, reason: str | None = None) -> tuple[str, str, float | None]:
    """``sat.same_misclassification``: (verdict, evidence, measured ρ)."""
    if test is None or not math.isfinite(test.get("spearman_rho", math.nan)):
        return "not testable", reason or "fewer than 3 pairs measured in both directions, or a constant count", None
    rho, p = test["spearman_rho"], test["mantel_p"]
    ok = rho >= RHO_THRESHOLD and p < P_THRESHOLD
    ev = (f"Spearman ρ(SAT, identical wrong labels) = {rho:.2f} over {test['n_pairs']} pairs of {test['n_models']} "
          f"models; one-sided Mantel p = {p:.3g} ({test['n_permutations']} relabellings); paper: 'highly "
          f"correlated' (no number); rule: ρ ≥ {RHO_THRESHOLD} and p < {P_THRESHOLD}")
    return ("reproduced" if ok else "not reproduced"), ev, rho


__all__ = ["N_PERMUTATIONS", "NEEDED", "P_THRESHOLD", "RHO_THRESHOLD", "check_columns", "mantel_spearman",
           "same_misclassification", "verdict"]
