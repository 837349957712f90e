"""SAT against the other similarity measures (SAT paper Fig. 10, App. A; issue #16 item 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.report.style import plt, save_figure


def _p_of(corr: pd.DataFrame, a: str, b: str) -> float:
    hit = corr[((corr["measure_a"] == a) & (corr["measure_b"] == b)) | ((corr["measure_a"] == b) & (corr["measure_b"] == a))]
    return float(hit["mantel_p"].iloc[0]) if len(hit) else np.nan


def measure_comparison_figure(rho: pd.DataFrame, corr: pd.DataFrame, err: pd.DataFrame | None, folder: Path) -> Path:
    """Left: Spearman ρ between the measures (Mantel p); right: each measure's diversity vs ensemble ERR (Fig. 10)."""
    names = list(rho.index)
    n = len(names)
    fig, axes = plt.subplots(1, 2 if err is not None else 1, figsize=(0.9 * n + 3 + (4.5 if err is not None else 0),
                                                                        0.7 * n + 1.8),
                             gridspec_kw={"width_ratios": [1.3, 1]} if err is not None else None, squeeze=False)
    ax = axes[0, 0]
    im = ax.imshow(rho.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    for i in range(n):
        for j in range(n):
            v = rho.iat[i, j]
            text = "1" if i == j else (f"{v:.2f}\n(p={_p_of(corr, names[i], names[j]):.2g})" if np.isfinite(v) else "n/a")
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5,
                    color="white" if np.isfinite(v) and abs(v) > 0.6 else "black")
    ax.set_title("Spearman ρ between measures (as similarities)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if err is not None:
        ax = axes[0, 1]
        d = err.iloc[::-1]
        colors = ["#d62728" if m == "sat" else "#7f7f7f" for m in d["measure"]]
        sig = (d["mantel_p"] < 0.05).to_numpy()
        vals = d["rho_diversity_err"].fillna(0).to_numpy()
        ax.barh(d["measure"], vals, color=[c if s else "white" for c, s in zip(colors, sig)], edgecolor=colors)
        for y, (v, p) in enumerate(zip(d["rho_diversity_err"], d["mantel_p"])):
            ax.text(0, y, f" ρ={v:.2f}, p={p:.2g} " if np.isfinite(v) else " n/a ", va="center", fontsize=7,
                    ha="left" if not np.isfinite(v) or v < 0 else "right")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("Spearman ρ(diversity, pair ensemble ERR)")
        ax.set_title("Which measure predicts ensemble gain? (Fig. 10)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, folder, "measure_comparison")


__all__ = ["measure_comparison_figure"]
