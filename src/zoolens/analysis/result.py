"""What an analysis of a run produces: tables (written as they come), figure requests, findings, notes.

The analyses compute; they never draw. A figure is recorded as a request (the name of
a drawing function of :mod:`zoolens.report` and the data it needs), and the report
layer draws the requests (:func:`zoolens.report.analyze`) before :meth:`Analysis.save`
writes ``findings.json`` and ``index.json``.
"""

from __future__ import annotations

import copy
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


@dataclass(frozen=True)
class FigureRequest:
    """A figure to draw: ``FIGURES[name](*args, folder)`` of :mod:`zoolens.report.figures`.

    ``hover``: data only the figure's interactive view shows in its tooltip (standard
    errors, bootstrap intervals), passed to its builder by keyword.
    """

    name: str
    title: str
    caption: str
    args: tuple[Any, ...]
    hover: dict[str, Any] = field(default_factory=dict)


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
    plots: list[FigureRequest] = field(default_factory=list)
    _transfer_images: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    #: In-memory inputs one analysis step hands to a later one (e.g. the ensembles' clean logits); never saved.
    scratch: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def folder(self) -> Path:
        return self.run / "analysis"

    def transfer_images(self) -> pd.DataFrame | None:
        """The SAT run's per-image outcomes (``transfer_images.parquet``), read once per analysis.

        Stability, same misclassification and the measures comparison all use them; on a large
        run the table has millions of rows. ``None`` when the run has none (e.g. an import).
        """
        f = self.run / "transfer_images.parquet"
        if self._transfer_images is None and f.is_file():
            self._transfer_images = pd.read_parquet(f)
        return self._transfer_images

    def table(self, name: str, df: pd.DataFrame, title: str, *, index: bool = False) -> pd.DataFrame:
        """Write ``analysis/NAME.csv`` and list it in the index."""
        df = df.reset_index() if index else df
        write_table(df, self.folder / f"{name}.csv")
        self.tables.append({"file": f"{name}.csv", "title": title})
        return df

    def plot(self, name: str, title: str, caption: str, *args: Any, hover: dict[str, Any] | None = None) -> None:
        """Request figure ``name`` drawn from ``args`` (copied: later steps may change the data in place).

        ``hover``: extra data for the tooltip of the figure's interactive view (by keyword).
        """
        self.plots.append(FigureRequest(name, title, caption, copy.deepcopy(args), copy.deepcopy(hover or {})))

    def figure(self, png: Path, title: str, caption: str, interactive: Path | None = None) -> None:
        """List a drawn figure (``png`` and its PDF twin; ``interactive``: its Vega-Lite spec) in the index."""
        entry = {"file": png.name, "pdf": png.with_suffix(".pdf").name, "title": title, "caption": caption}
        if interactive is not None:
            entry["interactive"] = interactive.name
        self.figures.append(entry)

    def finding(self, key: str, verdict: str, evidence: str, measured: Any = None) -> None:
        """Record the verdict on claim ``key`` of :data:`zoolens.analysis.findings.CLAIMS`."""
        self.findings.append(make_finding(key, verdict, evidence, measured))

    def save(self) -> None:
        """Write ``findings.json`` (claim order) and ``index.json``."""
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
    """``criticality``, ``similarity`` or ``distill`` by the tables a run directory holds."""
    if (path / "criticality_summary.csv").is_file():
        return "criticality"
    if (path / "sat_matrix.csv").is_file():
        return "similarity"
    if (path / "distill.parquet").is_file():
        return "distill"
    raise ZoolensError(f"{path} holds no finished criticality, SAT or distill run (no criticality_summary.csv, "
                       "sat_matrix.csv or distill.parquet)",
                       "write a run there first (zoolens criticality|similarity|distill … --out DIR, or the Python "
                       "API with out=DIR)")


def load_analysis(path: str | Path) -> dict[str, Any]:
    """``DIR/analysis/index.json`` of an analysed run."""
    f = Path(path) / "analysis" / "index.json"
    if not f.is_file():
        raise ZoolensError(f"{path} has not been analysed (no {f})", f"run `zoolens analyze {path}` first")
    return json.loads(f.read_text())


def fmt_p(p: float) -> str:
    """A p-value for evidence text: two significant digits, ``n/a`` when undefined."""
    return "n/a" if p is None or not math.isfinite(p) else f"{p:.2g}"


__all__ = ["Analysis", "FigureRequest", "fmt_p", "load_analysis", "run_kind"]
