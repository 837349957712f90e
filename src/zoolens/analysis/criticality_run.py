"""Orchestration of the criticality analyses (criticality paper Figs. 1–5) for ``zoolens analyze``."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from zoolens.analysis import criticality_stats as cs
from zoolens.analysis.meta import model_metadata
from zoolens.analysis.run import Analysis, fmt_p
from zoolens.errors import ZoolensError


def _refs(a: Analysis, models: pd.DataFrame) -> dict[str, str]:
    if "reference" in models:
        return dict(zip(models["model"], models["reference"].astype(str)))
    return {m: m for m in models["model"]}


def analyze_criticality(a: Analysis, *, baseline: str | None, exclude_category: str) -> None:
    """Tables, figures and finding (i) of a criticality run (see :func:`zoolens.analysis.run.analyze`)."""
    from zoolens.report import figures_criticality as fc

    summary = pd.read_csv(a.run / "criticality_summary.csv", dtype={"label": str, "layer": str, "model": str})
    models = pd.read_csv(a.run / "models.csv")
    manifest = json.loads((a.run / "manifest.json").read_text()) if (a.run / "manifest.json").is_file() else {}
    meta = model_metadata(_refs(a, models))
    names = list(dict.fromkeys(summary["model"]))
    order = cs.model_order(names, meta)
    per = cs.per_model(summary, models, meta).set_index("model").loc[order].reset_index()
    if baseline is None:
        base = [m for m in order if per.set_index("model").loc[m, "category"] == "baseline"]
        baseline = base[0] if base else order[0]
    elif baseline not in names:
        raise ZoolensError(f"baseline {baseline!r} is not in the run", f"choose one of {', '.join(names)}")
    n_seeds = int(summary["n_seeds"].max()) if len(summary) else 0
    a.summary.update({"models": order, "baseline": baseline, "n_seeds": n_seeds,
                      "n_images": sorted(set(models["n_images"].astype(int).tolist())),
                      "thresholds": manifest.get("runs", {}).get("criticality", {}).get("thresholds", {})})

    mean = cs.layer_matrix(summary, "criticality_mean", order)
    sem = cs.layer_matrix(summary, "criticality_sem", order)
    diff = cs.baseline_difference(mean, baseline)
    a.table("criticality_matrix", mean, "Mean criticality, models × layers (Fig. 1)", index=True)
    a.table("criticality_difference", diff, f"Criticality minus {baseline} (Fig. 4)", index=True)
    a.table("criticality_sem", sem, f"Standard error over {n_seeds} seeds (Fig. 5)", index=True)
    a.table("criticality_per_model", per, "Per model: mean criticality, layer roles, accuracy")
    corr = cs.accuracy_correlation(per, exclude_category)
    a.table("criticality_accuracy_correlation", corr, "Mean criticality vs clean accuracy (Fig. 3)")
    budget, bsum = cs.adversarial_budget(per, baseline)
    a.table("criticality_budget", budget, "Mean criticality vs adversarial-training budget (Fig. 2)")
    a.summary["budget"] = bsum

    a.figure(fc.criticality_heatmap(mean, per, a.folder), "Layer criticality (Fig. 1)",
             "Mean criticality over seeds; rows grouped by training category; grey = layer absent.")
    a.figure(fc.criticality_difference(diff, baseline, per, a.folder), f"Difference to {baseline} (Fig. 4)",
             "Red: the layer is more critical than in the baseline; blue: less.")
    a.figure(fc.criticality_sem(sem, per, n_seeds, a.folder), "Standard error (Fig. 5)",
             f"std/√S over S = {n_seeds} randomization seeds.")
    a.figure(fc.criticality_vs_accuracy(per, corr, a.folder), "Criticality vs accuracy (Fig. 3)",
             "Mean layer criticality per model against clean accuracy on the run's eval subset.")
    if bsum["n_adversarial"]:
        a.figure(fc.criticality_vs_budget(budget, bsum, a.folder), "Criticality vs adversarial budget (Fig. 2)",
                 f"{baseline} at ε = 0; adversarially trained models at their training ε.")
    a.figure(fc.role_shares(per, a.folder), "Auxiliary and critical layers",
             "Thresholds: see the run's manifest (auxiliary below / critical above).")

    # finding (i)
    if bsum["n_adversarial"] == 0 or not np.isfinite(bsum["baseline_mean"]):
        a.finding("crit.at_raises_criticality", "not testable", "the run has no adversarially trained models next to a baseline")
        return
    adv = budget[budget["model"] != baseline]
    deltas = ", ".join(f"ε={r.adv_eps:g}: {r.delta_vs_baseline:+.3f}" for r in adv.itertuples())
    above = bsum["n_above_baseline"] == bsum["n_adversarial"]
    monotone = bool(np.all(np.diff(budget["mean_criticality"].to_numpy()) > 0))
    rho = bsum["spearman_rho"]
    verdict = "reproduced" if above and monotone else "not reproduced"
    a.finding("crit.at_raises_criticality", verdict,
              f"baseline {baseline} mean criticality {bsum['baseline_mean']:.3f}; Δ vs baseline {deltas}; "
              f"{bsum['n_above_baseline']}/{bsum['n_adversarial']} adversarial models above the baseline; "
              f"increasing in ε: {'yes' if monotone else 'no'}; Spearman ρ(ε, mean criticality) = "
              f"{rho:.2f} (p = {fmt_p(bsum['spearman_p'])}, n = {bsum['n']})")
    if any(math.isfinite(x) for x in corr["spearman_rho"]):
        a.notes.append("Mean criticality vs accuracy: " + "; ".join(
            f"{r.subset}: Spearman ρ = {r.spearman_rho:.2f} (p = {fmt_p(r.spearman_p)}, n = {r.n})"
            for r in corr.itertuples()))


__all__ = ["analyze_criticality"]
