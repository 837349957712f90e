"""The interactive twin of each figure that has one: figure name → Vega-Lite spec builder.

A builder takes the arguments of the figure request (:class:`zoolens.analysis.result.FigureRequest`,
the same as the drawing function in :mod:`zoolens.report.figures` without the folder) and the
request's ``hover`` extras (data only the tooltip shows: standard errors, bootstrap intervals),
and returns a spec built by :mod:`zoolens.report.interactive`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from zoolens.report.interactive import heatmap_spec, records, scatter_spec, SCHEMA

Spec = dict[str, Any]


def _categories(matrix: pd.DataFrame, models: pd.DataFrame) -> list[str]:
    cat = dict(zip(models["model"], models["category"]))
    return [str(cat.get(m, "unknown")) for m in matrix.index]


def criticality_heatmap(matrix: pd.DataFrame, models: pd.DataFrame, sem: pd.DataFrame | None = None) -> Spec:
    return heatmap_spec(matrix, title="Layer criticality (mean over seeds)", value="criticality", scheme="magma",
                        groups=_categories(matrix, models), group="category", se=sem)


def criticality_difference(diff: pd.DataFrame, baseline: str, models: pd.DataFrame,
                           sem: pd.DataFrame | None = None) -> Spec:
    return heatmap_spec(diff, title=f"Criticality − {baseline}", value=f"Δ criticality vs {baseline}",
                        scheme="redblue", reverse=True, mid=0.0, groups=_categories(diff, models),
                        group="category", se=sem, se_title="standard error of this model's criticality")


def criticality_sem(sem: pd.DataFrame, models: pd.DataFrame, n_seeds: int) -> Spec:
    return heatmap_spec(sem, title=f"Standard error over {n_seeds} seeds", value="standard error",
                        groups=_categories(sem, models), group="category")


def criticality_vs_accuracy(models: pd.DataFrame, corr: pd.DataFrame) -> Spec:
    df = models.copy()
    df["accuracy_pct"] = (df["accuracy"] if "accuracy" in df else df["clean_accuracy"]) * 100
    tips = [("model", "model"), ("category", "category"), ("accuracy_pct", "accuracy (%)"),
            ("mean_criticality", "mean criticality")]
    if "max_sem" in df:
        tips.append(("max_sem", "largest layer SE"))
    return scatter_spec(df, x="accuracy_pct", y="mean_criticality", title="Mean criticality vs accuracy",
                        x_title="accuracy (%)", y_title="mean layer criticality", tooltip=tips,
                        color="category", label="model")


def _sat_ci(sat: pd.DataFrame, ci: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``sat_ci.csv`` (one row per unordered pair) as two symmetric frames aligned to ``sat``."""
    if ci is None or not len(ci):
        return None
    lo = pd.DataFrame(np.nan, index=sat.index, columns=sat.columns)
    hi = lo.copy()
    names = set(map(str, sat.index))
    for r in ci.itertuples(index=False):
        a, b = str(r.model_a), str(r.model_b)
        if a in names and b in names:
            lo.loc[a, b] = lo.loc[b, a] = r.ci_low
            hi.loc[a, b] = hi.loc[b, a] = r.ci_high
    return lo, hi


def sat_heatmap(sat: pd.DataFrame, labels: np.ndarray, ci: pd.DataFrame | None = None) -> Spec:
    return heatmap_spec(sat, title="SAT (ordered by spectral cluster)", value="SAT", row="model", col="model",
                        groups=[f"C{int(c)}" for c in labels], group="cluster", ci=_sat_ci(sat, ci), square=True)


def feature_distance_heatmap(dist: pd.DataFrame, labels: np.ndarray) -> Spec:
    return heatmap_spec(dist, title="Distances of spectral features", value="Euclidean distance",
                        scheme="viridis", reverse=True, row="model", col="model",
                        groups=[f"C{int(c)}" for c in labels], group="cluster", square=True)


def placement_heatmap(reference: pd.DataFrame, user: pd.DataFrame, categories: list[str]) -> Spec:
    both = pd.concat([reference, user.reindex(columns=list(reference.columns)).rename(index=lambda m: f"▶ {m}")])
    return heatmap_spec(both, title="Criticality: this run among the reference zoo", value="criticality",
                        scheme="magma", groups=[str(c) for c in categories] + ["this run"] * len(user),
                        group="category")


def tsne_figure(coords: np.ndarray, names: list[str], labels: np.ndarray) -> Spec:
    df = pd.DataFrame({"model": list(names), "x": coords[:, 0], "y": coords[:, 1],
                       "cluster": [f"C{int(c)}" for c in labels]})
    return scatter_spec(df, x="x", y="y", title="t-SNE of spectral features", x_title="t-SNE 1", y_title="t-SNE 2",
                        tooltip=[("model", "model"), ("cluster", "cluster")], color="cluster", label="model")


