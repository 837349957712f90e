"""Analyses of criticality and SAT runs (pure numpy/pandas/scipy/sklearn functions + a thin runner).

Modules: :mod:`statistics` (correlations), :mod:`clustering` (spectral clustering,
eigengap), :mod:`embedding` (t-SNE, spectral-feature distances), :mod:`components`
(Hamming features, component importance, TF-IDF keywords), :mod:`ensembles` (ERR,
pair and cluster ensembles), :mod:`sat_stats` (within/across family, attack
agreement, uncertain pairs), :mod:`criticality_stats` (Figs. 1–5 of the criticality
paper), :mod:`findings` (headline findings), :mod:`run` (``zoolens analyze``).
"""

from zoolens.analysis.clustering import choose_k_eigengap, normalized_laplacian, spectral_clustering
from zoolens.analysis.ensembles import error_reduction_rate

__all__ = ["choose_k_eigengap", "error_reduction_rate", "normalized_laplacian", "spectral_clustering"]
