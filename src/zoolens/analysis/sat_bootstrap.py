"""SAT under resampled evaluation images: per-pair outcomes on X_AB and Eq. 1 with image weights.

Shared by Table 2's intervals (:mod:`zoolens.analysis.sat_table2`) and the newcomer
placement's image agreement (:mod:`zoolens.analysis.newcomer_placement`): both resample
the run's images once per replicate and recompute many pairs on that same draw, so pairs
that share images move together.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from zoolens.similarity.sat import x_ab_rows

#: (index into the image ids, fooled directions per image 0/1/2, number of measured directions)
PairOutcome = tuple[np.ndarray, np.ndarray, int]


def pair_image_outcomes(transfer_images: pd.DataFrame, pairs: Iterable[tuple[str, str]],
                        images: np.ndarray | None = None) -> tuple[dict[tuple[str, str], PairOutcome], np.ndarray]:
    """The images of X_AB and the fooled directions per image, for each unordered pair.

    Parameters
    ----------
    transfer_images:
        Per-image outcomes (``source, target, image, fooled[, both_correct]``).
    pairs:
        (a, b) pairs; both directions are read, the diagonal never.
    images:
        Sorted image ids the indices refer to (default: those of X_AB of the given pairs).

    Returns
    -------
    (outcomes, images)
        ``outcomes[(a, b)]`` for every pair with at least one measured direction.
    """
    pairs = [(a, b) for a, b in pairs if a != b]
    models = {m for p in pairs for m in p}
    t = x_ab_rows(transfer_images)
    t = t[t["source"].isin(models) & t["target"].isin(models) & (t["source"] != t["target"])]
    if images is None:
        images = np.unique(t["image"].to_numpy()) if len(t) else np.zeros(0, dtype=np.int64)
    groups = {k: g for k, g in t.groupby(["source", "target"], sort=False)}
    out = {}
    for a, b in pairs:
        dirs = [g for g in (groups.get((a, b)), groups.get((b, a))) if g is not None]
        if not dirs:
            continue
        fooled = pd.concat([g.set_index("image")["fooled"].astype(int) for g in dirs], axis=1).fillna(0).sum(axis=1)
        out[(a, b)] = (np.searchsorted(images, fooled.index.to_numpy()), fooled.to_numpy(dtype=np.int64), len(dirs))
    return out, images


def weighted_sat(outcome: PairOutcome, weights: np.ndarray, eps_s: float) -> np.ndarray:
    """SAT of one pair under image weights (R, n_images): Eq. 1 with each image counted w times.

    An empty X_AB under a draw gives ln ε_s.
    """
    idx, fooled, ndir = outcome
    w = weights[:, idx]
    n = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inner = np.where(n > 0, 100.0 * (w * fooled).sum(axis=1) / (ndir * n), 0.0)
    return np.log(np.maximum(eps_s, inner))


__all__ = ["PairOutcome", "pair_image_outcomes", "weighted_sat"]
