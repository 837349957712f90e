"""Before a report: analyse the runs that need it (``zoolens report`` calls :func:`analyze_for_report`).

A native run given together with an imported run of the same kind (``zoolens import ...
published``) is analysed against it, so the report places the user's models among the
published zoo.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from zoolens.analysis.result import run_kind
from zoolens.published.imported import is_imported
from zoolens.report.analyze_run import analyze


def analyze_for_report(runs: Sequence[str | Path]) -> None:
    """Analyse each run without an analysis, or not yet placed among the imported run given beside it.

    Parameters
    ----------
    runs:
        The run directories of one report. Each native run is placed among the
        imported run of its kind in ``runs``, if there is one (``analyze(..., against=)``).
    """
    paths = [Path(d) for d in runs]
    imported = {run_kind(d): d for d in paths if is_imported(d)}
    for d in paths:
        ref = imported.get(run_kind(d)) if not is_imported(d) else None
        index = d / "analysis" / "index.json"
        placed = index.is_file() and json.loads(index.read_text()).get("summary", {}).get("reference_run")
        if not index.is_file() or (ref is not None and placed != str(ref)):
            analyze(d, against=ref)


__all__ = ["analyze_for_report"]
