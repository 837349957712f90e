"""Figures (matplotlib, Agg) and the self-contained HTML report (``zoolens report``)."""

from zoolens.report.html import build_report

__all__ = ["build_report"]