def err_vs_sat(pairs: pd.DataFrame, corr: dict) -> Spec:
    df = pairs.assign(err_pct=pairs["err_rate"] * 100)
    tips = [("model_a", "model A"), ("model_b", "model B"), ("sat", "SAT"), ("err_pct", "ERR (%)")]
    tips += [(c, t) for c, t in (("err_a", "error A"), ("err_b", "error B"), ("err_ensemble", "error of the pair"))
             if c in df]
    return scatter_spec(df, x="sat", y="err_pct", title=f"2-model ensembles (n = {corr['n']})",
                        x_title="SAT of the pair", y_title="error reduction rate ERR (%)", tooltip=tips)


def attack_agreement_figure(pairs: pd.DataFrame, corr: dict, name_a: str, name_b: str) -> Spec:
    return scatter_spec(pairs, x="sat_a", y="sat_b", title=f"Attack agreement (n = {corr['n']})",
                        x_title=f"SAT ({name_a})", y_title=f"SAT ({name_b})", diagonal=True,
                        tooltip=[("model_a", "model A"), ("model_b", "model B"), ("sat_a", name_a), ("sat_b", name_b)])


def same_misclassification_figure(pairs: pd.DataFrame, test: dict) -> Spec:
    return scatter_spec(pairs, x="sat", y="n_same", title=f"SAT vs same misclassification (n = {test['n_pairs']})",
                        x_title="SAT of the pair", y_title="identical wrong labels (both directions)",
                        tooltip=[("model_a", "model A"), ("model_b", "model B"), ("sat", "SAT"),
                                 ("n_same", "identical wrong labels"), ("fraction", "fraction of 2|X_AB|"),
                                 ("n_both_correct", "|X_AB|")])


def shared_pairs_figure(pairs: pd.DataFrame, corr: dict) -> Spec:
    return scatter_spec(pairs, x="sat_reference", y="sat", title=f"Shared pairs (n = {corr['n']})",
                        x_title="SAT, reference run", y_title="SAT, this run", diagonal=True,
                        tooltip=[("model_a", "model A"), ("model_b", "model B"), ("sat_reference", "SAT (reference)"),
                                 ("sat", "SAT (this run)")])


def cluster_ensemble_figure(table: pd.DataFrame) -> Spec:
    """Fig. 7: mean ERR by k for each N (lines) and the random-members mean (dashed rules)."""
    rows = []
    for r in table.itertuples(index=False):
        d = dict(zip(table.columns, r))
        for c in table.columns:
            if c.startswith("k=") and np.isfinite(d[c]):
                rows.append({"N": f"N={int(d['n_models'])}", "k": int(c[2:]), "err": d[c],
                             "subsets": d.get(f"n_{c}"), "rand": d["rand"]})
    df = pd.DataFrame(rows, columns=["N", "k", "err", "subsets", "rand"])
    tips = [{"field": "N", "title": "ensemble size"}, {"field": "k", "title": "clusters spanned"},
            {"field": "err", "title": "mean ERR (%)", "format": ".4g"},
            {"field": "subsets", "title": "subsets averaged"},
            {"field": "rand", "title": "random members: mean ERR (%)", "format": ".4g"}]
    enc = {"x": {"field": "k", "type": "ordinal", "title": "number of clusters k the members come from",
                 "axis": {"labelAngle": 0}},
           "color": {"field": "N", "type": "nominal", "title": "ensemble size"}}
    return {"$schema": SCHEMA, "title": "Ensembles from k clusters (dashed: random members)", "width": 560,
            "height": 380, "data": {"values": records(df, list(df.columns))},
            "layer": [{"params": [{"name": "zoom", "select": {"type": "interval", "encodings": ["y"]},
                                   "bind": "scales"}],
                       "mark": {"type": "line", "point": {"size": 60, "filled": True}},
                       "encoding": {**enc, "y": {"field": "err", "type": "quantitative", "title": "mean ERR (%)",
                                                 "scale": {"zero": False}}, "tooltip": tips}},
                      {"mark": {"type": "rule", "strokeDash": [4, 3]},
                       "encoding": {"y": {"field": "rand", "type": "quantitative"}, "color": enc["color"],
                                    "tooltip": tips[:1] + tips[-1:]}}]}


