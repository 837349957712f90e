"""Shared figure plumbing: Agg backend, sizes that keep labels readable at 20+ models, PNG + PDF output."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FONT = 8
plt.rcParams.update({"font.size": FONT, "axes.titlesize": FONT + 2, "axes.labelsize": FONT + 1,
                     "xtick.labelsize": FONT, "ytick.labelsize": FONT, "legend.fontsize": FONT,
                     "figure.dpi": 100, "savefig.dpi": 130, "pdf.fonttype": 42})


def save_figure(fig, folder: Path, name: str) -> Path:
    """Write ``name.png`` and ``name.pdf`` into ``folder``; close the figure; return the PNG path."""
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    fig.savefig(png, bbox_inches="tight")
    fig.savefig(folder / f"{name}.pdf", bbox_inches="tight")
    plt.close(fig)
    return png


def heatmap(matrix: pd.DataFrame, *, title: str, cmap: str = "viridis", center: float | None = None,
            cbar_label: str = "", annotate: bool | None = None, row_groups: list[tuple[str, int, int]] | None = None,
            fmt: str = "{:.2f}", vmin: float | None = None, vmax: float | None = None):
    """A labelled heatmap sized by its shape (≈0.4 in per column, 0.3 in per row).

    ``row_groups``: (name, first_row, last_row) drawn as separators with the group name
    on the right. ``center``: symmetric colour limits around it (diverging maps).
    """
    values = matrix.to_numpy(dtype=float)
    nr, nc = values.shape
    fig, ax = plt.subplots(figsize=(max(5.0, 0.42 * nc + 3.5), max(3.0, 0.3 * nr + 1.8)))
    if center is not None:
        lim = np.nanmax(np.abs(values - center)) if np.isfinite(values).any() else 1.0
        lim = lim if lim > 0 else 1.0
        vmin, vmax = center - lim, center + lim
    masked = np.ma.masked_invalid(values)
    cm = plt.get_cmap(cmap).with_extremes(bad="#dddddd")
    im = ax.imshow(masked, aspect="auto", cmap=cm, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks(range(nc))
    ax.set_xticklabels([str(c) for c in matrix.columns], rotation=70, ha="right")
    ax.set_yticks(range(nr))
    ax.set_yticklabels([str(i) for i in matrix.index])
    ax.set_title(title)
    cb = fig.colorbar(im, ax=ax, fraction=0.035, pad=0.02 if not row_groups else 0.2)
    cb.set_label(cbar_label)
    if annotate is None:
        annotate = nr * nc <= 400
    if annotate:
        lo, hi = (vmin if vmin is not None else np.nanmin(values)), (vmax if vmax is not None else np.nanmax(values))
        for i in range(nr):
            for j in range(nc):
                v = values[i, j]
                if np.isfinite(v):
                    frac = (v - lo) / (hi - lo) if hi > lo else 0.5
                    dark = frac < 0.55 if center is None else abs(frac - 0.5) > 0.3
                    ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=FONT - 2.5,
                            color="white" if dark and cmap in ("viridis", "magma", "cividis") or
                            (center is not None and dark) else "black")
    for name, first, last in row_groups or []:
        if first > 0:
            ax.axhline(first - 0.5, color="white", lw=2)
        ax.text(nc - 0.3, (first + last) / 2, f" {name}", va="center", ha="left", fontsize=FONT,
                transform=ax.transData, clip_on=False)
    return fig, ax


def groups_of(labels: list[str]) -> list[tuple[str, int, int]]:
    """Consecutive runs of equal labels as (label, first, last) index ranges."""
    out: list[tuple[str, int, int]] = []
    for i, lab in enumerate(labels):
        if out and out[-1][0] == lab:
            out[-1] = (lab, out[-1][1], i)
        else:
            out.append((lab, i, i))
    return out


__all__ = ["FONT", "groups_of", "heatmap", "plt", "save_figure"]
