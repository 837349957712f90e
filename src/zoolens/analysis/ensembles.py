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

from zoolens.analysis.sat_table2 import SETTINGS, setting_members


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


#: Groups of :func:`family_ensembles`.
WITHIN, WITHIN_AT, ACROSS = "training variants", "adversarial training", "across families"
#: The per-setting groups of :func:`family_ensembles` (Table 2's settings: ``Init``, ``Hparam``, ``Tr. Reg.``).
SETTING_GROUPS: tuple[str, ...] = tuple(SETTINGS)
#: Order of the groups in :func:`family_ensemble_table`.
GROUP_ORDER: tuple[str, ...] = (WITHIN, *SETTING_GROUPS, WITHIN_AT, ACROSS)
AT_CATEGORY = "adversarial_training"


def family_ensembles(logits: Mapping[str, np.ndarray], labels: np.ndarray, meta: pd.DataFrame,
                     sizes: Sequence[int] = (2, 3, 4, 5), *, max_combos: int = 20000, seed: int = 0,
                     max_tries: int = 200) -> pd.DataFrame:
    """Ensembles of one architecture's training variants vs ensembles across architectures
    (SAT paper Sec. 5.1, "Training Strategy vs. Architecture", Fig. 8).

    Groups of N-subsets (each evaluated as in :func:`cluster_ensembles`):

    - ``training variants`` of family F: N-subsets of F's models that are not adversarially
      trained (category ``adversarial_training``; the paper's Fig. 8 leaves adversarial
      training out), for every family with at least N such models;
    - ``Init``, ``Hparam``, ``Tr. Reg.`` of family F (the paper's red, green and blue lines):
      N-subsets of the members of that Table 2 setting,
      :func:`zoolens.analysis.sat_table2.setting_members` (F's baseline plus its models of
      category ``seed``; ``hparam``; ``augmentation`` or ``improved_training``), for every
      N up to the setting's size; families without a baseline have no setting groups;
    - ``adversarial training`` of family F, reported apart: N-subsets of F's models with at
      least one adversarially trained member;
    - ``across families``: N-subsets whose members all come from different families (the
      paper's "different architectures", its N = k setting). When there are more than
      ``max_combos`` of them, ``max_combos`` distinct ones are drawn uniformly by rejection
      from uniform N-subsets (at most ``max_tries · max_combos`` draws).

    Subsets are drawn (when there are more than ``max_combos``) from a random stream seeded by
    ``seed``; the setting groups draw from a stream of their own.
    Models of family ``unknown`` (no metadata) are left out of every group.

    Parameters
    ----------
    logits:
        Model name → (n_images, C) clean logits on the same images.
    labels:
        (n_images,) true labels.
    meta:
        Index = model names, columns ``family`` and ``category``.

    Returns
    -------
    pandas.DataFrame
        One row per subset: ``group, family`` (``(all)`` for across families), ``n_models,
        members, err_rate, err_ensemble, n_all_wrong`` (fractions and a count, as in
        :func:`cluster_ensembles`).
    """
    names, stacked, labels, errs, wrong = _prepare(logits, labels)
    fam = np.array([str(meta.loc[n, "family"]) for n in names])
    at = np.array([str(meta.loc[n, "category"]) == AT_CATEGORY for n in names])
    known = [i for i in range(len(names)) if fam[i] != "unknown"]
    rng = np.random.default_rng(seed)
    rows = []

    def add(group, family, n, combos):
        for combo in combos:
            rows.append({"group": group, "family": family, "n_models": n,
                         "members": ",".join(names[i] for i in combo),
                         **_evaluate(stacked, labels, errs, wrong, combo)})

    families = sorted({fam[i] for i in known})
    index = {m: i for i, m in enumerate(names)}
    known_meta = meta.loc[[names[i] for i in known], ["family", "category"]]
    settings = {key: [index[m] for m in models] for key, models in setting_members(known_meta).items()
                if key[1] in SETTING_GROUPS}
    # a stream of its own, so that the setting groups leave the other groups' draws as they were
    setting_rng = np.random.default_rng([seed, 1])
    for n in sizes:
        for f in families:
            members = [i for i in known if fam[i] == f]
            plain = [i for i in members if not at[i]]
            add(WITHIN, f, n, _subsets(plain, n, max_combos, rng))
            for setting in SETTING_GROUPS:
                if (f, setting) in settings:
                    add(setting, f, n, _subsets(settings[(f, setting)], n, max_combos, setting_rng))
            if any(at[i] for i in members):
                add(WITHIN_AT, f, n, [c for c in _subsets(members, n, max_combos, rng) if at[list(c)].any()])
        add(ACROSS, "(all)", n, _distinct_family_subsets(known, fam, n, max_combos, rng, max_tries))
    return pd.DataFrame(rows, columns=["group", "family", "n_models", "members", "err_rate", "err_ensemble",
                                       "n_all_wrong"])


