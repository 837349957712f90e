"""Ensemble figures beyond ERR: top-1 error and all-wrong counts by cluster diversity (SAT paper
Fig. 7a, 7c) and training variants vs different architectures (Fig. 8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from zoolens.report.style import plt, save_figure

PALETTE = plt.get_cmap("tab10")


def cluster_ensemble_error_figure(metrics: pd.DataFrame, folder: Path) -> Path:
    """Fig. 7a and 7c: mean ensemble top-1 error (%) and mean count of images every member gets
    wrong, against the number of clusters k the members come from; dotted: random members.

    ``metrics``: :func:`zoolens.analysis.ensembles.cluster_ensemble_metrics`.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, col, label in ((axes[0], "err_ensemble", "mean ensemble top-1 error (%)"),
                           (axes[1], "n_all_wrong", "mean # images all members get wrong")):
        for i, (n, g) in enumerate(metrics.groupby("n_models", sort=True)):
            ks = g[g["selection"] != "rand"]
            ax.plot(ks["k_clusters"].astype(float), ks[col], "o-", color=PALETTE(i % 10), label=f"N={int(n)}")
            rand = g.loc[g["selection"] == "rand", col]
            if len(rand) and np.isfinite(rand.iloc[0]):
                ax.axhline(rand.iloc[0], color=PALETTE(i % 10), ls=":", lw=1)
        ax.set_xlabel("number of clusters k the members come from")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_title("Ensemble error (Fig. 7a)")
    axes[1].set_title("Images every member misclassifies (Fig. 7c)")
    axes[0].legend()
    return save_figure(fig, folder, "ensemble_clusters_error")


#: Fig. 8's colours: the paper's red (Init), green (Hparam), blue (Tr. Reg.) and yellow (different
#: architectures); grey for the pooled training variants, purple for adversarial training.
FIG8_COLORS = {"Init": "tab:red", "Hparam": "tab:green", "Tr. Reg.": "tab:blue", "across families": "goldenrod",
               "training variants": "0.55", "adversarial training": "tab:purple"}
FIG8_MARKERS = {"Init": "o", "Hparam": "^", "Tr. Reg.": "s", "across families": "D", "training variants": ".",
                "adversarial training": "x"}
FAMILY_LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))


def family_ensemble_figure(table: pd.DataFrame, folder: Path) -> Path:
    """Fig. 8: ERR (%), ensemble top-1 error (%) and all-wrong count against N, one line per
    (family, group): colour by group (Init red, Hparam green, Tr. Reg. blue as in the paper;
    pooled training variants grey and thin; adversarial training purple), line style by family,
    and ensembles whose members all come from different families in yellow (thick, solid).

    ``table``: :func:`zoolens.analysis.ensembles.family_ensemble_table`.
    """
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    families = sorted({f for grp, f in zip(table["group"], table["family"]) if grp != "across families"})
    style = {f: FAMILY_LINESTYLES[i % len(FAMILY_LINESTYLES)] for i, f in enumerate(families)}
    for j, ((group, family), g) in enumerate(table.groupby(["group", "family"], sort=False)):
        g = g.sort_values("n_models")
        across = group == "across families"
        lw = 2.5 if across else 1.0 if group == "training variants" else 1.6
        kw = {"color": FIG8_COLORS.get(group, PALETTE(j % 10)), "marker": FIG8_MARKERS.get(group, "o"),
              "ls": "-" if across else style[family], "lw": lw,
              "label": "across families (N = k)" if across else f"{family}: {group}"}
        for ax, col in zip(axes, ("err_rate", "err_ensemble", "n_all_wrong")):
            ax.plot(g["n_models"], g[col], **kw)
    for ax, ylabel in zip(axes, ("mean ERR (%)", "mean ensemble top-1 error (%)", "mean # images all members get wrong")):
        ax.set_xlabel("number of ensembled models N")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_title("Training settings vs architectures (Fig. 8)")
    axes[0].legend(fontsize=7)
    return save_figure(fig, folder, "ensemble_families")


__all__ = ["FAMILY_LINESTYLES", "FIG8_COLORS", "FIG8_MARKERS", "cluster_ensemble_error_figure",
           "family_ensemble_figure"]
