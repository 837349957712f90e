"""Layer criticality (criticality paper, after Zhang et al. 2022): reset one layer at a time."""

from zoolens.criticality.run import criticality, summarize

__all__ = ["criticality", "summarize"]
