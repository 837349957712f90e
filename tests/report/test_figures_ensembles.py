"""The Fig. 7a/7c and Fig. 8 figures draw from their analysis tables through the FIGURES registry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoolens.analysis import ensembles as ens
from zoolens.analysis import family_ensembles as fe
from zoolens.report.figures import FIGURES


def test_ensemble_error_and_family_figures_draw(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    names = [f"m{i}" for i in range(6)]
    logits = {m: rng.normal(size=(40, 3)) + np.eye(3)[y] for m in names}
    clusters = dict(zip(names, [0, 0, 1, 1, 2, 2]))
    metrics = ens.cluster_ensemble_metrics(ens.cluster_ensembles(logits, y, clusters, sizes=(2, 3)))
    meta = pd.DataFrame({"family": ["a", "a", "a", "b", "b", "b"],
                         "category": ["baseline", "seed", "adversarial_training", "baseline", "hparam", "augmentation"]},
                        index=names)
    table = fe.family_ensemble_table(fe.family_ensembles(logits, y, meta, sizes=(2, 3)))
    # a: Init {m0, m1}; b: Hparam {m3, m4}, Tr. Reg. {m3, m5}
    assert set(table["group"]) == {fe.WITHIN, "Init", "Hparam", "Tr. Reg.", fe.WITHIN_AT, fe.ACROSS}
    for name, arg in (("cluster_ensemble_error_figure", metrics), ("family_ensemble_figure", table)):
        png = FIGURES[name](arg, tmp_path)
        assert png.is_file() and png.with_suffix(".pdf").is_file()


def test_family_figure_has_one_line_per_family_and_setting(tmp_path, monkeypatch):
    from matplotlib.colors import to_rgba

    from zoolens.report import figures_ensembles as fens
    table = pd.DataFrame({"group": ["Init", "Init", "Hparam", "Tr. Reg.", fe.WITHIN, fe.ACROSS],
                          "family": ["res", "vit", "res", "vit", "res", "(all)"], "n_models": [2] * 6,
                          "n_subsets": [1] * 6, "err_rate": [1.0, 2, 3, 4, 5, 6], "err_ensemble": [9.0] * 6,
                          "n_all_wrong": [3.0] * 6})
    figs = []
    monkeypatch.setattr(fens, "save_figure", lambda fig, folder, name: figs.append(fig) or tmp_path / name)
    fens.family_ensemble_figure(table, tmp_path)
    lines = {ln.get_label(): ln for ln in figs[0].axes[0].get_lines()}
    assert set(lines) == {"res: Init", "vit: Init", "res: Hparam", "vit: Tr. Reg.", "res: training variants",
                          "across families (N = k)"}
    for label, group in (("res: Init", "Init"), ("res: Hparam", "Hparam"), ("vit: Tr. Reg.", "Tr. Reg."),
                         ("across families (N = k)", fe.ACROSS)):
        assert to_rgba(lines[label].get_color()) == to_rgba(fens.FIG8_COLORS[group])
    assert lines["res: Init"].get_linestyle() != lines["vit: Init"].get_linestyle()  # family by line style
