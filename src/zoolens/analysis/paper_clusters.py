"""Our SAT clusters against the paper's Table 1: choice of K, adjusted Rand index, keywords side by side.

SAT paper Sec. 4.1–4.2 and Table 1: spectral clustering of the 69 models' SAT graph
into K = 10 clusters, each described by its top-5 TF-IDF component keywords.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.zoo.metadata import zoo_metadata
from zoolens.zoo.paper.sat69 import ZOO as SAT69

#: The paper's number of clusters for its 69 models (Sec. 4.2, Table 1).
PAPER_K = 10
PAPER_ZOO = SAT69


def is_paper_zoo(refs: Mapping[str, str]) -> bool:
    """Whether a run's models are exactly the paper's 69 (references ``zoo:paper-sat69/NAME``)."""
    paper = {f"zoo:{PAPER_ZOO}/{n}" for n in zoo_metadata(PAPER_ZOO).index}
    got = list(refs.values())
    return len(got) == len(paper) and set(got) == paper


def choose_k(k: int | str | None, refs: Mapping[str, str]) -> tuple[int | None, str]:
    """The number of clusters to use and why.

    Parameters
    ----------
    k:
        An integer (given), ``"eigengap"`` (always the eigengap heuristic) or ``None``:
        K = 10 when the run's models are exactly the paper's 69 (the paper's choice,
        Sec. 4.2), else the eigengap.
    refs:
        The run's display name → model reference.

    Returns
    -------
    (K or None, source)
        ``None`` means "choose by eigengap"; ``source`` is ``given``, ``eigengap`` or
        ``the paper's K for its 69 models``.
    """
    if isinstance(k, str):
        if k.strip().lower() == "eigengap":
            return None, "eigengap"
        if not k.strip().isdigit():
            raise ZoolensError(f"K {k!r} is neither a number nor 'eigengap'",
                              "give K as an integer or 'eigengap' (k=10, or --k 10)")
        k = int(k)
    if k is None:
        if is_paper_zoo(refs):
            return PAPER_K, "the paper's K for its 69 models"
        return None, "eigengap"
    if int(k) < 1:
        raise ZoolensError(f"K = {k} clusters", "pass K ≥ 1")
    return int(k), "given"


def cluster_agreement(labels: Sequence[int], paper: Sequence[int]) -> tuple[float, pd.DataFrame]:
    """Adjusted Rand index of two clusterings and their contingency table.

    Parameters
    ----------
    labels:
        Our cluster per model.
    paper:
        The paper's (Table 1) cluster per model, same order.

    Returns
    -------
    (ari, contingency)
        :func:`sklearn.metrics.adjusted_rand_score` (1 = identical partitions, ≈ 0 =
        chance) and counts with index ``cluster`` (ours) and one column ``table1_C`` per
        Table 1 cluster C.
    """
    from sklearn.metrics import adjusted_rand_score

    labels, paper = np.asarray(labels), np.asarray(paper).astype(int)
    if len(labels) != len(paper):
        raise ValueError("one paper cluster per model is needed")
    ari = float(adjusted_rand_score(paper, labels))
    ct = pd.crosstab(pd.Series(labels, name="cluster"), pd.Series(paper, name="table1"))
    ct.columns = [f"table1_{c}" for c in ct.columns]
    return ari, ct


def majority(contingency: pd.DataFrame) -> pd.DataFrame:
    """Per our cluster: its majority Table 1 cluster (ties: the smaller number), that share, its size."""
    rows = []
    for c, row in contingency.iterrows():
        best = row.idxmax()  # first maximum = smallest Table 1 number among ties (columns sorted)
        rows.append({"cluster": int(c), "table1_cluster": int(str(best).split("_")[1]),
                     "share": float(row[best] / row.sum()), "n_models": int(row.sum())})
    return pd.DataFrame(rows, columns=["cluster", "table1_cluster", "share", "n_models"])


def keyword_comparison(keywords: pd.DataFrame, contingency: pd.DataFrame, table1: pd.DataFrame) -> pd.DataFrame:
    """Our top-5 TF-IDF keywords next to Table 1's for the matching paper cluster.

    Each of our clusters is matched to the Table 1 cluster most of its models belong to
    (:func:`majority`).

    Parameters
    ----------
    keywords:
        :func:`zoolens.analysis.components.tfidf_keywords` output (``component=value`` tokens).
    contingency:
        From :func:`cluster_agreement`.
    table1:
        :func:`zoolens.zoo.paper.sat69.table1_keywords` (``cluster, rank, printed, component``).

    Returns
    -------
    pandas.DataFrame
        ``cluster, n_models, table1_cluster, share, our_keywords, table1_keywords,
        shared_components`` — the last = how many components Table 1's keywords name are
        also named by ours.
    """
    rows = []
    for r in majority(contingency).itertuples():
        ours = keywords[keywords["cluster"] == r.cluster].sort_values("rank")
        theirs = table1[table1["cluster"] == r.table1_cluster].sort_values("rank")
        our_comps = {str(k).split("=", 1)[0] for k in ours["keyword"]}
        rows.append({"cluster": r.cluster, "n_models": r.n_models, "table1_cluster": r.table1_cluster,
                     "share": r.share, "our_keywords": "; ".join(ours["keyword"]),
                     "table1_keywords": "; ".join(theirs["printed"]),
                     "shared_components": len(our_comps & set(theirs["component"]))})
    return pd.DataFrame(rows, columns=["cluster", "n_models", "table1_cluster", "share", "our_keywords",
                                       "table1_keywords", "shared_components"])


__all__ = ["PAPER_K", "choose_k", "cluster_agreement", "is_paper_zoo", "keyword_comparison", "majority"]
