"""Newcomers placed in the existing SAT clusters (SAT paper App. G.1): pure numpy/pandas.

App. G.1: "a novel network can be assigned to clusters (Tab. 1) to understand how it
works", with SAT measured one-sided for the newcomer (only its own adversarials, or only
the existing models' adversarials). The existing models' clusters are kept as they are —
computed on the existing models alone, exactly as without the newcomer — and each
newcomer goes to the cluster whose members it has the highest **mean SAT** to.

Confidence of an assignment, reported two ways and combined conservatively:

* ``margin``: best minus runner-up cluster mean SAT (SAT units, i.e. natural log of a
  percentage; 0 = a tie).
* ``member_agreement``: leave-one-member-out (jackknife over the existing models): the
  share of the assignments, each with one member of the zoo left out, that pick the same
  cluster. Low when the assignment hinges on a single model. Removals that would empty a
  cluster (a singleton's only member) are skipped; NaN when every removal would.
* ``image_agreement``: a paired bootstrap over the evaluation images (each replicate
  resamples the images once, for every pair of the newcomer, and recomputes its SAT row
  by Eq. 1): the share of replicates that pick the same cluster. Low when the newcomer's
  SAT row is within the measurement noise of a finite eval set.
* ``confidence`` = the smaller of the two agreement shares that are available.

A tie between c clusters counts as 1/c for each of them (a fair coin), so an
equidistant newcomer among K clusters scores about 1/K — chance level, not 1.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from zoolens.analysis.sat_bootstrap import pair_image_outcomes, weighted_sat
from zoolens.similarity.sat import EPS_S

#: Roles of a SAT run's members that were added one-sided (App. G.1, both directions).
ONE_SIDED_ROLES = ("source", "target")

PLACEMENT_COLUMNS = ["newcomer", "cluster", "members", "n_members", "mean_sat", "runner_up", "runner_up_mean_sat",
                     "margin", "member_agreement", "image_agreement", "confidence", "n_clusters"]


def one_sided_newcomers(roles: Mapping[str, str], models: Sequence[str]) -> list[str]:
    """The models of ``models`` whose role is one-sided (``source`` or ``target``), in ``models``' order.

    Parameters
    ----------
    roles:
        Model name → role (``full``, ``source`` or ``target``; see :mod:`zoolens.similarity.members`).
    models:
        The run's models (e.g. the SAT matrix's index).
    """
    return [m for m in models if roles.get(m, "full") in ONE_SIDED_ROLES]


def cluster_scores(row: pd.Series, labels: pd.Series) -> pd.Series:
    """Mean SAT of one newcomer to each existing cluster.

    Parameters
    ----------
    row:
        The newcomer's SAT to the existing models (index = model; NaN = not measured).
    labels:
        Existing model → cluster id.

    Returns
    -------
    pandas.Series
        Cluster id → mean of the finite SAT values to its members (NaN when none is finite),
        sorted by cluster id.
    """
    vals = pd.to_numeric(row.reindex(labels.index), errors="coerce")
    return vals.groupby(labels.to_numpy()).mean().sort_index()


def _tie_shares(scores: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Per row of ``scores`` (replicates × clusters): 1/c for each of the c best clusters, else 0 (NaN ignored).

    A row with no finite score gets all zeros (no vote).
    """
    s = np.where(np.isfinite(scores), scores, -np.inf)
    best = s.max(axis=1, keepdims=True)
    top = np.isfinite(best) & (s >= best - tol)
    return top / np.maximum(top.sum(axis=1, keepdims=True), 1)


