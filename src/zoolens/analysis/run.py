"""The analyses of one run (``zoolens analyze DIR``): tables in ``DIR/analysis/``, findings and figure requests.

:func:`compute` runs every analysis that applies and returns the :class:`Analysis`;
:func:`zoolens.report.analyze` (what ``zoolens analyze`` and ``zoolens.analyze`` call)
then draws its figures and writes ``findings.json`` and ``index.json``.
"""

from __future__ import annotations

from pathlib import Path

from zoolens.analysis.criticality_run import analyze_criticality
from zoolens.analysis.distill_run import analyze_distill
from zoolens.analysis.measure_comparison_run import compare_measures
from zoolens.analysis.placement_run import place
from zoolens.analysis.result import Analysis, run_kind
from zoolens.analysis.sat_run import analyze_sat
from zoolens.errors import ZoolensError


def compute(path: str | Path, *, baseline: str | None = None, exclude_category: str = "adversarial_training",
            k: int | str | None = None, compare: str | Path | None = None, seed: int = 0, progress: bool = False,
            ensembles: bool = True, against: str | Path | None = None,
            measures: str | Path | None = None,
            stability_pairs: list[tuple[str, str]] | None = None) -> Analysis:
    """Run every analysis that applies to the run in ``path``, writing its tables to ``path/analysis``.

    Parameters
    ----------
    path:
        A criticality, SAT or distill run directory (a distill run: SAT paper Sec. 5.2 and App. F.1,
        :mod:`zoolens.analysis.distill_run`; the other options do not apply to it).
    baseline:
        Criticality: the model the differences (Fig. 4) and the budget plot (Fig. 2) refer
        to (default: the first model of category ``baseline``, else the first model).
    exclude_category:
        Criticality: the category left out in the second accuracy correlation (Fig. 3).
    k:
        SAT: number of spectral clusters, or ``"eigengap"``; default ``None``: K = 10 (the
        paper's) when the run's models are exactly the SAT paper's 69, else the eigengap.
    compare:
        SAT: a second SAT run of the same models with another attack (App. B.1).
    ensembles:
        SAT: compute the ensemble analyses (loads every model once for its logits).
    against:
        A reference run of the same kind, or ``"published"`` (the papers' published data):
        where this run's models sit among the reference's (nearest criticality profiles
        and the heatmap; SAT of the shared pairs against the reference matrix).
    measures:
        SAT: a ``zoolens measures`` run on the same images to compare SAT with (default: the
        sibling ``../measures`` of a study, when present; see docs/measures.md).
    stability_pairs:
        SAT: the pairs of the stability table (App. A.1; default: every pair measured in both
        directions).

    Returns
    -------
    Analysis
        Tables written; figures requested in ``plots`` (not drawn); nothing saved yet.
    """
    path = Path(path)
    if not path.is_dir():
        raise ZoolensError(f"run directory {path} does not exist", "pass the output directory of a criticality or SAT run")
    kind = run_kind(path)
    a = Analysis(run=path, kind=kind)
    a.folder.mkdir(parents=True, exist_ok=True)
    if kind == "distill":
        if against is not None:
            raise ZoolensError("--against places criticality and SAT runs, not a distill run",
                               f"run `zoolens analyze {path}` without --against")
        analyze_distill(a)
        return a
    if kind == "criticality":
        analyze_criticality(a, baseline=baseline, exclude_category=exclude_category)
    else:
        analyze_sat(a, k=k, compare=Path(compare) if compare else None, seed=seed, progress=progress,
                    ensembles=ensembles, stability_pairs=stability_pairs)
        compare_measures(a, measures=measures, seed=seed)
    if against is not None:
        place(a, against)
    return a


__all__ = ["compute"]
