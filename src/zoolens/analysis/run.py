"""``zoolens analyze DIR``: every analysis of a criticality or SAT run, as CSV tables and PNG/PDF
figures in ``DIR/analysis/``, plus ``index.json`` (figures, tables, findings, notes) for the report."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoolens.analysis.findings import claim_order, make_finding
from zoolens.errors import ZoolensError
from zoolens.io import write_table, write_text_atomic



@dataclass
class Analysis:
    """What one ``analyze`` call produced (mirrors ``DIR/analysis/index.json``)."""

    run: Path
    kind: str
    figures: list[dict[str, str]] = field(default_factory=list)
    tables: list[dict[str, str]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.run / "analysis"

    def table(self, name: str, df: pd.DataFrame, title: str, *, index: bool = False) -> pd.DataFrame:
        df = df.reset_index() if index else df
        write_table(df, self.folder / f"{name}.csv")
        self.tables.append({"file": f"{name}.csv", "title": title})
        return df

    def figure(self, png: Path, title: str, caption: str) -> None:
        self.figures.append({"file": png.name, "pdf": png.with_suffix(".pdf").name, "title": title,
                             "caption": caption})

    def finding(self, key: str, verdict: str, evidence: str, measured: Any = None) -> None:
        """Record the verdict on claim ``key`` of :data:`zoolens.analysis.findings.CLAIMS`."""
        self.findings.append(make_finding(key, verdict, evidence, measured))

    def save(self) -> None:
        data = {"run": str(self.run), "kind": self.kind, "figures": self.figures, "tables": self.tables,
                "findings": self.findings, "notes": self.notes, "summary": self.summary}
        self.findings.sort(key=lambda f: claim_order(f["id"]))
        write_text_atomic(self.folder / "findings.json", json.dumps(self.findings, indent=1, default=_json_default))
        write_text_atomic(self.folder / "index.json", json.dumps(data, indent=1, default=_json_default))


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return str(o)


def run_kind(path: Path) -> str:
    """``criticality`` or ``similarity`` by the tables a run directory holds."""
    if (path / "criticality_summary.csv").is_file():
        return "criticality"
    if (path / "sat_matrix.csv").is_file():
        return "similarity"
    raise ZoolensError(f"{path} holds no finished criticality or SAT run (no criticality_summary.csv or "
                       "sat_matrix.csv)", "run `zoolens criticality … --out DIR` or `zoolens similarity … --out DIR`")


def analyze(path: str | Path, *, baseline: str | None = None, exclude_category: str = "adversarial_training",
            k: int | str | None = None, compare: str | Path | None = None, seed: int = 0, progress: bool = False,
            ensembles: bool = True, against: str | Path | None = None) -> Analysis:
    """Run every analysis that applies to the run in ``path`` and write them to ``path/analysis``.

    Parameters
    ----------
    path:
        A criticality or SAT run directory.
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

    Returns
    -------
    Analysis
    """
    path = Path(path)
    if not path.is_dir():
        raise ZoolensError(f"run directory {path} does not exist", "pass the --out directory of a run")
    kind = run_kind(path)
    a = Analysis(run=path, kind=kind)
    a.folder.mkdir(parents=True, exist_ok=True)
    if kind == "criticality":
        from zoolens.analysis.criticality_run import analyze_criticality

        analyze_criticality(a, baseline=baseline, exclude_category=exclude_category)
    else:
        from zoolens.analysis.sat_run import analyze_sat

        analyze_sat(a, k=k, compare=Path(compare) if compare else None, seed=seed, progress=progress,
                    ensembles=ensembles)
    if against is not None:
        from zoolens.analysis.placement_run import place

        place(a, against)
    a.save()
    return a


def load_analysis(path: str | Path) -> dict[str, Any]:
    """``DIR/analysis/index.json`` of an analysed run."""
    f = Path(path) / "analysis" / "index.json"
    if not f.is_file():
        raise ZoolensError(f"{path} has not been analysed (no {f})", f"run `zoolens analyze {path}` first")
    return json.loads(f.read_text())


def fmt_p(p: float) -> str:
    return "n/a" if p is None or not math.isfinite(p) else f"{p:.2g}"


__all__ = ["Analysis", "analyze", "fmt_p", "load_analysis", "run_kind"]
