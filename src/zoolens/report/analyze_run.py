"""``zoolens analyze DIR`` / ``zoolens.analyze``: the analyses of a run, their figures and the scorecard."""

from __future__ import annotations

from pathlib import Path

from zoolens.analysis.result import Analysis
from zoolens.analysis.run import compute
from zoolens.report.figures import draw


def analyze(path: str | Path, *, baseline: str | None = None, exclude_category: str = "adversarial_training",
            k: int | str | None = None, compare: str | Path | None = None, seed: int = 0, progress: bool = False,
            ensembles: bool = True, against: str | Path | None = None,
            measures: str | Path | None = None,
            stability_pairs: list[tuple[str, str]] | None = None, figures: bool = True) -> Analysis:
    """Run every analysis that applies to the run in ``path`` and write them to ``path/analysis``.

    CSV tables, PNG/PDF figures, ``findings.json`` (the scorecard of the papers' claims)
    and ``index.json`` (figures, tables, findings, notes) for the report. The parameters
    are those of :func:`zoolens.analysis.run.compute`, and ``figures``: ``False`` writes the
    tables and the scorecard only (drawing is most of an analysis's time: 17 of 18 s for a
    ResNet-50 placed among the 50 published models).

    Returns
    -------
    Analysis
    """
    a = compute(path, baseline=baseline, exclude_category=exclude_category, k=k, compare=compare, seed=seed,
                progress=progress, ensembles=ensembles, against=against, measures=measures,
                stability_pairs=stability_pairs)
    if figures:
        draw(a)
    else:
        a.plots.clear()
    a.save()
    return a


__all__ = ["analyze"]
