"""Criticality figures (criticality paper Figs. 1–5): heatmaps, baseline difference, SEM, accuracy, budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.report.style import groups_of, heatmap, plt, save_figure


def _groups(matrix: pd.DataFrame, models: pd.DataFrame) -> list[tuple[str, int, int]]:
    cat = dict(zip(models["model"], models["category"]))
    return groups_of([str(cat.get(m, "unknown")) for m in matrix.index])


def criticality_heatmap(matrix: pd.DataFrame, models: pd.DataFrame, folder: Path) -> Path:
    """Fig. 1: mean criticality, models (grouped by category) × layers."""
    fig, _ = heatmap(matrix, title="Layer criticality (mean over seeds)", cmap="magma", vmin=0.0,
                     vmax=max(1e-9, float(np.nanmax(matrix.to_numpy()))) if matrix.size else 1.0,
                     cbar_label="criticality (cosine distance)", row_groups=_groups(matrix, models))
    return save_figure(fig, folder, "criticality_heatmap")


def criticality_difference(diff: pd.DataFrame, baseline: str, models: pd.DataFrame, folder: Path) -> Path:
    """Fig. 4: criticality minus the baseline model's, per layer."""
    fig, _ = heatmap(diff, title=f"Criticality − {baseline}", cmap="RdBu_r", center=0.0,
                     cbar_label="Δ criticality", row_groups=_groups(diff, models))
    return save_figure(fig, folder, "criticality_difference")


def criticality_sem(sem: pd.DataFrame, models: pd.DataFrame, n_seeds: int, folder: Path) -> Path:
    """Fig. 5: standard error of the criticality over seeds."""
    fig, _ = heatmap(sem, title=f"Standard error over {n_seeds} seeds", cmap="viridis", vmin=0.0,
                     cbar_label="SEM", row_groups=_groups(sem, models), fmt="{:.3f}")
    return save_figure(fig, folder, "criticality_sem")


def _scatter_labels(ax, x, y, names):
    for xi, yi, n in zip(x, y, names):
        if np.isfinite(xi) and np.isfinite(yi):
            ax.annotate(str(n), (xi, yi), fontsize=6.5, xytext=(3, 3), textcoords="offset points")


def criticality_vs_accuracy(models: pd.DataFrame, corr: pd.DataFrame, folder: Path) -> Path:
    """Fig. 3: mean criticality per model vs accuracy (published top-1 where known), by category, with Spearman ρ."""
    fig, ax = plt.subplots(figsize=(7, 5))
    acc = models["accuracy"] if "accuracy" in models else models["clean_accuracy"]
    for cat, g in models.groupby("category", sort=False):
        ax.scatter(acc[g.index] * 100, g["mean_criticality"], label=cat, s=30)
    _scatter_labels(ax, acc * 100, models["mean_criticality"], models["model"])
    text = "; ".join(f"{r.subset}: ρ={r.spearman_rho:.2f} (p={r.spearman_p:.2g}, n={r.n})" for r in corr.itertuples())
    ax.set_title("Mean criticality vs accuracy\n" + text, fontsize=8)
    sources = sorted(set(models.get("accuracy_source", pd.Series(["eval subset"])).astype(str)) - {"none"})
    ax.set_xlabel("accuracy (%): " + " / ".join(sources))
    ax.set_ylabel("mean layer criticality")
    ax.legend(loc="best", fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, folder, "criticality_vs_accuracy")


def criticality_vs_budget(table: pd.DataFrame, summary: dict, folder: Path) -> Path:
    """Fig. 2: mean criticality vs adversarial-training budget ε, one panel per norm in its own unit."""
    norms = list(dict.fromkeys(table["norm"]))
    fig, axes = plt.subplots(1, max(1, len(norms)), figsize=(5.2 * max(1, len(norms)), 4.2), squeeze=False)
    for ax, norm in zip(axes[0], norms):
        g = table[table["norm"] == norm]
        st = summary["norms"][str(norm)]
        ax.plot(g["epsilon"], g["mean_criticality"], "o-")
        _scatter_labels(ax, g["epsilon"], g["mean_criticality"], g["model"])
        unit = g["epsilon_unit"].dropna().iloc[0] if g["epsilon_unit"].notna().any() else "as trained"
        ax.set_xlabel(f"training budget ε ({norm}, {unit})")
        ax.set_ylabel("mean layer criticality")
        ax.set_title(f"{norm}: Spearman ρ={st['spearman_rho']:.2f} (p={st['spearman_p']:.2g}, n={st['n']})",
                     fontsize=9)
        ax.grid(alpha=0.3)
    return save_figure(fig, folder, "criticality_vs_budget")


def role_shares(models: pd.DataFrame, folder: Path) -> Path:
    """Share of auxiliary / intermediate / critical layers per model (stacked bars)."""
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(models) + 2), 4))
    x = np.arange(len(models))
    aux, crit = models["share_auxiliary"].to_numpy(), models["share_critical"].to_numpy()
    ax.bar(x, aux, label="auxiliary", color="#9ecae1")
    ax.bar(x, 1 - aux - crit, bottom=aux, label="intermediate", color="#dddddd")
    ax.bar(x, crit, bottom=1 - crit, label="critical", color="#de2d26")
    ax.set_xticks(x)
    ax.set_xticklabels(models["model"], rotation=70, ha="right")
    ax.set_ylabel("share of layers")
    ax.set_title("Auxiliary and critical layers per model")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    return save_figure(fig, folder, "criticality_roles")


__all__ = ["criticality_difference", "criticality_heatmap", "criticality_sem", "criticality_vs_accuracy",
           "criticality_vs_budget", "role_shares"]
