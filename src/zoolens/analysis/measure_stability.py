"""Stability of SAT vs Somepalli et al. over disjoint samples (SAT paper App. A.1, Table A.1).

The paper computes both similarities of one pair on ten different sample sets and compares
their standard deviations, "as the percentage degree without the logarithmic function" and at
a comparable cost. Here, per pair, the images of X_AB (both models right; the SAT run's
``transfer_images`` outcomes) are split into ``groups`` disjoint, seeded groups, and SAT's
inner term (100 × the fraction of transfers that fool the other model, Eq. 1 without ln) is
computed on each; the measures run's triplets are split into as many disjoint groups and
Somepalli's percentage of agreeing grid points is computed on each. Both stds use ddof = 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoolens.analysis.sat_stability import pair_outcomes


def group_values(values: np.ndarray, groups: int, *, seed: int = 0) -> np.ndarray:
    """Means of ``values`` (one per unit; a unit's rows along axis 0) over ``groups`` disjoint, seeded groups.

    ``values``: (units,) or (units, k) — a row is one unit (an image's two directions, a triplet).
    Units are shuffled with ``seed`` and dealt into equal groups (the remainder is left out), so
    every group has the same size and cost.
    """
    v = np.asarray(values, dtype=float)
    size = len(v) // groups
    if groups < 2 or size < 1:
        return np.array([])
    idx = np.random.default_rng(seed).permutation(len(v))[: size * groups].reshape(groups, size)
    return np.array([np.nanmean(v[i]) for i in idx])


def stability_table(transfer_images: pd.DataFrame, planes: dict[str, np.ndarray], pairs: list[tuple[str, str]],
                    *, groups: int, steps: int, grid: int, seed: int = 0) -> pd.DataFrame:
    """Per pair: std over ``groups`` disjoint samples of SAT's and Somepalli's percentage, with each group's cost.

    Parameters
    ----------
    transfer_images:
        ``source, target, image, fooled`` of the SAT run (images of X_AB only).
    planes:
        Per model: its (triplets × points) grid predictions of the measures run.
    steps, grid:
        The SAT attack's steps and Somepalli's grid side, for the costs per group
        (App. A.1: [images·steps + images]·2 and triplets·grid²·2).

    Returns
    -------
    pandas.DataFrame
        ``model_a, model_b, groups, sat_group_size, sat_std, sat_mean, sat_cost_per_group,
        somepalli_group_size, somepalli_std, somepalli_mean, somepalli_cost_per_group``; pairs with
        fewer than ``groups`` images in X_AB or triplets are left out.
    """
    rows = []
    for a, b in pairs:
        try:  # the X_AB outcomes of both directions, decoded once, as the SAT stability table does
            both, fooled = pair_outcomes(transfer_images, a, b)
        except ValueError:  # measured in one direction only: no SAT groups for this pair
            continue
        sat_g = group_values(fooled * 50.0, groups, seed=seed)  # per image: mean of the two 0/100 outcomes
        per_triplet = (planes[a] == planes[b]).mean(axis=1) * 100
        som_g = group_values(per_triplet, groups, seed=seed)
        if len(sat_g) < 2 or len(som_g) < 2:
            continue
        n_img, n_tri = len(both) // groups, len(per_triplet) // groups
        rows.append({"model_a": a, "model_b": b, "groups": groups,
                     "sat_group_size": n_img, "sat_std": float(np.std(sat_g, ddof=1)),
                     "sat_mean": float(np.mean(sat_g)), "sat_cost_per_group": (n_img * steps + n_img) * 2,
                     "somepalli_group_size": n_tri, "somepalli_std": float(np.std(som_g, ddof=1)),
                     "somepalli_mean": float(np.mean(som_g)),
                     "somepalli_cost_per_group": n_tri * grid ** 2 * 2})
    return pd.DataFrame(rows)


__all__ = ["group_values", "stability_table"]
