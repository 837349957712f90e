"""Architecture components vs SAT: Hamming features, gradient-boosting importance, TF-IDF keywords.

SAT paper Sec. 4.1 (Fig. 3, Table 1) and App. D.1. Component vectors are the 13
categorical columns of ``sat69_models.csv`` / the mini zoo's manifest
(``zoolens.zoo.architectures.COMPONENT_COLUMNS``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from zoolens.zoo.architectures import COMPONENT_COLUMNS


#: Gradient boosting settings of the SAT paper (App. D.1): 500 stages, depth 12, "min samples 4"
#: (read as ``min_samples_split``), learning rate 0.02; permutation importance with 10 repeats.
GBR_PARAMS = {"n_estimators": 500, "max_depth": 12, "min_samples_split": 4, "learning_rate": 0.02}
PERMUTATION_REPEATS = 10


def _norm(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).strip()


def hamming_features(components: pd.DataFrame, sat: pd.DataFrame | None = None,
                     columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-component Hamming differences (0 = same value, 1 = different) for every unordered model pair.

    Parameters
    ----------
    components:
        Index = model names, one column per component (categorical values).
    sat:
        Optional square SAT matrix; adds a ``sat`` column (the regression target).
    columns:
        Components to use (default: those of :data:`COMPONENT_COLUMNS` present).

    Returns
    -------
    pandas.DataFrame
        Columns ``model_a, model_b``, one 0/1 column per component, ``hamming`` (their sum)
        and ``sat`` when given; pairs a < b in the order of ``components.index``.
    """
    cols = [c for c in (columns or COMPONENT_COLUMNS) if c in components.columns]
    vals = components[cols].map(_norm).to_numpy(dtype=object)
    names = list(components.index)
    rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            diff = (vals[i] != vals[j]).astype(int)
            row = {"model_a": names[i], "model_b": names[j], **dict(zip(cols, diff.tolist())),
                   "hamming": int(diff.sum())}
            if sat is not None:
                row["sat"] = float(sat.loc[names[i], names[j]])
            rows.append(row)
    return pd.DataFrame(rows, columns=["model_a", "model_b", *cols, "hamming"] + (["sat"] if sat is not None else []))


def component_importance(pairs: pd.DataFrame, columns: Sequence[str] | None = None, *, seed: int = 0,
                         n_repeats: int = PERMUTATION_REPEATS, gbr_params: dict | None = None) -> pd.DataFrame:
    """Permutation importance of each component for predicting SAT from Hamming features (SAT paper Fig. 3).

    A :class:`sklearn.ensemble.GradientBoostingRegressor` with :data:`GBR_PARAMS` is fit on
    all pairs (features = per-component Hamming differences, target = SAT), then
    :func:`sklearn.inspection.permutation_importance` (``n_repeats`` = 10) is measured on
    the same pairs, as the paper describes no held-out split.

    Parameters
    ----------
    pairs:
        Output of :func:`hamming_features` with a ``sat`` column.

    Returns
    -------
    pandas.DataFrame
        ``component, importance_mean, importance_std, n_distinct`` sorted by importance
        (``n_distinct`` = how many pairs differ in the component; a component that never
        differs has importance 0 by construction), with ``attrs['r2']`` the training R².
    """
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.inspection import permutation_importance

    cols = [c for c in (columns or COMPONENT_COLUMNS) if c in pairs.columns]
    ok = pairs["sat"].notna()
    x = pairs.loc[ok, cols].to_numpy(dtype=float)
    y = pairs.loc[ok, "sat"].to_numpy(dtype=float)
    if len(y) < 4:
        raise ValueError(f"need at least 4 measured pairs for component importance, got {len(y)}")
    model = GradientBoostingRegressor(**(gbr_params or GBR_PARAMS), random_state=seed).fit(x, y)
    imp = permutation_importance(model, x, y, n_repeats=n_repeats, random_state=seed)
    out = pd.DataFrame({"component": cols, "importance_mean": imp.importances_mean,
                        "importance_std": imp.importances_std, "n_distinct": x.sum(axis=0).astype(int)})
    out = out.sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["r2"] = float(model.score(x, y))
    return out


def component_words(components: pd.DataFrame, columns: Sequence[str] | None = None) -> list[list[str]]:
    """Each model's components as keyword tokens ``component=value`` (empty values skipped)."""
    cols = [c for c in (columns or COMPONENT_COLUMNS) if c in components.columns]
    docs = []
    for _, row in components[cols].iterrows():
        docs.append([f"{c}={_norm(row[c])}" for c in cols if _norm(row[c]) != ""])
    return docs


def tfidf_keywords(components: pd.DataFrame, clusters: Sequence[int], top: int = 5,
                   columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Top-``top`` component keywords per cluster by mean TF-IDF (SAT paper Table 1).

    Each model is a document whose words are its ``component=value`` tokens;
    :class:`sklearn.feature_extraction.text.TfidfVectorizer` (default smooth IDF and L2
    row normalization) weighs them, the weights are averaged over each cluster's
    models, and the largest are reported (ties broken alphabetically).

    Returns
    -------
    pandas.DataFrame
        ``cluster, rank, keyword, tfidf, n_models``.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = component_words(components, columns)
    clusters = np.asarray(clusters)
    if len(clusters) != len(docs):
        raise ValueError("one cluster label per model is needed")
    vec = TfidfVectorizer(analyzer=lambda d: d, lowercase=False)
    m = vec.fit_transform(docs).toarray()
    vocab = np.array(vec.get_feature_names_out())
    rows = []
    for c in sorted(set(clusters.tolist())):
        mean = m[clusters == c].mean(axis=0)
        order = sorted(range(len(vocab)), key=lambda k: (-mean[k], vocab[k]))
        for rank, k in enumerate([k for k in order if mean[k] > 0][:top], start=1):
            rows.append({"cluster": int(c), "rank": rank, "keyword": str(vocab[k]), "tfidf": float(mean[k]),
                         "n_models": int((clusters == c).sum())})
    return pd.DataFrame(rows, columns=["cluster", "rank", "keyword", "tfidf", "n_models"])


__all__ = ["COMPONENT_COLUMNS", "GBR_PARAMS", "component_importance", "component_words", "hamming_features",
           "tfidf_keywords"]
