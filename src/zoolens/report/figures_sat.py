"""SAT figures (SAT paper Figs. 1, 3, 4, 6, 7, D.1, App. B.1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.report.style import groups_of, heatmap, plt, save_figure

PALETTE = plt.get_cmap("tab10")


def sat_heatmap(sat: pd.DataFrame, labels: np.ndarray, folder: Path) -> Path:
    """Fig. D.1: SAT matrix with models ordered by spectral cluster (already ordered by the caller)."""
    groups = [(f"C{c}", a, b) for c, a, b in groups_of([str(int(c)) for c in labels])]
    fig, _ = heatmap(sat, title="SAT (ordered by spectral cluster)", cmap="viridis", cbar_label="SAT",
                     row_groups=groups)
    return save_figure(fig, folder, "sat_heatmap")


def feature_distance_heatmap(dist: pd.DataFrame, labels: np.ndarray, folder: Path) -> Path:
    """Fig. 4: pairwise distances between spectral features, ordered by cluster."""
    groups = [(f"C{c}", a, b) for c, a, b in groups_of([str(int(c)) for c in labels])]
    fig, _ = heatmap(dist, title="Distances of spectral features", cmap="viridis_r", cbar_label="Euclidean distance",
                     row_groups=groups)
    return save_figure(fig, folder, "spectral_distances")


def tsne_figure(coords: np.ndarray, names: list[str], labels: np.ndarray, folder: Path) -> Path:
    """Fig. 1: t-SNE map of the spectral features, coloured by cluster."""
    fig, ax = plt.subplots(figsize=(7, 6))
    for c in sorted(set(labels.tolist())):
        m = labels == c
        ax.scatter(coords[m, 0], coords[m, 1], s=40, color=PALETTE(int(c) % 10), label=f"cluster {c}")
    for (x, y), n in zip(coords, names):
        ax.annotate(n, (x, y), fontsize=6.5, xytext=(3, 3), textcoords="offset points")
    ax.set_title("t-SNE of spectral features")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="best")
    return save_figure(fig, folder, "tsne")


def eigengap_figure(eigenvalues: np.ndarray, k: int, source: str, folder: Path) -> Path:
    """Normalized-Laplacian spectrum with the chosen K marked."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    n = min(len(eigenvalues), 20)
    ax.plot(np.arange(1, n + 1), eigenvalues[:n], "o-")
    ax.axvline(k + 0.5, color="red", ls="--", label=f"K = {k} ({source})")
    ax.set_xlabel("index")
    ax.set_ylabel("eigenvalue of normalized Laplacian")
    ax.set_title("Spectrum and eigengap")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, folder, "eigengap")


def importance_figure(imp: pd.DataFrame, folder: Path) -> Path:
    """Fig. 3: permutation importance of architecture components for SAT."""
    fig, ax = plt.subplots(figsize=(6.5, max(3, 0.32 * len(imp) + 1)))
    d = imp.iloc[::-1]
    ax.barh(d["component"], d["importance_mean"], xerr=d["importance_std"], color="#3182bd")
    ax.set_xlabel("permutation importance (mean ± std, 10 repeats)")
    ax.set_title(f"Component importance for SAT (GBR, train R² = {imp.attrs.get('r2', float('nan')):.2f})")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, folder, "component_importance")


def err_vs_sat(pairs: pd.DataFrame, corr: dict, folder: Path) -> Path:
    """Fig. 6: ERR of 2-model ensembles vs SAT of the pair."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.scatter(pairs["sat"], pairs["err_rate"] * 100, s=14, alpha=0.7)
    ax.set_xlabel("SAT of the pair")
    ax.set_ylabel("error reduction rate ERR (%)")
    ax.set_title(f"2-model ensembles (n={corr['n']}): Pearson r={corr['pearson_r']:.2f} (p={corr['pearson_p']:.2g}), "
                 f"Spearman ρ={corr['spearman_rho']:.2f} (p={corr['spearman_p']:.2g})", fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, folder, "ensemble_err_vs_sat")


def cluster_ensemble_figure(table: pd.DataFrame, folder: Path) -> Path:
    """Fig. 7: mean ERR of N-ensembles by the number of clusters k they span, vs random draws."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    kcols = [c for c in table.columns if c.startswith("k=")]
    for i, r in table.iterrows():
        ks = [int(c[2:]) for c in kcols if np.isfinite(r[c])]
        ax.plot(ks, [r[f"k={k}"] for k in ks], "o-", color=PALETTE(i % 10), label=f"N={int(r['n_models'])}")
        ax.axhline(r["rand"], color=PALETTE(i % 10), ls=":", lw=1)
    ax.set_xlabel("number of clusters k the members come from")
    ax.set_ylabel("mean ERR (%)")
    ax.set_title("Ensembles from k clusters (dotted: random members)")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, folder, "ensemble_clusters")


