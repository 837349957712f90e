"""SAT against the other similarity measures (SAT paper Sec. 3 "Comparison with other methods",
Sec. 5.1 Fig. 10, App. A.1-A.2, Tables A.1-A.3; issue #16 item 3). Pure functions: numpy/pandas in and out.

Every measure becomes a model × model matrix oriented as a **similarity** (higher = more alike):
distances (disagreement, Tramèr's inter-boundary distance) are negated, which leaves rank
correlations meaningful. The comparisons are

* the Spearman matrix between all measures over model pairs, with Mantel p-values
  (:func:`zoolens.analysis.mantel.mantel`: pairs sharing a model are not independent);
* per measure: spectral clusters exactly as SAT's (:func:`zoolens.analysis.clustering.spectral_clustering`,
  same K) on a non-negative affinity built from the measure, and their adjusted Rand index (ARI)
  against SAT's clusters (App. A.2 compares clusterings only through ensembles; the ARI is ours);
* per measure: the Spearman correlation of its *diversity* (the negated similarity) with the pair
  ensemble's error reduction rate ERR (Fig. 10: "SAT only shows a strong positive correlation,
  while the others show an almost random or slightly negative correlation");
* the cost in forward passes of each measure at the settings the runs used (App. A.1's accounting).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from zoolens.analysis.clustering import spectral_clustering
from zoolens.analysis.ensembles import cluster_ensembles
from zoolens.analysis.mantel import mantel

#: Measure → direction of its raw values: ``similarity`` (higher = more alike) or ``distance``.
DIRECTIONS: dict[str, str] = {
    "sat": "similarity", "cka": "similarity", "error_consistency": "similarity", "disagreement": "distance",
    "somepalli": "similarity", "tramer_legitimate": "distance", "tramer_random": "distance",
    "tramer_adversarial": "distance"}

#: The paper's accounting of App. A.1 (5,000 images, 50 PGD steps vs 500 triplets × 2,500 points).
PAPER_PASSES = {"sat": (5000 * 50 + 5000) * 2, "somepalli": 500 * 2500 * 2}


def pair_matrix(table: pd.DataFrame, names: Sequence[str], column: str, *, a: str = "model_a",
                b: str = "model_b") -> pd.DataFrame:
    """A symmetric model × model matrix of one per-pair column (NaN diagonal and unmeasured pairs)."""
    idx = {m: i for i, m in enumerate(names)}
    out = np.full((len(names), len(names)), np.nan)
    for ma, mb, v in table[[a, b, column]].itertuples(index=False, name=None):
        if ma in idx and mb in idx and ma != mb:
            out[idx[ma], idx[mb]] = out[idx[mb], idx[ma]] = float(v)
    return pd.DataFrame(out, index=list(names), columns=list(names))


def oriented(measure: str, matrix: pd.DataFrame) -> pd.DataFrame:
    """The matrix as a similarity: distances (see :data:`DIRECTIONS`) negated, similarities as they are."""
    return -matrix if DIRECTIONS.get(measure, "similarity") == "distance" else matrix


def symmetric_sat(sat: pd.DataFrame) -> pd.DataFrame:
    """SAT as one value per unordered pair: the mean of both directions (Eq. 1 is symmetric already)."""
    v = sat.to_numpy(dtype=float)
    s = np.where(np.isfinite(v) & np.isfinite(v.T), (v + v.T) / 2, np.where(np.isfinite(v), v, v.T))
    np.fill_diagonal(s, np.nan)
    return pd.DataFrame(s, index=sat.index, columns=sat.columns)


def correlation_matrix(mats: Mapping[str, pd.DataFrame], *, permutations: int = 9999, seed: int = 0
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spearman ρ between every two measures over the model pairs, with Mantel p-values.

    Parameters
    ----------
    mats:
        Measure → similarity-oriented matrix over the same models in the same order.

    Returns
    -------
    (square, long)
        ``square``: measures × measures ρ (diagonal 1); ``long``: one row per unordered pair of
        measures with ``rho, mantel_p, n_pairs, n_models, permutations, exact``.
    """
    names = list(mats)
    rho = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            r = mantel(mats[a].to_numpy(float), mats[b].to_numpy(float), method="spearman",
                       permutations=permutations, seed=seed)
            rho.loc[a, b] = rho.loc[b, a] = r.r
            rows.append({"measure_a": a, "measure_b": b, "rho": r.r, "mantel_p": r.p, "n_pairs": r.n_pairs,
                         "n_models": r.n_models, "permutations": r.permutations, "exact": r.exact})
    return rho, pd.DataFrame(rows, columns=["measure_a", "measure_b", "rho", "mantel_p", "n_pairs", "n_models",
                                            "permutations", "exact"])


