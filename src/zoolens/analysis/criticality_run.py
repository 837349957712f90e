"""Orchestration of the criticality analyses (criticality paper Figs. 1–5) for ``zoolens analyze``."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from zoolens.analysis import criticality_claims as cc
from zoolens.analysis import criticality_stats as cs
from zoolens.analysis.meta import model_metadata
from zoolens.analysis.result import Analysis, fmt_p
from zoolens.errors import ZoolensError


def _refs(a: Analysis, models: pd.DataFrame) -> dict[str, str]:
    if "reference" in models:
        return dict(zip(models["model"], models["reference"].astype(str)))
    return {m: m for m in models["model"]}


def analyze_criticality(a: Analysis, *, baseline: str | None, exclude_category: str) -> None:
    """Tables, figures and the criticality-paper findings of a criticality run (see :func:`zoolens.analysis.run.compute`)."""
    summary = pd.read_csv(a.run / "criticality_summary.csv", dtype={"label": str, "layer": str, "model": str})
    models = pd.read_csv(a.run / "models.csv")
    manifest = json.loads((a.run / "manifest.json").read_text()) if (a.run / "manifest.json").is_file() else {}
    meta = model_metadata(_refs(a, models), local=models.set_index("model"))
    if meta.attrs["missing"]:
        a.notes.append("No metadata (category, budget, accuracy source) for: " + ", ".join(meta.attrs["missing"])
                       + " — claims that need a category leave them out.")
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

    a.plot("criticality_heatmap", "Layer criticality (Fig. 1)",
           "Mean criticality over seeds; rows grouped by training category; grey = layer absent.", mean, per,
           hover={"sem": sem})
    a.plot("criticality_difference", f"Difference to {baseline} (Fig. 4)",
           "Red: the layer is more critical than in the baseline; blue: less.", diff, baseline, per,
           hover={"sem": sem})
    a.plot("criticality_sem", "Standard error (Fig. 5)",
           f"std/√S over S = {n_seeds} randomization seeds.", sem, per, n_seeds)
    a.plot("criticality_vs_accuracy", "Criticality vs accuracy (Fig. 3)",
           "Mean layer criticality per model against accuracy: the published top-1 where the model's zoo records "
           "one, else the clean accuracy on the run's eval subset (see the axis label).", per, corr)
    if len(budget):
        a.plot("criticality_vs_budget", "Criticality vs adversarial budget (Fig. 2)",
               "One panel per norm, ε in the norm's own unit; the ε = 0 point is the attack-free adversarial "
               f"training model when the run has one, else {baseline}.", budget, bsum)
    a.plot("role_shares", "Auxiliary and critical layers",
           "Thresholds: see the run's manifest (auxiliary below / critical above).", per)

    _findings(a, mean, per, corr, budget, bsum, baseline, exclude_category)


def _findings(a: Analysis, mean: pd.DataFrame, per: pd.DataFrame, corr: pd.DataFrame, budget: pd.DataFrame,
              bsum: dict, baseline: str, exclude_category: str) -> None:
    """Every criticality-paper claim of :data:`zoolens.analysis.findings.CLAIMS`, on this run."""
    th = a.summary.get("thresholds") or {}
    tau_aux, tau_crit = float(th.get("auxiliary_below", 0.05)), float(th.get("critical_above", 0.5))
    for key, fn in (("crit.stem_head_always_critical", cc.stem_head_always_critical),
                    ("crit.stage_first_conv_critical", cc.stage_first_conv_critical),
                    ("crit.stage1_downsample_critical", cc.stage1_downsample_critical),
                    ("crit.pointwise_over_spatial", cc.pointwise_over_spatial),
                    ("crit.no_layer_always_auxiliary", cc.no_layer_always_auxiliary),
                    ("crit.pixmix_highest", cc.pixmix_highest),
                    ("crit.simclr_no_auxiliary", cc.simclr_no_auxiliary),
                    ("crit.ssl_auxiliary_deep", cc.ssl_auxiliary_deep)):
        verdict, evidence, measured = fn(mean, per, tau_aux, tau_crit)
        a.finding(key, verdict, evidence, measured)
    for key, fn in (("crit.augmentation_deepest_layers", cc.augmentation_deepest_layers),
                    ("crit.improved_training_early_up_deep_down", cc.improved_training_early_up_deep_down)):
        verdict, evidence, measured = fn(mean, per, baseline)
        a.finding(key, verdict, evidence, measured)

    # adversarial training: above the baseline and increasing with ε, per norm (Fig. 2)
    norms = bsum["norms"]
    if bsum["n_adversarial"] == 0 or not np.isfinite(bsum["baseline_mean"]):
        a.finding("crit.at_raises_criticality", "not testable",
                  "the run has no adversarially trained models next to a baseline")
    else:
        above = bsum["n_above_baseline"] == bsum["n_adversarial"]
        monotone = all(st["monotone"] for st in norms.values())
        per_norm = "; ".join(
            f"{n}: " + ", ".join(f"ε={r.epsilon:g} {r.delta_vs_baseline:+.3f}" for r in budget[budget["norm"] == n]
                                 .itertuples()) + f" (increasing: {'yes' if st['monotone'] else 'no'})"
            for n, st in norms.items())
        a.finding("crit.at_raises_criticality", "reproduced" if above and monotone else "not reproduced",
                  f"rule: every adversarially trained model above the baseline and mean criticality strictly "
                  f"increasing in ε within each norm; baseline {baseline} {bsum['baseline_mean']:.3f}; "
                  f"{bsum['n_above_baseline']}/{bsum['n_adversarial']} above; Δ vs baseline per norm: {per_norm}",
                  bsum["n_above_baseline"] / bsum["n_adversarial"])
    for key, norm in (("crit.at_budget_spearman_l2", "l2"), ("crit.at_budget_spearman_linf", "linf")):
        st = norms.get(norm)
        if st is None or st["n"] < 3:
            a.finding(key, "not testable", f"needs at least 3 budgets (ε = 0 included) of {norm} adversarial training")
            continue
        ok = np.isfinite(st["spearman_rho"]) and st["spearman_rho"] > 0 and st["spearman_p"] < 0.05
        a.finding(key, "reproduced" if ok else "not reproduced",
                  f"rule: Spearman ρ(ε, mean criticality) > 0 with p < 0.05; ρ = {st['spearman_rho']:.2f} "
                  f"(p = {fmt_p(st['spearman_p'])}, n = {st['n']}; ε = 0 point: {st['zero_point']})",
                  st["spearman_rho"])

    # accuracy (Fig. 3): "moderate" over all models, "faint" without adversarial training
    src = ", ".join(sorted(set(per["accuracy_source"]) - {"none"})) or "none"
    rho_all = corr["spearman_rho"].iloc[0]
    if not np.isfinite(rho_all):
        a.finding("crit.accuracy_spearman_all", "not testable", f"needs ≥ 3 models with an accuracy (source: {src})")
    else:
        a.finding("crit.accuracy_spearman_all", "reproduced" if 0.3 <= abs(rho_all) < 0.7 else "not reproduced",
                  f"rule: moderate = 0.3 ≤ |ρ| < 0.7; Spearman ρ = {rho_all:.2f} (p = "
                  f"{fmt_p(corr['spearman_p'].iloc[0])}, n = {corr['n'].iloc[0]}); accuracy: {src}", rho_all)
    n_at = int((per["category"] == "adversarial_training").sum())
    if len(corr) < 2 or n_at == 0 or not np.isfinite(corr["spearman_rho"].iloc[1]):
        a.finding("crit.accuracy_spearman_without_at", "not testable",
                  "needs adversarially trained models to leave out and ≥ 3 others with an accuracy")
    else:
        rho = corr["spearman_rho"].iloc[1]
        faint = abs(rho) < 0.3 and (not np.isfinite(rho_all) or abs(rho) < abs(rho_all))
        a.finding("crit.accuracy_spearman_without_at", "reproduced" if faint else "not reproduced",
                  f"rule: faint = |ρ| < 0.3 and weaker than over all models; Spearman ρ = {rho:.2f} (p = "
                  f"{fmt_p(corr['spearman_p'].iloc[1])}, n = {corr['n'].iloc[1]}, {n_at} {exclude_category} models "
                  f"left out); all models: ρ = {rho_all:.2f}", rho)
    if any(math.isfinite(x) for x in corr["spearman_rho"]):
        a.notes.append("Mean criticality vs accuracy: " + "; ".join(
            f"{r.subset}: Spearman ρ = {r.spearman_rho:.2f} (p = {fmt_p(r.spearman_p)}, n = {r.n})"
            for r in corr.itertuples()))


__all__ = ["analyze_criticality"]
