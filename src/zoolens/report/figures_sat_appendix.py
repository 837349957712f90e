"""Figures of the SAT appendix analyses: stability vs number of images (App. A.1, Table A.1) and
SAT during training (App. G.3, Table G.1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.report.style import plt, save_figure

PALETTE = plt.get_cmap("tab10")
MAX_LABELLED = 8  # more pairs than this: thin grey lines and their mean


def sat_stability_figure(table: pd.DataFrame, paper: pd.DataFrame, folder: Path) -> Path:
    """Std of SAT (percent) over disjoint samples vs the number of images, per pair; cost on the right."""
    fig, (ax, axc) = plt.subplots(1, 2, figsize=(10, 4.2))
    pairs = list(table.groupby(["model_a", "model_b"], sort=False))
    many = len(pairs) > MAX_LABELLED
    for i, ((a, b), g) in enumerate(pairs):
        g = g.sort_values("n_images")
        if many:
            ax.plot(g["n_images"], g["std"], color="0.75", lw=0.8)
        else:
            ax.plot(g["n_images"], g["std"], "o-", color=PALETTE(i % 10), label=f"{a} vs {b}")
    if many:
        mean = table.groupby("n_images")["std"].mean()
        ax.plot(mean.index, mean.to_numpy(), "o-", color="C0", lw=2, label=f"mean of {len(pairs)} pairs")
    ax.plot(paper["n_images"], paper["std"], "s--", color="black", label="paper (ImageNet ConvNeXt-T vs Swin-T)")
    _log_n_axis(ax, "std of SAT over samples (percent, no log)", "Stability of SAT (App. A.1)")
    cost = table.drop_duplicates("n_images").sort_values("n_images")
    axc.plot(cost["n_images"], cost["relative_cost"], "o-", label="this run (relative to its images)")
    axc.plot(paper["n_images"], paper["relative_cost"], "s--", color="black", label="paper (relative to 50K)")
    _log_n_axis(axc, "cost 2·(n·steps + n) / reference forward passes", "Cost per pair")
    fig.tight_layout()
    return save_figure(fig, folder, "sat_stability")


def _log_n_axis(ax, ylabel: str, title: str) -> None:
    """A panel against the sample size n (log scale), gridded, with a small legend."""
    ax.set_xscale("log")
    ax.set_xlabel("images per sample n")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def sat_training_figure(curve: pd.DataFrame, paper: pd.DataFrame, paper_epochs: int, folder: Path) -> Path:
    """SAT(final, checkpoint at epoch e) per model against the fraction of training; the paper's Table G.1."""
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    for i, (model, g) in enumerate(curve.groupby("model", sort=True)):
        g = g.sort_values("epoch")
        c = PALETTE(i % 10)
        err = np.vstack([(g["sat"] - g["ci_low"]).clip(lower=0), (g["ci_high"] - g["sat"]).clip(lower=0)])
        ax.errorbar(g["fraction"], g["sat"], yerr=np.nan_to_num(err), fmt="o-", color=c, capsize=2,
                    label=f"{model.split('/')[-1]} ({int(g['epochs'].iloc[0])} epochs)")
        ax.axhline(g["self_sat"].iloc[0], color=c, ls=":", lw=1)
    ax.plot(paper["epoch"] / paper_epochs, paper["sat"], "s--", color="0.5",
            label=f"paper Table G.1 (CIFAR-10, {paper_epochs} epochs)")
    ax.set_xlabel("fraction of training (epoch / epochs)")
    ax.set_ylabel("SAT(final, checkpoint)")
    ax.set_title("SAT during training (App. G.3)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, folder, "sat_training")


__all__ = ["sat_stability_figure", "sat_training_figure"]