def affinity(measure: str, matrix: pd.DataFrame) -> pd.DataFrame:
    """A non-negative similarity for spectral clustering from a raw measure matrix.

    SAT, CKA, error consistency (κ) and Somepalli are similarities and are used as they are
    (the clustering clips negative values to 0, as for SAT); disagreement d ∈ [0, 1] becomes the
    agreement 1 − d; Tramèr's distances d become the Gaussian kernel exp(−d²/(2σ²)) with σ the
    median off-diagonal distance (Ng, Jordan & Weiss's affinity for distances).
    """
    if measure == "disagreement":
        return 1.0 - matrix
    if DIRECTIONS.get(measure) == "distance":
        v = matrix.to_numpy(dtype=float)
        off = v[np.isfinite(v) & ~np.eye(len(v), dtype=bool)]
        sigma = float(np.median(off)) if off.size and np.median(off) > 0 else 1.0
        return pd.DataFrame(np.exp(-(v ** 2) / (2 * sigma ** 2)), index=matrix.index, columns=matrix.columns)
    return matrix


def measure_clusters(raw: Mapping[str, pd.DataFrame], k: int, *, seed: int = 0, reference: str = "sat"
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spectral clusters of every measure (same K, same procedure as SAT's) and their ARI against ``reference``.

    Parameters
    ----------
    raw:
        Measure → raw matrix (its own direction) over the same models; must contain ``reference``.
    k:
        Number of clusters (SAT's K), capped at the number of models.

    Returns
    -------
    (ari, labels)
        ``ari``: ``measure, k, ari_vs_<reference>, n_clusters_found``; ``labels``: models × measures.
    """
    names = list(next(iter(raw.values())).index)
    k = int(min(max(k, 1), len(names)))
    labels = {}
    for m, mat in raw.items():
        aff = affinity(m, mat)
        if not np.isfinite(aff.to_numpy(float)[~np.eye(len(names), dtype=bool)]).any():
            continue  # a measure with no value at all (e.g. Tramèr without any converged search)
        labels[m] = spectral_clustering(aff, k, seed=seed).labels
    ref = labels[reference]
    rows = [{"measure": m, "k": k, f"ari_vs_{reference}": float(adjusted_rand_score(ref, lab)),
             "n_clusters_found": int(len(set(lab.tolist())))} for m, lab in labels.items()]
    return pd.DataFrame(rows), pd.DataFrame(labels, index=names).rename_axis("model")


def err_correlations(mats: Mapping[str, pd.DataFrame], err: pd.DataFrame, *, permutations: int = 9999,
                     seed: int = 0) -> pd.DataFrame:
    """Spearman ρ of each measure's diversity (−similarity) with pair ensemble ERR, Mantel p-value (Fig. 10).

    ``err``: the model × model matrix of the 2-model ensembles' error reduction rate (Fig. 6).
    """
    rows = []
    for m, mat in mats.items():
        r = mantel(-mat.to_numpy(float), err.to_numpy(float), method="spearman", permutations=permutations,
                   seed=seed)
        rows.append({"measure": m, "direction": DIRECTIONS.get(m, "similarity"), "rho_diversity_err": r.r,
                     "mantel_p": r.p, "n_pairs": r.n_pairs, "n_models": r.n_models})
    return pd.DataFrame(rows, columns=["measure", "direction", "rho_diversity_err", "mantel_p", "n_pairs",
                                       "n_models"])


def forward_passes(measures: Sequence[str], sat_spec: Mapping, measures_spec: Mapping, n_models: int
                   ) -> pd.DataFrame:
    """Forward passes each measure costs at the runs' settings (a backward pass counts as one, as in App. A.1).

    ``per_pair`` follows App. A.1: SAT [n·steps + n]·2 (attack on each model, test on the other),
    Somepalli triplets·grid²·2, CKA/κ/disagreement n·2, Tramèr images·(1 + scan + refine)·2 per
    shared direction; the adversarial one adds both models' gradients (2·images each) and searches
    both models along both sources' directions (4·images·(1 + scan + refine)). ``zoo_total`` is what a run over ``n_models`` models costs when, as zoolens does, each
    model's attacks/planes/features are computed once and reused for all its pairs
    (SAT: M·n·steps attacks + M·n clean + M·(M−1)·n transfers).
    """
    rows = []
    for m in measures:
        if m == "sat":
            n = int(sat_spec["n_images"])
            steps = int((sat_spec.get("attack") or {}).get("steps") or 1)
            pair, total = (n * steps + n) * 2, n_models * n * (steps + 1) + n_models * (n_models - 1) * n
            setting = f"{n} images × {steps} steps ({(sat_spec.get('attack') or {}).get('name', 'attack')})"
        elif m == "somepalli":
            s = measures_spec["somepalli"]
            per_model = int(s["triplets"]) * int(s["grid"]) ** 2
            pair, total, setting = 2 * per_model, n_models * per_model, f"{s['triplets']} triplets × {s['grid']}²"
        elif m == "tramer_adversarial":  # each model's gradient (forward + backward), then M searches per direction
            t = measures_spec["tramer"]
            search, grads = int(t["images"]) * (1 + int(t["scan"]) + int(t["refine"])), 2 * int(t["images"])
            pair, total = 2 * grads + 4 * search, n_models * grads + n_models * n_models * search
            setting = f"{t['images']} images × (1 + {t['scan']} scan + {t['refine']} bisection), both sources"
        elif m.startswith("tramer_"):
            t = measures_spec["tramer"]
            per_model = int(t["images"]) * (1 + int(t["scan"]) + int(t["refine"]))
            pair, total = 2 * per_model, n_models * per_model
            setting = f"{t['images']} images × (1 + {t['scan']} scan + {t['refine']} bisection)"
        else:
            n = int(measures_spec["n_images"])
            pair, total, setting = 2 * n, n_models * n, f"{n} images"
        rows.append({"measure": m, "setting": setting, "per_pair": pair, "zoo_total": total, "n_models": n_models,
                     "paper_per_pair": PAPER_PASSES.get(m, math.nan)})
    return pd.DataFrame(rows)


def cluster_ensemble_comparison(logits: Mapping[str, np.ndarray], labels: np.ndarray,
                                clusterings: Mapping[str, Mapping[str, int]], sizes: Sequence[int] = (2, 3, 4, 5),
                                *, seed: int = 0) -> pd.DataFrame:
    """ERR (%) of N-model ensembles by the number k of one clustering's clusters they span, per clustering.

    SAT paper App. A.2, Tables A.2-A.3: the ensembles of Fig. 7 / Table 3, with the clusters of
    Somepalli et al. (A.2) or of K-means on architecture components (A.3) in place of SAT's. The
    subsets are the same for every clustering (all N-subsets, or the same seeded sample), so
    the cells differ only by how each clustering groups them.

    Returns
    -------
    pandas.DataFrame
        ``clustering, n_models, k_clusters, err_rate`` (mean, %), ``n_subsets``; and ``most_diverse``:
        True on the row with the largest k of its (clustering, N), "N models from as many clusters as there are".
    """
    rows = []
    for name, clusters in clusterings.items():
        sub = cluster_ensembles(logits, labels, clusters, sizes, seed=seed)
        if sub.empty:
            continue
        cell = sub.groupby(["n_models", "k_clusters"])["err_rate"].agg(["mean", "count"]).reset_index()
        cell["most_diverse"] = cell["k_clusters"] == cell.groupby("n_models")["k_clusters"].transform("max")
        rows.append(pd.DataFrame({"clustering": name, "n_models": cell["n_models"], "k_clusters": cell["k_clusters"],
                                  "err_rate": cell["mean"] * 100, "n_subsets": cell["count"],
                                  "most_diverse": cell["most_diverse"]}))
    cols = ["clustering", "n_models", "k_clusters", "err_rate", "n_subsets", "most_diverse"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


__all__ = ["DIRECTIONS", "PAPER_PASSES", "affinity", "cluster_ensemble_comparison", "correlation_matrix", "err_correlations", "forward_passes",
           "measure_clusters", "oriented", "pair_matrix", "symmetric_sat"]
