"""Ensembles by logit averaging and their error reduction rate (SAT paper Sec. 5.1, Fig. 6/7, Table 3).

ERR(M) = 1 − Err_ens(M) / ((1/|M|) Σ_{m∈M} Err(m)), with the ensemble an unweighted
average of the members' logits and Err the top-1 error on the same labelled images.
"""

from __future__ import annotations

import itertools
import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd



def top1_error(logits: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 error of (N, C) logits against (N,) labels."""
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if len(labels) == 0:
        return math.nan
    return float(np.mean(np.argmax(logits, axis=1) != labels))


def error_reduction_rate(member_logits: Sequence[np.ndarray], labels: np.ndarray) -> float:
    """ERR of an ensemble of logit arrays (SAT paper Sec. 5.1).

    Parameters
    ----------
    member_logits:
        (N, C) logits of each member on the same images.
    labels:
        (N,) true labels.

    Returns
    -------
    float
        1 − Err_ens / mean_m Err(m); NaN when every member is error-free.
    """
    if len(member_logits) == 0:
        raise ValueError("an ensemble needs at least one member")
    errs = [top1_error(l, labels) for l in member_logits]
    mean_err = float(np.mean(errs))
    ens = top1_error(np.mean(np.stack([np.asarray(l, dtype=np.float64) for l in member_logits]), axis=0), labels)
    return math.nan if mean_err == 0 else 1.0 - ens / mean_err


def _predict_mean(logits: np.ndarray, combo: tuple[int, ...]) -> np.ndarray:
    return np.argmax(logits[list(combo)].mean(axis=0), axis=1)


def pair_ensembles(logits: Mapping[str, np.ndarray], labels: np.ndarray, sat: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
    """ERR of every 2-model ensemble (SAT paper Fig. 6), with the pair's SAT when given.

    Returns
    -------
    pandas.DataFrame
        ``model_a, model_b, err_a, err_b, err_ensemble, err_rate`` (+ ``sat``).
    """
    names = list(logits)
    rows = []
    for a, b in itertools.combinations(names, 2):
        ea, eb = top1_error(logits[a], labels), top1_error(logits[b], labels)
        ens = top1_error((np.asarray(logits[a], float) + np.asarray(logits[b], float)) / 2, labels)
        mean = (ea + eb) / 2
        row = {"model_a": a, "model_b": b, "err_a": ea, "err_b": eb, "err_ensemble": ens,
               "err_rate": math.nan if mean == 0 else 1 - ens / mean}
        if sat is not None:
            row["sat"] = float(sat.loc[a, b])
        rows.append(row)
    return pd.DataFrame(rows)


def _subsets(pool: Sequence[int], n: int, max_combos: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Every ``n``-subset of ``pool`` (sorted tuples), or ``max_combos`` distinct ones drawn uniformly."""
    pool = list(pool)
    if n > len(pool) or n < 1:
        return []
    if math.comb(len(pool), n) <= max_combos:
        return list(itertools.combinations(pool, n))
    seen: set[tuple[int, ...]] = set()
    while len(seen) < max_combos:
        seen.add(tuple(sorted(rng.choice(pool, size=n, replace=False).tolist())))
    return sorted(seen)


def _evaluate(stacked: np.ndarray, labels: np.ndarray, errs: np.ndarray, wrong: np.ndarray,
              combo: tuple[int, ...]) -> dict[str, float]:
    """ERR, ensemble top-1 error and the count of images every member gets wrong, for one subset."""
    mean_err = errs[list(combo)].mean()
    ens = float(np.mean(_predict_mean(stacked, combo) != labels))
    return {"err_rate": math.nan if mean_err == 0 else 1 - ens / mean_err, "err_ensemble": ens,
            "n_all_wrong": int(wrong[list(combo)].all(axis=0).sum())}


def _prepare(logits: Mapping[str, np.ndarray], labels: np.ndarray):
    names = list(logits)
    stacked = np.stack([np.asarray(logits[n], dtype=np.float64) for n in names])
    labels = np.asarray(labels)
    wrong = np.argmax(stacked, axis=2) != labels[None]
    errs = wrong.mean(axis=1) if len(labels) else np.full(len(names), math.nan)
    return names, stacked, labels, errs, wrong


#: Per-subset columns of :func:`cluster_ensembles`.
SUBSET_COLUMNS = ["n_models", "k_clusters", "members", "err_rate", "err_ensemble", "n_all_wrong"]


def pair_matrix(pairs: pd.DataFrame, names: Sequence[str], value: str) -> np.ndarray:
    """Column ``value`` of :func:`pair_ensembles` output as a symmetric model × model array over
    ``names`` (NaN diagonal and unlisted pairs), for tests over models such as
    :func:`zoolens.analysis.mantel.mantel` (SAT paper Sec. 5.1, Fig. 6)."""
    idx = {m: i for i, m in enumerate(names)}
    out = np.full((len(names), len(names)), np.nan)
    ia = pairs["model_a"].map(idx).to_numpy()
    ib = pairs["model_b"].map(idx).to_numpy()
    v = pairs[value].to_numpy(dtype=float)
    out[ia, ib] = v
    out[ib, ia] = v
    return out


def cluster_ensembles(logits: Mapping[str, np.ndarray], labels: np.ndarray, clusters: Mapping[str, int],
                      sizes: Sequence[int] = (2, 3, 4, 5), *, max_combos: int = 20000, seed: int = 0
                      ) -> pd.DataFrame:
    """ERR, top-1 error and all-wrong count of N-model ensembles grouped by the number k of
    clusters they span (SAT paper Sec. 5.1, Fig. 7a-c, Table 3).

    For each N, every N-subset of models is evaluated (or ``max_combos`` subsets drawn
    uniformly without replacement when there are more); each subset is labelled by k,
    the number of distinct clusters among its members. The mean over subsets with a
    given k is "N models drawn from k clusters"; the mean over all subsets is the
    ``rand`` baseline (uniformly random N models).

    Parameters
    ----------
    logits:
        Model name → (n_images, C) clean logits, all on the same images.
    labels:
        (n_images,) true labels.
    clusters:
        Model name → cluster label.
    sizes:
        Ensemble sizes N.

    Returns
    -------
    pandas.DataFrame
        One row per evaluated subset: ``n_models, k_clusters, members, err_rate`` (ERR, a
        fraction), ``err_ensemble`` (the logit-average ensemble's top-1 error, a fraction; Fig. 7a)
        and ``n_all_wrong`` (images that every member misclassifies; Fig. 7c).
    """
    names, stacked, labels, errs, wrong = _prepare(logits, labels)
    cl = np.array([clusters[n] for n in names])
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        for combo in _subsets(range(len(names)), n, max_combos, rng):
            rows.append({"n_models": n, "k_clusters": int(len(set(cl[list(combo)].tolist()))),
                         "members": ",".join(names[i] for i in combo),
                         **_evaluate(stacked, labels, errs, wrong, combo)})
    return pd.DataFrame(rows, columns=SUBSET_COLUMNS)


def cluster_ensemble_table(subsets: pd.DataFrame) -> pd.DataFrame:
    """Table 3 analogue: mean ERR (%) by N (rows) and k (columns), plus the ``rand`` column
    and the number of subsets behind each cell (``n_<k>`` columns)."""
    if subsets.empty:
        return pd.DataFrame()
    mean = subsets.pivot_table(index="n_models", columns="k_clusters", values="err_rate", aggfunc="mean") * 100
    count = subsets.pivot_table(index="n_models", columns="k_clusters", values="err_rate", aggfunc="count")
    out = mean.copy()
    out.columns = [f"k={c}" for c in mean.columns]
    out["rand"] = subsets.groupby("n_models")["err_rate"].mean() * 100
    for c in count.columns:
        out[f"n_k={c}"] = count[c].fillna(0).astype(int)
    return out.reset_index()


def cluster_ensemble_metrics(subsets: pd.DataFrame) -> pd.DataFrame:
    """Fig. 7a-c as one long table: per ensemble size N and selection (``k=1`` … ``k=N`` clusters,
    then ``rand``: all subsets), the mean ERR (%), mean ensemble top-1 error (%) and mean number
    of images every member gets wrong (SAT paper Sec. 5.1, Fig. 7).

    Parameters
    ----------
    subsets:
        :func:`cluster_ensembles` output.

    Returns
    -------
    pandas.DataFrame
        ``n_models, selection, k_clusters`` (nullable int; missing for ``rand``), ``n_subsets,
        err_rate`` (%), ``err_ensemble`` (%), ``n_all_wrong``.
    """
    cols = ["n_models", "selection", "k_clusters", "n_subsets", "err_rate", "err_ensemble", "n_all_wrong"]
    if subsets.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for n, g in subsets.groupby("n_models", sort=True):
        parts = [(f"k={k}", int(k), gk) for k, gk in g.groupby("k_clusters", sort=True)] + [("rand", None, g)]
        for sel, k, part in parts:
            rows.append({"n_models": int(n), "selection": sel, "k_clusters": k, "n_subsets": len(part),
                         "err_rate": part["err_rate"].mean() * 100, "err_ensemble": part["err_ensemble"].mean() * 100,
                         "n_all_wrong": float(part["n_all_wrong"].mean())})
    out = pd.DataFrame(rows, columns=cols)
    out["k_clusters"] = out["k_clusters"].astype("Int64")
    return out



__all__ = ["SUBSET_COLUMNS", "cluster_ensemble_metrics", "cluster_ensemble_table", "cluster_ensembles",
           "error_reduction_rate", "pair_ensembles", "pair_matrix", "top1_error"]
