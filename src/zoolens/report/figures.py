"""Drawing an analysis's figure requests: every figure function of the report by name.

The analyses (:mod:`zoolens.analysis`) request figures by these names
(:meth:`zoolens.analysis.result.Analysis.plot`); :func:`draw` draws them in request
order into ``DIR/analysis/`` (PNG and PDF) and lists them in the analysis's index. A figure
with an interactive twin (:data:`zoolens.report.interactive_views.VIEWS`) also gets its
Vega-Lite spec, ``NAME.vl.json`` beside the PNG, which ``report.html`` renders.
"""

from __future__ import annotations

import json
from typing import Callable

from zoolens.analysis.result import Analysis
from zoolens.report import figures_criticality as fc
from zoolens.report import figures_distill as fd
from zoolens.report import figures_ensembles as fens
from zoolens.report import figures_measures as fmeas
from zoolens.report import figures_placement as fp
from zoolens.report import figures_sat as fs
from zoolens.report import figures_sat_appendix as fsa
from zoolens.report.interactive_views import VIEWS
from zoolens.io import write_text_atomic

#: Figure name → drawing function ``f(*args, folder) -> png path``.
FIGURES: dict[str, Callable[..., object]] = {
    f.__name__: f for f in (
        fc.criticality_heatmap, fc.criticality_difference, fc.criticality_sem, fc.criticality_vs_accuracy,
        fc.criticality_vs_budget, fc.role_shares,
        fs.sat_heatmap, fs.eigengap_figure, fs.feature_distance_heatmap, fs.tsne_figure, fs.importance_figure,
        fs.attack_agreement_figure, fs.err_vs_sat, fs.cluster_ensemble_figure, fs.same_misclassification_figure,
        fs.sat_table2_figure, fens.cluster_ensemble_error_figure, fens.family_ensemble_figure,
        fsa.sat_stability_figure, fsa.sat_training_figure,
        fp.placement_heatmap, fp.shared_pairs_figure, fmeas.measure_comparison_figure,
        fp.newcomer_placement_figure,
        fd.distill_sat_figure, fd.distill_teacher_accuracy_figure)}


def draw(a: Analysis) -> None:
    """Draw every figure ``a`` requested, in order, and list each in ``a.figures``."""
    for req in a.plots:
        png = FIGURES[req.name](*req.args, a.folder)
        spec = None
        if req.name in VIEWS:
            spec = png.with_name(f"{png.stem}.vl.json")
            view = VIEWS[req.name](*req.args, **req.hover)
            write_text_atomic(spec, json.dumps(view, separators=(",", ":"), allow_nan=False))
        a.figure(png, req.title, req.caption, interactive=spec)
    a.plots.clear()


__all__ = ["FIGURES", "draw"]
