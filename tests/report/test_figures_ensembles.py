"""The Fig. 7a/7c and Fig. 8 figures draw from their analysis tables through the FIGURES registry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoolens.analysis import ensembles as ens
from zoolens.report.figures import FIGURES


def test_ensemble_error_and_family_figures_draw(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    names = [f"m{i}" for i in range(6)]
    logits = {m: rng.normal(size=(40, 3)) + np.eye(3)[y] for m in names}
    clusters = dict(zip(names, [0, 0, 1, 1, 2, 2]))
    metrics = ens.cluster_ensemble_metrics(ens.cluster_ensembles(logits, y, clusters, sizes=(2, 3)))
    meta = pd.DataFrame({"family": ["a", "a", "a", "b", "b", "c"],
                         "category": ["baseline", "seed", "adversarial_training", "baseline", "hparam", "baseline"]},
                        index=names)
    table = ens.family_ensemble_table(ens.family_ensembles(logits, y, meta, sizes=(2, 3)))
    assert set(table["group"]) == {ens.WITHIN, ens.WITHIN_AT, ens.ACROSS}
    for name, arg in (("cluster_ensemble_error_figure", metrics), ("family_ensemble_figure", table)):
        png = FIGURES[name](arg, tmp_path)
        assert png.is_file() and png.with_suffix(".pdf").is_file()
