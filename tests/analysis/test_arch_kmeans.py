"""The App. A.2 baseline: K-means on one-hot architecture components (mini zoo metadata)."""

from __future__ import annotations

import pandas as pd
import pytest

from zoolens.analysis.arch_kmeans import architecture_features, architecture_kmeans
from zoolens.errors import ZoolensError
from zoolens.zoo.architectures import COMPONENT_COLUMNS
from zoolens.zoo.metadata import zoo_metadata


def test_models_of_one_architecture_share_a_cluster_on_the_mini_zoo():
    meta = zoo_metadata("fmnist-mini")
    labels = architecture_kmeans(meta, k=5, n_init=10, seed=0)
    assert set(labels) == set(range(5))
    family = meta["family"]
    for fam in family.unique():  # identical component vectors can never be split
        assert labels[family == fam].nunique() == 1, fam
    assert labels.equals(architecture_kmeans(meta, k=5, n_init=10, seed=0))


def test_features_are_one_hot_per_component():
    comp = pd.DataFrame({"activation": ["relu", "gelu", None], "normalization": ["bn", "bn", "ln"]}, index=list("abc"))
    f = architecture_features(comp, columns=["activation", "normalization"])
    assert (f.sum(axis=1) == 2).all() and "activation=relu" in f.columns
    with pytest.raises(ZoolensError, match="cannot make 4 clusters"):
        architecture_kmeans(comp, 4, columns=["activation"])
    with pytest.raises(ZoolensError, match="no architecture components"):
        architecture_features(pd.DataFrame({"x": [1]}))
    assert len(COMPONENT_COLUMNS) == 13