def _distinct_family_subsets(pool: list[int], fam: np.ndarray, n: int, max_combos: int, rng: np.random.Generator,
                             max_tries: int) -> list[tuple[int, ...]]:
    """N-subsets of ``pool`` with N different families: all, or up to ``max_combos`` drawn uniformly."""
    by_family: dict[str, list[int]] = {}
    for i in pool:
        by_family.setdefault(str(fam[i]), []).append(i)
    groups = list(by_family.values())
    if n < 1 or n > len(groups):
        return []
    # how many there are: the elementary symmetric polynomial of the family sizes
    e = [1] + [0] * n
    for g in groups:
        for r in range(n, 0, -1):
            e[r] += e[r - 1] * len(g)
    if e[n] <= max_combos:
        return sorted(tuple(sorted(pick)) for fams in itertools.combinations(groups, n)
                      for pick in itertools.product(*fams))
    seen: set[tuple[int, ...]] = set()
    for _ in range(max_tries * max_combos):
        draw = rng.choice(pool, size=n, replace=False)
        if len({fam[i] for i in draw}) == n:
            seen.add(tuple(sorted(draw.tolist())))
            if len(seen) == max_combos:
                break
    return sorted(seen)


def family_ensemble_table(subsets: pd.DataFrame) -> pd.DataFrame:
    """Fig. 8 as a table: per group, family and N the mean ERR (%), top-1 error (%) and all-wrong
    count over the subsets (SAT paper Sec. 5.1, Fig. 8).

    Returns
    -------
    pandas.DataFrame
        ``group, family, n_models, n_subsets, err_rate, err_ensemble, n_all_wrong``; groups in
        the order of :data:`GROUP_ORDER`: training variants, Init, Hparam, Tr. Reg., adversarial
        training, across families.
    """
    cols = ["group", "family", "n_models", "n_subsets", "err_rate", "err_ensemble", "n_all_wrong"]
    if subsets.empty:
        return pd.DataFrame(columns=cols)
    g = subsets.groupby(["group", "family", "n_models"], sort=True)
    out = g.agg(n_subsets=("members", "size"), err_rate=("err_rate", "mean"), err_ensemble=("err_ensemble", "mean"),
                n_all_wrong=("n_all_wrong", "mean")).reset_index()
    out[["err_rate", "err_ensemble"]] *= 100
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    out = out.sort_values(["group", "family", "n_models"], key=lambda s: s.map(order) if s.name == "group" else s)
    return out[cols].reset_index(drop=True)


__all__ = ["ACROSS", "AT_CATEGORY", "GROUP_ORDER", "SETTING_GROUPS", "SUBSET_COLUMNS", "WITHIN", "WITHIN_AT",
           "cluster_ensemble_metrics", "cluster_ensemble_table", "cluster_ensembles", "error_reduction_rate",
           "family_ensemble_table", "family_ensembles", "pair_ensembles", "pair_matrix", "top1_error"]
