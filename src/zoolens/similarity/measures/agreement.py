"""Prediction-based similarity: error consistency (Geirhos et al. 2020) and top-1 disagreement.

Error consistency — Geirhos, Meding & Wichmann, "Beyond accuracy: quantifying trial-by-trial
behaviour of CNNs and humans by measuring error consistency", NeurIPS 2020, Eq. 1-3 — is
Cohen's κ on the two models' per-image correct/wrong outcomes:

    c_obs = fraction of images both get right or both get wrong
    c_exp = p₁p₂ + (1 − p₁)(1 − p₂)        (p = accuracy: agreement expected by chance)
    κ     = (c_obs − c_exp) / (1 − c_exp)

c_exp = 1 happens only when both models are always right or both always wrong; then
c_obs = 1 as well and κ is 0/0: it is reported as NaN (``kappa_defined`` False), never as 0 or 1.

Disagreement is the plain fraction of images whose top-1 predictions differ (labels not needed).

Both are computed for every pair at once with matrix products (``*_matrix``); the
per-pair, per-image loops (``*_naive``) are their reference twins.
"""

from __future__ import annotations

import math

import numpy as np

from zoolens.errors import ZoolensError


def _kappa(c_obs: np.ndarray, c_exp: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (c_obs - c_exp) / (1.0 - c_exp)
    return np.where(c_exp >= 1.0, np.nan, k)


def error_consistency(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float]:
    """κ of two boolean per-image outcome vectors; also ``c_obs``, ``c_exp`` and both accuracies."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ZoolensError(f"outcomes of shapes {a.shape} and {b.shape}", "give both models' outcomes on the same images")
    p1, p2 = a.mean(), b.mean()
    c_obs = float((a == b).mean())
    c_exp = float(p1 * p2 + (1 - p1) * (1 - p2))
    return {"error_consistency": float(_kappa(np.float64(c_obs), np.float64(c_exp))), "c_obs": c_obs,
            "c_exp": c_exp, "accuracy_a": float(p1), "accuracy_b": float(p2)}


def error_consistency_matrix(correct: np.ndarray) -> dict[str, np.ndarray]:
    """Every pair of M models at once: ``correct`` is (M × n) bool; returns (M × M) κ, c_obs, c_exp."""
    c = np.asarray(correct, dtype=np.float64)
    if c.ndim != 2 or not c.shape[1]:
        raise ZoolensError(f"outcomes of shape {c.shape}", "give an (models × images) array")
    n = c.shape[1]
    both_right = c @ c.T
    both_wrong = (1 - c) @ (1 - c).T
    c_obs = (both_right + both_wrong) / n
    p = c.mean(1)
    c_exp = np.outer(p, p) + np.outer(1 - p, 1 - p)
    return {"error_consistency": _kappa(c_obs, c_exp), "c_obs": c_obs, "c_exp": c_exp}


def error_consistency_naive(correct_a, correct_b) -> float:
    """κ by a plain loop over images (the reference twin of the vectorised forms)."""
    a, b = list(map(bool, correct_a)), list(map(bool, correct_b))
    n = len(a)
    same = sum(1 for i in range(n) if a[i] == b[i])
    p1, p2 = sum(a) / n, sum(b) / n
    c_obs, c_exp = same / n, p1 * p2 + (1 - p1) * (1 - p2)
    return math.nan if c_exp >= 1.0 else (c_obs - c_exp) / (1 - c_exp)


def disagreement(pred_a: np.ndarray, pred_b: np.ndarray) -> float:
    """Fraction of images whose top-1 predictions differ."""
    a, b = np.asarray(pred_a), np.asarray(pred_b)
    if a.shape != b.shape or not a.size:
        raise ZoolensError(f"predictions of shapes {a.shape} and {b.shape}", "give predictions on the same images")
    return float((a != b).mean())


def disagreement_matrix(preds: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """(M × M) disagreement of M models' (M × n) integer predictions, by one-hot products.

    agreement(i, j) = Σ_k [pred_i = k]·[pred_j = k] / n, so the cost is O(M² n) multiply-adds
    in BLAS instead of M² Python-level comparisons.
    """
    p = np.asarray(preds, dtype=np.int64)
    if p.ndim != 2 or not p.shape[1]:
        raise ZoolensError(f"predictions of shape {p.shape}", "give an (models × images) array")
    k = int(n_classes if n_classes is not None else p.max() + 1)
    onehot = np.zeros((p.shape[0], p.shape[1] * k), dtype=np.float32)
    onehot[np.arange(p.shape[0])[:, None], np.arange(p.shape[1]) * k + p] = 1.0
    agree = (onehot @ onehot.T).astype(np.float64) / p.shape[1]
    return 1.0 - agree


__all__ = ["disagreement", "disagreement_matrix", "error_consistency", "error_consistency_matrix",
           "error_consistency_naive"]
