"""The papers' testable claims as data: one registry of claims, one shape of finding.

Every claim of either paper that zoolens can test has an id here (``crit.*`` for the
criticality paper, ``sat.*`` for the SAT paper). ``zoolens analyze`` evaluates the
claims that apply to a run and writes them to ``analysis/findings.json``; the report
opens with them as a scorecard. The same ids apply to the published data, the mini zoo
and a user's own runs. A claim a run cannot test is ``not testable``, never guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

VERDICTS = ("reproduced", "not reproduced", "not testable")


@dataclass(frozen=True)
class Claim:
    """A claim of one of the papers.

    ``paper`` is what the paper reports (a number, or a short phrase for a qualitative
    claim), ``None`` where the text we have lost the number.
    """

    id: str
    claim: str
    paper: Any
    source: str


_C = "criticality paper (seeds/000)"
_S = "SAT paper (seeds/004)"

CLAIMS: dict[str, Claim] = {c.id: c for c in [
    # ---- criticality paper, Sec. 3-4
    Claim("crit.stem_head_always_critical", "The stem convolution and the classification head are critical in every "
          "model.", "every model", f"{_C}, Sec. 4"),
    Claim("crit.stage_first_conv_critical", "The first convolution of each stage ([*.0] conv1) is critical in most "
          "models, with outliers increasing with depth.", "most models; outliers grow with depth", f"{_C}, Sec. 4"),
    Claim("crit.stage1_downsample_critical", "The stage-1 downsampling convolution ([1.0] downsample) is critical in "
          "every model.", "every model", f"{_C}, Sec. 4"),
    Claim("crit.pointwise_over_spatial", "Pointwise (1x1) convolutions are more critical than spatial (3x3) ones, "
          "stem excluded.", "pointwise > spatial", f"{_C}, Sec. 4"),
    Claim("crit.no_layer_always_auxiliary", "No layer is auxiliary in every model.", "no such layer",
          f"{_C}, Sec. 4"),
    Claim("crit.at_raises_criticality", "Adversarial training raises mean criticality relative to the baseline, in "
          "proportion to the budget.", "proportional to ε", f"{_C}, Sec. 4, Fig. 2"),
    Claim("crit.at_budget_spearman_l2", "Mean criticality rises with the L2 adversarial-training budget (Spearman ρ "
          "of budget vs mean criticality).", None, f"{_C}, Fig. 2"),
    Claim("crit.at_budget_spearman_linf", "Mean criticality rises with the L∞ adversarial-training budget (Spearman "
          "ρ of budget vs mean criticality).", None, f"{_C}, Fig. 2"),
    Claim("crit.pixmix_highest", "The PixMix models have the highest mean criticality of the zoo.",
          "highest", f"{_C}, Sec. 4"),
    Claim("crit.simclr_no_auxiliary", "SimCLRv2 has no auxiliary layer.", "0 auxiliary layers", f"{_C}, Sec. 4"),
    Claim("crit.ssl_auxiliary_deep", "DINO, MoCo v3 and SwAV have more auxiliary layers in stages 2-4 than the "
          "supervised models.", "many auxiliary layers in stages 2-4", f"{_C}, Sec. 4"),
    Claim("crit.augmentation_deepest_layers", "Every augmentation method raises the criticality of some of the "
          "deepest layers ([4.0] downsample, [4.1] conv2, [4.2] conv2/conv3) over the baseline.",
          "all augmentation models", f"{_C}, Sec. 4"),
    Claim("crit.improved_training_early_up_deep_down", "Improved training recipes raise the criticality of early "
          "layers (stages 1-2) and lower that of deep layers (stages 3-4) relative to the baseline.",
          "early up, deep down", f"{_C}, Sec. 4"),
    Claim("crit.accuracy_spearman_all", "Mean criticality and ImageNet accuracy correlate moderately over all "
          "models (Spearman ρ).", None, f"{_C}, Fig. 3"),
    Claim("crit.accuracy_spearman_without_at", "Without the adversarially trained models the correlation of mean "
          "criticality and accuracy is faint (Spearman ρ).", None, f"{_C}, Fig. 3"),
    # ---- SAT paper
    Claim("sat.table1_ari", "Spectral clustering of the SAT matrix (K = 10) recovers the paper's Table 1 clusters "
          "(adjusted Rand index).", 1.0, f"{_S}, Sec. 4.2, Table 1"),
    Claim("sat.base_architecture_most_important", "The base architecture is the most important component for SAT.",
          "rank 1", f"{_S}, Sec. 4.1, Fig. 3"),
    Claim("sat.stem_as_important_as_basic_components", "The stem layer matters as much as basic components "
          "(normalization, activation, attention).", "comparable", f"{_S}, Sec. 4.1, Fig. 3"),
    Claim("sat.dwconv_least_important", "Depthwise convolution is among the least important components.",
          "among the least", f"{_S}, Sec. 4.1, Fig. 3"),
    Claim("sat.mean_all_pairs", "The mean SAT over all pairs of the 69 models is 2.73 (Table 2, 'All').", 2.73,
          f"{_S}, Table 2"),
    Claim("sat.self_similarity_below_oracle", "A model's SAT with itself is close to ln 100 ≈ 4.6 (Fig. D.1); "
          "measured: the number of diagonal entries below ln 100.", "close to 4.6", f"{_S}, App. D, Fig. D.1"),
    Claim("sat.within_above_across", "Models of one architecture family are more similar (higher SAT) than models "
          "of different families.", "Table 2: Init/Hparam/Tr. Reg. > All", f"{_S}, Table 2"),
    Claim("sat.table2_order", "Within one architecture, models that differ only in seed or hyper-parameters are "
          "more similar than models trained with different regimes, and those more than the zoo's average pair "
          "(Init ≥ Hparam > Tr. Reg. > All, per family).", "ResNet-50 4.23 / 4.05 / 3.27, ViT-S 4.21 / 4.22 / 3.44, "
          "All 2.73", f"{_S}, Sec. 4.2, Table 2"),
    Claim("sat.err_vs_sat_negative", "More similar pairs make worse ensembles: SAT correlates negatively with the "
          "ensemble's error reduction rate.", -0.32, f"{_S}, Sec. 5.1, Fig. 6"),
    Claim("sat.training_curve", "SAT between a fully trained model and its earlier checkpoints rises fast and "
          "saturates near the final model's self-SAT (Table G.1: 2.84 at epoch 0, 4.46 at 20, 4.60 at 180 of 180); "
          "measured: SAT at the first saved epoch ≥ 1 as a fraction of the self-SAT.", 0.97,
          f"{_S}, App. G.3, Table G.1"),
    Claim("sat.err_rises_with_k", "Ensembles whose members span more SAT clusters reduce the error more.",
          "rises with k", f"{_S}, Sec. 5.1, Table 3"),
    Claim("sat.diverse_beats_random", "The most diverse ensemble (N members from k = N different SAT clusters) "
          "reduces the error more than N random members, at every N (ERR %).",
          "k=N vs rand: 7.84 vs 7.78 (N=2), 11.20 vs 11.11 (N=3), 13.00 vs 12.90 (N=4), 14.11 vs 14.01 (N=5)",
          f"{_S}, Sec. 5.1, Table 3"),
    Claim("sat.across_beats_within_training", "At equal N, ensembles of different architectures reduce the error "
          "more than ensembles of one architecture's training variants (different seeds, hyper-parameters, "
          "training regimes; adversarial training excluded).", "across architectures well above within (large gaps)",
          f"{_S}, Sec. 5.1, Fig. 8"),
    Claim("sat.same_misclassification", "SAT is highly correlated with the number of identical wrong labels the "
          "adversarial images of a pair cause (both models fooled into the same class).", "highly correlated",
          f"{_S}, App. G.2, Fig. G.1b"),
    Claim("sat.attack_robustness", "SAT measured with PGD correlates with SAT measured with another strong attack "
          "(AutoAttack: Pearson r = 0.98).", 0.98, f"{_S}, App. B.1, Fig. B.1a"),
    # ---- SAT vs other similarity measures (zoolens.analysis.measure_comparison_run)
    Claim("sat.only_sat_predicts_err", "Only SAT correlates strongly with ensemble diversity: its diversity "
          "(−similarity) predicts the 2-ensemble's error reduction rate, the other measures' do not.",
          "SAT strong positive; others near zero or slightly negative", f"{_S}, Sec. 5.1, Fig. 10"),
    Claim("sat.cheaper_than_somepalli", "SAT needs far fewer forward passes per pair than Somepalli et al. "
          "(ratio Somepalli / SAT).", 4.9, f"{_S}, App. A.1"),
    Claim("sat.best_cluster_ensembles", "Ensembles of models drawn from different SAT clusters reduce the error "
          "more than ensembles drawn across Somepalli et al.'s clusters or K-means clusters of architecture "
          "components (fraction of ensemble sizes SAT wins).", "SAT best at every size", f"{_S}, App. A.2, "
          "Tables A.2-A.3"),
    Claim("sat.more_stable_than_somepalli", "SAT varies less over disjoint samples than Somepalli et al. at a "
          "comparable cost (ratio of the stds, Somepalli / SAT).", "SAT far more stable", f"{_S}, App. A.1, "
          "Table A.1"),
    # ---- knowledge distillation (zoolens.analysis.distill_run; measured: Pearson r)
    Claim("sat.distill_all", "Over all teachers, teacher-student SAT shows a negative but not significant Pearson "
          "correlation with the hard-distilled student's accuracy (paper: r = -0.32, p = 0.12, 25 teachers).", -0.32,
          f"{_S}, Sec. 5.2, Fig. 11a"),
    Claim("sat.distill_transformer", "For Transformer teachers, a more similar teacher (higher SAT) gives a more "
          "accurate student: positive Pearson correlation (paper: r = 0.70, p = 0.078).", 0.70,
          f"{_S}, Sec. 5.2, Fig. 11b"),
    Claim("sat.distill_non_transformer", "For non-Transformer teachers, a more dissimilar teacher (lower SAT) gives "
          "a more accurate student: negative Pearson correlation (paper: r = -0.51, p = 0.030).", -0.51,
          f"{_S}, Sec. 5.2, Fig. 11c"),
    Claim("sat.distill_teacher_accuracy", "Teacher accuracy does not significantly correlate with the distilled "
          "student's accuracy (paper: Pearson r = 0.049, p = 0.82).", 0.049, f"{_S}, App. F.1, Fig. F.1"),
]}


def _clean(v: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def make_finding(claim_id: str, verdict: str, evidence: str, measured: Any = None) -> dict[str, Any]:
    """One scorecard entry: ``id, claim, paper, measured, verdict, evidence``.

    Parameters
    ----------
    claim_id:
        A key of :data:`CLAIMS`.
    verdict:
        One of :data:`VERDICTS`.
    evidence:
        A short string with the numbers and the thresholds behind the verdict.
    measured:
        The measured number where the claim has one (None otherwise).
    """
    if claim_id not in CLAIMS:
        raise KeyError(f"unknown claim id {claim_id!r}")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    c = CLAIMS[claim_id]
    return {"id": c.id, "claim": c.claim, "paper": _clean(c.paper), "measured": _clean(measured),
            "verdict": verdict, "evidence": evidence, "source": c.source}


def claim_order(claim_id: str) -> int:
    """Position of a claim in the registry (the scorecard's row order)."""
    ids = list(CLAIMS)
    return ids.index(claim_id) if claim_id in ids else len(ids)


__all__ = ["CLAIMS", "Claim", "VERDICTS", "claim_order", "make_finding"]
