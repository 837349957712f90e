"""Drawing an analysis's figure requests: every figure function of the report by name.

The analyses (:mod:`zoolens.analysis`) request figures by these names
(:meth:`zoolens.analysis.result.Analysis.plot`); :func:`draw` draws them in request
order into ``DIR/analysis/`` (PNG and PDF) and lists them in the analysis's index.
"""

from __future__ import annotations

from typing import Callable

from zoolens.analysis.result import Analysis
from zoolens.report import figures_criticality as fc
from zoolens.report import figures_placement as fp
from zoolens.report import figures_sat as fs

#: Figure name → drawing function ``f(*args, folder) -> png path``.
FIGURES: dict[str, Callable[..., object]] = {
    f.__name__: f for f in (
        fc.criticality_heatmap, fc.criticality_difference, fc.criticality_sem, fc.criticality_vs_accuracy,
        fc.criticality_vs_budget, fc.role_shares,
        fs.sat_heatmap, fs.eigengap_figure, fs.feature_distance_heatmap, fs.tsne_figure, fs.importance_figure,
        fs.attack_agreement_figure, fs.err_vs_sat, fs.cluster_ensemble_figure,
        fp.placement_heatmap, fp.shared_pairs_figure)}


def draw(a: Analysis) -> None:
    """Draw every figure ``a`` requested, in order, and list each in ``a.figures``."""
    for req in a.plots:
        a.figure(FIGURES[req.name](*req.args, a.folder), req.title, req.caption)
    a.plots.clear()


__all__ = ["FIGURES", "draw"]
