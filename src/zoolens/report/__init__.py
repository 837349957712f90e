"""Figures (matplotlib, Agg), the analyses' files (:func:`analyze`) and the self-contained HTML report
(``zoolens report``)."""

from zoolens.report.analyze_run import analyze
from zoolens.report.html import build_report

__all__ = ["analyze", "build_report"]