def agreement(scores: np.ndarray, cluster_index: int) -> float:
    """Share of replicates (rows of ``scores``, clusters as columns) that pick column ``cluster_index``.

    Ties split evenly (see the module docstring); replicates without any finite score are left out.

    Returns
    -------
    float
        In [0, 1]; NaN when no replicate voted.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    shares = _tie_shares(scores)
    voted = shares.sum(axis=1) > 0
    return float(shares[voted, cluster_index].mean()) if voted.any() else math.nan


def _cluster_means(values: np.ndarray, member_labels: np.ndarray, clusters: Sequence) -> np.ndarray:
    """Replicates × members → replicates × clusters: the mean of the finite values per cluster (NaN if none)."""
    out = np.full((len(values), len(clusters)), np.nan)
    for k, c in enumerate(clusters):
        block = values[:, member_labels == c]
        n = np.isfinite(block).sum(axis=1)
        total = np.where(np.isfinite(block), block, 0.0).sum(axis=1)
        out[:, k] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return out


def leave_one_member_out(row: pd.Series, labels: pd.Series, clusters: Sequence) -> np.ndarray:
    """Cluster mean SAT with each measured member left out in turn (the jackknife of :func:`cluster_scores`).

    A removal that leaves a cluster without any measured member (a singleton cluster's
    only model) is skipped: without that cluster the replicate cannot compare all of them.

    Returns
    -------
    numpy.ndarray
        (kept replicates) × len(clusters).
    """
    full = np.isfinite(cluster_scores(row, labels).reindex(list(clusters)).to_numpy(dtype=float))
    measured = [m for m in labels.index if np.isfinite(float(row.get(m, np.nan)))]
    out = []
    for m in measured:
        scores = cluster_scores(row, labels.drop(m)).reindex(list(clusters)).to_numpy(dtype=float)
        if np.isfinite(scores[full]).all():
            out.append(scores)
    return np.array(out).reshape(len(out), len(clusters))


def place_newcomers(sat: pd.DataFrame, labels: pd.Series | Mapping[str, int], newcomers: Sequence[str], *,
                    draws: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Assign each newcomer to the existing cluster with the highest mean SAT (SAT paper App. G.1).

    The existing clusters are inputs and are never changed: newcomers are placed one by
    one against the existing members only (SAT between two newcomers is not used).

    Parameters
    ----------
    sat:
        Square SAT matrix holding the existing models and the newcomers (one-sided
        entries are fine; NaN = not measured, left out of the means).
    labels:
        Existing model → cluster id (e.g. spectral clusters of the existing models alone).
    newcomers:
        Names of the models to place (rows of ``sat`` not in ``labels``).
    draws:
        Optional newcomer → (replicates × existing models) bootstrap replicates of its SAT
        row (e.g. :func:`image_bootstrap_draws`); gives ``image_agreement`` (else NaN).

    Returns
    -------
    pandas.DataFrame
        One row per newcomer, columns :data:`PLACEMENT_COLUMNS`: the cluster, its members
        (comma-separated), the mean SAT to it, the runner-up cluster and its mean SAT,
        ``margin`` (best − runner-up; NaN with one cluster), ``member_agreement``,
        ``image_agreement``, ``confidence`` (the smaller available agreement) and the
        number of clusters K (chance agreement is 1/K). ``cluster`` is NA when the
        newcomer has no finite SAT to any existing model.
    """
    labels = pd.Series(labels) if not isinstance(labels, pd.Series) else labels
    overlap = [m for m in newcomers if m in labels.index]
    if overlap:
        raise ValueError(f"newcomers must not be among the clustered models: {overlap}")
    clusters = sorted(pd.unique(labels))
    rows = []
    for n in newcomers:
        row = sat.loc[n]
        scores = cluster_scores(row, labels).reindex(clusters)
        base = {"newcomer": n, "n_clusters": len(clusters)}
        if not np.isfinite(scores.to_numpy(dtype=float)).any():
            rows.append({**base, "cluster": pd.NA})
            continue
        order = scores.sort_values(ascending=False, kind="stable").dropna()
        best = order.index[0]
        j = clusters.index(best)
        second = order.index[1] if len(order) > 1 else None
        member_agree = agreement(leave_one_member_out(row, labels, clusters), j)
        image_agree = math.nan
        if draws is not None and n in draws:
            reps = _cluster_means(draws[n].reindex(columns=list(labels.index)).to_numpy(dtype=float),
                                  labels.to_numpy(), clusters)
            image_agree = agreement(reps, j) if len(reps) else math.nan
        present = [v for v in (member_agree, image_agree) if np.isfinite(v)]
        members = sorted(labels.index[labels.to_numpy() == best])
        rows.append({**base, "cluster": best, "members": ", ".join(members), "n_members": len(members),
                     "mean_sat": float(order.iloc[0]), "runner_up": second,
                     "runner_up_mean_sat": float(order.iloc[1]) if second is not None else math.nan,
                     "margin": float(order.iloc[0] - order.iloc[1]) if second is not None else math.nan,
                     "member_agreement": member_agree, "image_agreement": image_agree,
                     "confidence": min(present) if present else math.nan})
    out = pd.DataFrame(rows, columns=PLACEMENT_COLUMNS)
    out["cluster"] = out["cluster"].astype("Int64")
    out["runner_up"] = out["runner_up"].astype("Int64")
    return out


def image_bootstrap_draws(transfer_images: pd.DataFrame, newcomer: str, members: Sequence[str], *,
                          n_resamples: int = 200, seed: int = 0, eps_s: float = EPS_S) -> pd.DataFrame:
    """Paired bootstrap replicates of a newcomer's SAT row (Eq. 1), resampling the evaluation images.

    Each replicate draws the run's images with replacement once and recomputes SAT(N, B)
    for every member B on that same draw (the pairs share images, so they are resampled
    together): the inner term is 100 × Σ_d Σ_x w_x 1(fooled_d(x)) / (n_d Σ_x w_x) over the
    x ∈ X_NB, with w_x the multiplicity of x in the draw and n_d the number of measured
    directions (1 for one-sided SAT, 2 for Eq. 1). An empty X_NB in a draw gives ln ε_s.

    Parameters
    ----------
    transfer_images:
        Per-image outcomes (``source, target, image, fooled`` and, from table format 2,
        ``both_correct``).
    newcomer:
        N.
    members:
        The existing models B (columns of the result).
    n_resamples:
        R.
    seed:
        Seeds ``numpy.random.default_rng``.
    eps_s:
        ε_s of Eq. 1.

    Returns
    -------
    pandas.DataFrame
        R × len(members) SAT replicates (NaN for a member with no measured direction).
    """
    images = np.sort(pd.unique(transfer_images["image"]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(images), size=(int(n_resamples), len(images)))
    weights = np.stack([np.bincount(r, minlength=len(images)) for r in idx]) if len(images) else \
        np.zeros((int(n_resamples), 0))
    outcomes, _ = pair_image_outcomes(transfer_images, [(newcomer, b) for b in members], images)
    out = np.full((int(n_resamples), len(members)), np.nan)
    for j, b in enumerate(members):
        if (newcomer, b) in outcomes:
            out[:, j] = weighted_sat(outcomes[(newcomer, b)], weights, eps_s)
    return pd.DataFrame(out, columns=list(members))


__all__ = ["ONE_SIDED_ROLES", "PLACEMENT_COLUMNS", "agreement", "cluster_scores", "image_bootstrap_draws",
           "leave_one_member_out", "one_sided_newcomers", "place_newcomers"]
