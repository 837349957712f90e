"""Figures placing a run's models among a reference zoo (``zoolens analyze --against``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.report.style import groups_of, heatmap, plt, save_figure


def placement_heatmap(reference: pd.DataFrame, user: pd.DataFrame, categories: list[str], folder: Path) -> Path:
    """The reference criticality heatmap with the user's models appended as the last rows."""
    cols = list(reference.columns)
    both = pd.concat([reference, user.reindex(columns=cols).rename(index=lambda m: f"▶ {m}")])
    groups = groups_of([str(c) for c in categories] + ["this run"] * len(user))
    fig, ax = heatmap(both, title="Criticality: this run among the reference zoo", cmap="magma", vmin=0.0,
                      vmax=1.0, cbar_label="criticality (cosine distance)", row_groups=groups, annotate=False)
    ax.axhline(len(reference) - 0.5, color="cyan", lw=2.5)
    return save_figure(fig, folder, "placement_criticality")


def shared_pairs_figure(pairs: pd.DataFrame, corr: dict, folder: Path) -> Path:
    """This run's SAT against the reference's, one point per shared pair."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(pairs["sat_reference"], pairs["sat"], s=22)
    lo = float(np.nanmin(pairs[["sat", "sat_reference"]].to_numpy()))
    hi = float(np.nanmax(pairs[["sat", "sat_reference"]].to_numpy()))
    ax.plot([lo, hi], [lo, hi], "k:", lw=1)
    ax.set_xlabel("SAT, reference run")
    ax.set_ylabel("SAT, this run")
    ax.set_title(f"Shared pairs: n={corr['n']}, Pearson r={corr['pearson_r']:.2f}", fontsize=9)
    ax.grid(alpha=0.3)
    return save_figure(fig, folder, "placement_sat")


def newcomer_placement_figure(scores: pd.DataFrame, clusters: list, confidence: list, folder: Path) -> Path:
    """Newcomers × existing clusters: mean SAT, the assigned cluster boxed, each row labelled with its confidence."""
    shown = scores.rename(index=dict(zip(scores.index, [f"{m}  (conf. {c:.2f})" for m, c in
                                                         zip(scores.index, confidence)])))
    fig, ax = heatmap(shown, title="Newcomers among the existing clusters", cmap="viridis",
                      cbar_label="mean SAT to the cluster's members", annotate=True)
    cols = list(scores.columns)
    for i, c in enumerate(clusters):
        if not pd.isna(c) and f"cluster {c}" in cols:
            j = cols.index(f"cluster {c}")
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", lw=2.5))
    return save_figure(fig, folder, "newcomer_placement")


__all__ = ["newcomer_placement_figure", "placement_heatmap", "shared_pairs_figure"]
