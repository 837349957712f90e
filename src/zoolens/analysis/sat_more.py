"""Two SAT analyses of ``zoolens analyze``: same misclassification (SAT paper App. G.2) and the
agreement of SAT under two attacks (App. B.1), with their findings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from zoolens.analysis import sat_findings, sat_misclass, sat_stats
from zoolens.analysis.result import Analysis, fmt_p
from zoolens.errors import ZoolensError


def analyze_same_misclassification(a: Analysis, sat: pd.DataFrame, imported: bool, seed: int) -> None:
    """Table, figure and finding ``sat.same_misclassification`` (App. G.2, Fig. G.1b)."""
    f = a.run / "transfer_images.parquet"
    if imported or not f.is_file():
        a.finding("sat.same_misclassification", *sat_misclass.verdict(
            None, "the run holds no per-image transfer outcomes (transfer_images.parquet), e.g. an import"))
        return
    try:
        pairs = sat_misclass.same_misclassification(a.transfer_images(), sat)
    except ZoolensError as e:  # an older run: say so in one line, never a KeyError
        a.notes.append(f"Same misclassification skipped: {e.problem} -- fix: {e.fix}.")
        a.finding("sat.same_misclassification", "not testable", f"{e.problem}; {e.fix}")
        return
    test = sat_misclass.mantel_spearman(pairs, seed=seed)
    a.summary["same_misclassification"] = test
    a.table("sat_same_misclassification", pairs, "Identical wrong labels per pair (App. G.2): x_A fools B into "
                                                 "A's own class, both directions, on X_AB")
    if len(pairs):
        a.plot("same_misclassification_figure", "SAT vs same misclassification (Fig. G.1b)",
               f"Each point is a model pair: images of X_AB whose adversarial fools both models into the same "
               f"class (both directions). Spearman ρ = {test['spearman_rho']:.2f}, one-sided Mantel p = "
               f"{fmt_p(test['mantel_p'])}.", pairs, test)
    a.finding("sat.same_misclassification", *sat_misclass.verdict(test))


def attack_difference(spec: dict, other: dict) -> list[str]:
    """What differs between two SAT runs' specs besides the attack's method and step settings."""
    keys = ("data", "n_images", "data_seed", "eps_s", "table_format")
    diff = [k for k in keys if spec.get(k) != other.get(k)]
    a, b = spec.get("attack") or {}, other.get("attack") or {}
    diff += [f"attack {k}" for k in ("eps", "precision") if a.get(k) != b.get(k)]
    if a.get("name") is None or a.get("name") == b.get("name"):
        diff.append("attack name is the same" if a.get("name") else "no attack recorded")
    return diff


def analyze_attack_agreement(a: Analysis, sat_full: pd.DataFrame, spec: dict, compare: Path | None,
                             other: pd.DataFrame | None, spec2: dict, seed: int) -> None:
    """Correlation of this run's SAT with ``compare``'s (App. B.1), bootstrap interval over models,
    and the finding ``sat.attack_robustness`` when the two runs differ only in the attack."""
    if compare is None or other is None:
        a.finding("sat.attack_robustness", "not testable", "pass --compare with a SAT run of the same models under "
                                                           "another attack")
        return
    ap, corr = sat_stats.attack_agreement(sat_full, other)
    boot = sat_stats.bootstrap_pearson_over_models(ap, seed=seed)
    corr = {**corr, **boot}
    a.table("attack_agreement", ap, f"SAT under this run's attack vs {compare}")
    a.summary["attack_agreement"] = corr
    n1 = (spec.get("attack") or {}).get("name", "this run")
    n2 = (spec2.get("attack") or {}).get("name", str(compare))
    a.plot("attack_agreement_figure", "Attack agreement (App. B.1)",
           f"Pearson r = {corr['pearson_r']:.2f} (95% bootstrap interval over models {corr['ci_low']:.2f} to "
           f"{corr['ci_high']:.2f}; p = {fmt_p(corr['pearson_p'])}), Spearman ρ = {corr['spearman_rho']:.2f} over "
           f"{corr['n']} pairs of {corr['n_models']} models.", ap, corr, str(n1), str(n2))
    a.finding("sat.attack_robustness", *sat_findings.attack_robustness(corr, attack_difference(spec, spec2),
                                                                       str(n1), str(n2)))


def rate_conventions_note(a: Analysis) -> None:
    """Whether the transfer table carries both success-rate conventions (docs/similarity.md)."""
    f = a.run / "transfer.parquet"
    if f.is_file() and "rate_all_images" not in pd.read_parquet(f).columns:
        a.notes.append("transfer.parquet has only the rate over X_AB (an older run); re-run `zoolens similarity` "
                       "into a new --out directory for the rate over all images as well.")


__all__ = ["analyze_attack_agreement", "analyze_same_misclassification", "attack_difference",
           "rate_conventions_note"]