def sat_table2_figure(table: pd.DataFrame, paper: dict, folder: Path) -> Path:
    """Table 2: mean SAT among each setting's variants, per family, with bootstrap intervals."""
    settings = ["Init", "Hparam", "Tr. Reg.", "Adv. training"]
    fams = [f for f in table["family"].unique() if f != "(zoo)"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    width = 0.8 / max(len(fams), 1)
    for i, fam in enumerate(fams):
        g = table[table["family"] == fam].set_index("setting")
        xs = [j for j, s in enumerate(settings) if s in g.index]
        means = np.array([g.loc[settings[j], "mean_sat"] for j in xs], dtype=float)
        lo = np.array([g.loc[settings[j], "ci_low"] for j in xs], dtype=float)
        hi = np.array([g.loc[settings[j], "ci_high"] for j in xs], dtype=float)
        err = np.vstack([np.nan_to_num(means - lo), np.nan_to_num(hi - means)])
        ax.bar(np.array(xs) + (i - (len(fams) - 1) / 2) * width, means, width, yerr=err, capsize=3,
               color=PALETTE(i % 10), label=fam)
    for setting, ls in (("All", "--"), ("Across families", ":")):
        row = table[(table["family"] == "(zoo)") & (table["setting"] == setting)]
        if len(row) and np.isfinite(row["mean_sat"].iloc[0]):
            ax.axhline(row["mean_sat"].iloc[0], color="k", ls=ls, lw=1, label=f"{setting} (zoo)")
    for j, (arch, vals) in enumerate(paper.items()):
        xs = [k for k, s in enumerate(settings) if s in vals]
        ax.plot(xs, [vals[settings[k]] for k in xs], "x", color="0.4", ms=6,
                label="paper (ResNet-50, ViT-S)" if j == 0 else None)
    ax.set_xticks(range(len(settings)), settings)
    ax.set_ylabel("mean SAT among the setting's models")
    ax.set_title("SAT within one architecture (Table 2)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    return save_figure(fig, folder, "sat_table2")


def attack_agreement_figure(pairs: pd.DataFrame, corr: dict, name_a: str, name_b: str, folder: Path) -> Path:
    """App. B.1: SAT under one attack vs another."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(pairs["sat_a"], pairs["sat_b"], s=14)
    lo = np.nanmin(pairs[["sat_a", "sat_b"]].to_numpy()) if len(pairs) else 0
    hi = np.nanmax(pairs[["sat_a", "sat_b"]].to_numpy()) if len(pairs) else 1
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xlabel(f"SAT ({name_a})")
    ax.set_ylabel(f"SAT ({name_b})")
    ci = (f", 95% CI over models {corr['ci_low']:.2f}–{corr['ci_high']:.2f}"
          if np.isfinite(corr.get("ci_low", np.nan)) else "")
    ax.set_title(f"Attack agreement: r={corr['pearson_r']:.2f}{ci} (p={corr['pearson_p']:.2g}, n={corr['n']})",
                 fontsize=8)
    return save_figure(fig, folder, "attack_agreement")


def same_misclassification_figure(pairs: pd.DataFrame, test: dict, folder: Path) -> Path:
    """App. G.2, Fig. G.1b: SAT of each pair vs its number of identical wrong labels."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(pairs["sat"], pairs["n_same"], s=16, alpha=0.8)
    ax.set_xlabel("SAT of the pair")
    ax.set_ylabel("identical wrong labels (both directions, on X_AB)")
    ax.set_title(f"Same misclassification (n={test['n_pairs']} pairs): Spearman ρ={test['spearman_rho']:.2f}, "
                 f"Mantel p={test['mantel_p']:.2g}", fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, folder, "same_misclassification")


__all__ = ["attack_agreement_figure", "cluster_ensemble_figure", "eigengap_figure", "err_vs_sat",
           "feature_distance_heatmap", "importance_figure", "same_misclassification_figure", "sat_heatmap",
           "tsne_figure"]