def importance_figure(imp: pd.DataFrame) -> Spec:
    """Fig. 3: permutation importance per component, mean ± std, most important first."""
    df = imp.sort_values("importance_mean", ascending=False, kind="stable")
    df = df.assign(lo=df["importance_mean"] - df["importance_std"], hi=df["importance_mean"] + df["importance_std"])
    # data order, not `sort` by field: two layers each sorting by a field log a Vega-Lite warning
    y = {"field": "component", "type": "nominal", "sort": None, "title": None}
    tips = [{"field": "component"}, {"field": "importance_mean", "title": "importance (mean)", "format": ".3g"},
            {"field": "importance_std", "title": "std over repeats", "format": ".3g"}]
    return {"$schema": SCHEMA, "title": "Component importance for SAT", "width": 480,
            "height": {"step": 16}, "data": {"values": records(df, ["component", "importance_mean",
                                                                       "importance_std", "lo", "hi"])},
            "layer": [{"mark": "bar", "encoding": {"y": y, "x": {"field": "importance_mean", "type": "quantitative",
                                                                 "title": "permutation importance (mean ± std)"},
                                                   "tooltip": tips}},
                      {"mark": "rule", "encoding": {"y": y, "x": {"field": "lo", "type": "quantitative"},
                                                    "x2": {"field": "hi"}, "tooltip": tips}}]}


def measure_comparison_figure(rho: pd.DataFrame, corr: pd.DataFrame, err: pd.DataFrame | None = None) -> Spec:
    return heatmap_spec(rho, title="Spearman ρ between similarity measures", value="Spearman ρ", scheme="redblue",
                        reverse=True, mid=0.0, row="measure", col="measure", square=True)


def _lines(df: pd.DataFrame, *, x: str, y: str, color: str, title: str, x_title: str, y_title: str,
           tips: list[tuple[str, str]], log_x: bool = False) -> Spec:
    """Zoomable lines with points, one per ``color`` group, and a tooltip of ``(field, title)`` pairs."""
    cols = list(dict.fromkeys([x, y, color, *(f for f, _ in tips)]))
    tooltip = [{"field": f, "title": t, **({"type": "quantitative", "format": ".4g"}
                                           if pd.api.types.is_numeric_dtype(df[f]) else {})} for f, t in tips]
    enc = {"x": {"field": x, "type": "quantitative", "title": x_title,
                 "scale": {"type": "log"} if log_x else {"zero": False}},
           "y": {"field": y, "type": "quantitative", "title": y_title, "scale": {"zero": False}},
           "color": {"field": color, "type": "nominal", "title": color}, "tooltip": tooltip}
    return {"$schema": SCHEMA, "title": title, "width": 560, "height": 380,
            "data": {"values": records(df, cols)},
            "layer": [{"params": [{"name": "zoom", "select": {"type": "interval", "encodings": ["y"]},
                                   "bind": "scales"}],
                       "mark": {"type": "line", "point": {"size": 50, "filled": True}}, "encoding": enc}]}


def sat_stability_figure(table: pd.DataFrame, paper: pd.DataFrame) -> Spec:
    df = pd.concat([table.assign(pair=table["model_a"] + " vs " + table["model_b"]),
                    paper.assign(pair="paper (ImageNet ConvNeXt-T vs Swin-T)")], ignore_index=True)
    return _lines(df, x="n_images", y="std", color="pair", title="Stability of SAT (App. A.1)", log_x=True,
                  x_title="images per sample n", y_title="std of SAT over samples (percent, no log)",
                  tips=[("pair", "pair"), ("n_images", "n"), ("std", "std"), ("relative_cost", "relative cost")])


def sat_training_figure(curve: pd.DataFrame, paper: pd.DataFrame, paper_epochs: int) -> Spec:
    df = pd.concat([curve, paper.assign(model=f"paper Table G.1 ({paper_epochs} epochs)",
                                        fraction=paper["epoch"] / paper_epochs)], ignore_index=True)
    return _lines(df, x="fraction", y="sat", color="model", title="SAT during training (App. G.3)",
                  x_title="fraction of training (epoch / epochs)", y_title="SAT(final, checkpoint)",
                  tips=[("model", "model"), ("epoch", "epoch"), ("sat", "SAT"), ("ci_low", "95 % CI low"),
                        ("ci_high", "95 % CI high"), ("self_sat", "final self-SAT")])


#: Figure name → builder of its interactive view (figures without one stay PNG only).
VIEWS: dict[str, Callable[..., Spec]] = {
    f.__name__: f for f in (
        criticality_heatmap, criticality_difference, criticality_sem, criticality_vs_accuracy,
        sat_heatmap, feature_distance_heatmap, tsne_figure, importance_figure, err_vs_sat,
        cluster_ensemble_figure, attack_agreement_figure, placement_heatmap, shared_pairs_figure,
        measure_comparison_figure, sat_stability_figure, sat_training_figure, same_misclassification_figure)}

__all__ = ["VIEWS"]
