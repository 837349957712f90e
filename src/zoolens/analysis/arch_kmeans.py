"""The naive baseline of the SAT paper's App. A.2 (Tables A.2-A.3): K-means on architecture features.

"the naive architecture clustering is based on our architecture features proposed in Sec. 4.1;
we apply the K-means clustering algorithm to get clusters." The features are the 13
categorical architecture components (``zoolens.zoo.architectures.COMPONENT_COLUMNS``: base
architecture, stem, normalization, activation, pooling, attention, …), one-hot encoded, so the
squared Euclidean distance between two models is twice their Hamming distance over components.
K-means is scikit-learn's, seeded, with 100 restarts keeping the best objective (as for the
spectral clustering of the same paper, App. D.2).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from zoolens.errors import ZoolensError
from zoolens.zoo.architectures import COMPONENT_COLUMNS


def architecture_features(components: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One-hot features of the categorical components (index = models; a missing value is its own category)."""
    cols = [c for c in (columns or COMPONENT_COLUMNS) if c in components.columns]
    if not cols:
        raise ZoolensError("no architecture components in the metadata",
                           f"give models with component columns ({', '.join(COMPONENT_COLUMNS[:3])}, …)")
    text = components[cols].apply(lambda s: s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                                                  else str(v).strip()))
    return pd.get_dummies(text, prefix=cols, prefix_sep="=").astype(np.float64)


def architecture_kmeans(components: pd.DataFrame, k: int, *, n_init: int = 100, seed: int = 0,
                        columns: Sequence[str] | None = None) -> pd.Series:
    """Cluster labels (0..k-1) of the models by K-means on :func:`architecture_features`.

    Labels are renumbered in order of first appearance, so equal partitions print equally.
    """
    feats = architecture_features(components, columns)
    if not 1 <= k <= len(feats):
        raise ZoolensError(f"cannot make {k} clusters of {len(feats)} models", f"choose k between 1 and {len(feats)}")
    raw = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(feats.to_numpy())
    order = {c: i for i, c in enumerate(dict.fromkeys(raw.tolist()))}
    return pd.Series([order[c] for c in raw.tolist()], index=feats.index, name="arch_cluster")


__all__ = ["architecture_features", "architecture_kmeans"]
