"""Orchestration of the rest of the SAT paper's Sec. 5.1 for ``zoolens analyze``: ensemble error
and all-wrong counts by cluster diversity (Fig. 7a, 7c), the most diverse ensemble against random
members (Table 3), and training variants against different architectures (Fig. 8)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from zoolens.analysis import ensemble_findings
from zoolens.analysis import ensembles as ens
from zoolens.analysis import family_ensembles as fe
from zoolens.analysis.result import Analysis

#: The claims :func:`analyze_ensemble_diversity` decides.
CLAIM_IDS = ("sat.diverse_beats_random", "sat.across_beats_within_training")


def not_testable(a: Analysis, reason: str) -> None:
    """Record every claim of :data:`CLAIM_IDS` as not testable, with ``reason``."""
    for cid in CLAIM_IDS:
        a.finding(cid, "not testable", reason)


def analyze_ensemble_diversity(a: Analysis, subsets: pd.DataFrame, t3: pd.DataFrame,
                               logits: Mapping[str, np.ndarray], labels: np.ndarray, meta: pd.DataFrame,
                               sizes: Sequence[int], *, seed: int) -> None:
    """Tables, figures and findings of Fig. 7a/7c, Table 3's k = N vs rand, and Fig. 8.

    Parameters
    ----------
    subsets, t3:
        :func:`~zoolens.analysis.ensembles.cluster_ensembles` and its
        :func:`~zoolens.analysis.ensembles.cluster_ensemble_table`.
    logits, labels:
        The clean logits (model → (n_images, C)) and labels the ensembles use.
    meta:
        Index = model names, columns ``family`` and ``category``.
    """
    metrics = ens.cluster_ensemble_metrics(subsets)
    a.table("ensemble_clusters_error", metrics, "Mean ERR (%), ensemble top-1 error (%) and images all members get "
                                                "wrong, of N-ensembles from k clusters vs random (Fig. 7a-c)")
    if len(metrics):
        a.plot("cluster_ensemble_error_figure", "Ensemble error and all-wrong images by cluster diversity (Fig. 7a, 7c)",
               "Mean over the N-subsets of models spanning k clusters; dotted: mean over all subsets (random "
               "members).", metrics)
    a.finding("sat.diverse_beats_random", *ensemble_findings.diverse_beats_random(t3))
    fam = fe.family_ensembles(logits, labels, meta, sizes, seed=seed)
    table = fe.family_ensemble_table(fam)
    a.table("ensemble_families", table, "Ensembles of one family's training variants (pooled, and per Table 2 "
                                        "setting: Init, Hparam, Tr. Reg.) vs across families (Fig. 8); "
                                        "adversarially trained members reported apart")
    if len(table):
        a.plot("family_ensemble_figure", "Training settings vs architectures (Fig. 8)",
               "Colour by group: N-subsets of one family's Init (red), Hparam (green) and Tr. Reg. (blue) setting "
               "(Table 2; baseline in each), all its training variants pooled (grey; adversarial training excluded), "
               "subsets with an adversarially trained member (purple); line style by family; yellow: N members "
               "from N different families.", table)
    a.finding("sat.across_beats_within_training", *ensemble_findings.across_beats_within_training(table))


__all__ = ["CLAIM_IDS", "analyze_ensemble_diversity", "not_testable"]
