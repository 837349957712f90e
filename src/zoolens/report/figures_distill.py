"""Knowledge distillation figures (SAT paper Sec. 5.2 Fig. 11a-c, App. F.1 Fig. F.1; docs/distillation.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.analysis.distill_run import group_rows
from zoolens.report.style import plt, save_figure

_COLORS = {True: "#d62728", False: "#1f77b4"}
_GROUP_TITLES = {"all": "(a) all teachers", "transformer": "(b) Transformer teachers",
                 "non_transformer": "(c) non-Transformer teachers"}


def _stats(corr: pd.DataFrame, x: str, group: str) -> str:
    row = corr[(corr["x"] == x) & (corr["group"] == group)].iloc[0]
    r, p = row["pearson_r"], row["pearson_p"]
    return f"r = {r:.2f}, p = {p:.2g}, n = {int(row['n'])}" if np.isfinite(r) else f"r undefined, n = {int(row['n'])}"


def _scatter(ax, sub: pd.DataFrame, x: str, xerr: bool) -> None:
    for flag, color in ((True, _COLORS[True]), (False, _COLORS[False]), (None, "#7f7f7f")):
        part = sub[sub["transformer"].isna()] if flag is None else sub[(sub["transformer"] == flag).fillna(False)]
        if not len(part):
            continue
        label = {True: "Transformer", False: "non-Transformer", None: "unknown"}[flag]
        err = None
        if xerr and {"sat_ci_low", "sat_ci_high"} <= set(part.columns):
            lo = (part[x] - part["sat_ci_low"]).clip(lower=0).to_numpy(float)
            hi = (part["sat_ci_high"] - part[x]).clip(lower=0).to_numpy(float)
            err = np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)])
        ax.errorbar(part[x], part["student_acc"], xerr=err, fmt="o", color=color, ms=5, lw=0.8, capsize=2,
                    label=label)
    xs, ys = sub[x].to_numpy(float), sub["student_acc"].to_numpy(float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.sum() >= 3 and np.ptp(xs[ok]) > 0:  # least-squares line, as in the paper's panels
        slope, icept = np.polyfit(xs[ok], ys[ok], 1)
        grid = np.linspace(xs[ok].min(), xs[ok].max(), 2)
        ax.plot(grid, slope * grid + icept, color="black", lw=0.8, ls="--")
    for r in sub.itertuples(index=False):
        ax.annotate(str(r.teacher), (getattr(r, x), r.student_acc), fontsize=6, xytext=(3, 3),
                    textcoords="offset points")
    ax.grid(alpha=0.3)


def distill_sat_figure(table: pd.DataFrame, corr: pd.DataFrame, folder: Path) -> Path:
    """Fig. 11a-c: SAT(teacher, baseline) vs the distilled student's accuracy — all, Transformer, other teachers."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
    for ax, group in zip(axes, ("all", "transformer", "non_transformer")):
        _scatter(ax, group_rows(table, group), "sat", xerr=True)
        ax.set_title(f"{_GROUP_TITLES[group]}: {_stats(corr, 'sat', group)}", fontsize=9)
        ax.set_xlabel("SAT(teacher, student architecture's baseline)")
    axes[0].set_ylabel("student test accuracy (%)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, folder, "distill_sat")


def distill_teacher_accuracy_figure(table: pd.DataFrame, corr: pd.DataFrame, folder: Path) -> Path:
    """Fig. F.1: the teacher's test accuracy vs its distilled student's."""
    fig, ax = plt.subplots(figsize=(6, 4.6))
    _scatter(ax, table, "teacher_acc", xerr=False)
    ax.set_xlabel("teacher test accuracy (%)")
    ax.set_ylabel("student test accuracy (%)")
    ax.set_title(f"Teacher vs distilled accuracy: {_stats(corr, 'teacher_acc', 'all')}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, folder, "distill_teacher_accuracy")


__all__ = ["distill_sat_figure", "distill_teacher_accuracy_figure"]
