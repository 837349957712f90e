"""Fixed rules for the SAT paper's claims about the other similarity measures (Fig. 10, App. A.1, Table A.1).

Each rule returns ``(verdict, evidence, measured)`` for :meth:`zoolens.analysis.result.Analysis.finding`.
The thresholds are fixed here, before any result was looked at, and documented in
``docs/measures.md`` ("Comparing the measures").
"""

from __future__ import annotations

import math

import pandas as pd

from zoolens.analysis.result import fmt_p

#: ``sat.only_sat_predicts_err``: SAT's diversity–ERR Spearman ρ must reach this with Mantel p < :data:`ALPHA` …
STRONG_RHO = 0.5
#: … and no other measure may reach |ρ| ≥ :data:`STRONG_RHO` with p < ALPHA.
ALPHA = 0.05


def _ok(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def only_sat_predicts_err(err: pd.DataFrame | None) -> tuple[str, str, float | None]:
    """Fig. 10: SAT alone correlates strongly with the 2-ensemble's error reduction rate.

    Rule: SAT's Spearman ρ(diversity, ERR) ≥ 0.5 with Mantel p < 0.05, and for every other
    measure |ρ| < 0.5 or p ≥ 0.05. Needs SAT and at least one other measure.
    """
    if err is None or "sat" not in set(err["measure"]) or len(err) < 2:
        return "not testable", "needs pair ensemble ERR and at least one measure besides SAT", None
    e = err.set_index("measure")
    sat_rho, sat_p = float(e.loc["sat", "rho_diversity_err"]), float(e.loc["sat", "mantel_p"])
    if not (_ok(sat_rho) and _ok(sat_p)):
        return "not testable", f"SAT's correlation with ERR is undefined ({int(e.loc['sat', 'n_pairs'])} pairs)", None
    sat_strong = sat_rho >= STRONG_RHO and sat_p < ALPHA
    strong_others = [m for m in e.index if m != "sat" and _ok(e.loc[m, "rho_diversity_err"]) and _ok(e.loc[m, "mantel_p"])
                     and abs(e.loc[m, "rho_diversity_err"]) >= STRONG_RHO and e.loc[m, "mantel_p"] < ALPHA]
    parts = [f"{m} ρ = {e.loc[m, 'rho_diversity_err']:.2f} (p = {fmt_p(e.loc[m, 'mantel_p'])})" for m in e.index]
    verdict = "reproduced" if sat_strong and not strong_others else "not reproduced"
    why = "" if verdict == "reproduced" else (
        "; SAT is not strong" if not sat_strong else "") + (
        f"; strong as well: {', '.join(strong_others)}" if strong_others else "")
    return (verdict, f"Spearman ρ of diversity (−similarity) with pair ERR, Mantel p over "
                     f"{int(e.loc['sat', 'n_models'])} models / {int(e.loc['sat', 'n_pairs'])} pairs: "
                     + "; ".join(parts) + why + f"; rule: SAT ρ ≥ {STRONG_RHO} with p < {ALPHA}, every other "
                     f"measure |ρ| < {STRONG_RHO} or p ≥ {ALPHA}", sat_rho)


def cheaper_than_somepalli(costs: pd.DataFrame | None) -> tuple[str, str, float | None]:
    """App. A.1: SAT needs fewer forward passes per pair than Somepalli et al. (paper: 4.9× fewer).

    Rule: SAT's forward passes per pair < Somepalli's, at the settings the runs used; measured:
    the ratio Somepalli / SAT.
    """
    if costs is None or not {"sat", "somepalli"} <= set(costs["measure"]):
        return "not testable", "needs a SAT run and a measures run with somepalli", None
    c = costs.set_index("measure")
    sat, som = int(c.loc["sat", "per_pair"]), int(c.loc["somepalli", "per_pair"])
    ratio = som / sat
    return ("reproduced" if sat < som else "not reproduced",
            f"forward passes per pair (App. A.1 accounting): SAT {sat:,} ({c.loc['sat', 'setting']}) vs Somepalli "
            f"{som:,} ({c.loc['somepalli', 'setting']}), ratio {ratio:.2f}; per zoo of {int(c.loc['sat', 'n_models'])} "
            f"models with reuse: SAT {int(c.loc['sat', 'zoo_total']):,} vs Somepalli "
            f"{int(c.loc['somepalli', 'zoo_total']):,}; paper: 2,500,000 / 510,000 = 4.9; rule: SAT < Somepalli",
            ratio)


def more_stable_than_somepalli(stab: pd.DataFrame | None) -> tuple[str, str, float | None]:
    """Table A.1: SAT varies less over disjoint samples than Somepalli et al. at no higher cost.

    Rule: over the compared pairs, the median std of SAT's percentage over disjoint image groups is
    below the median std of Somepalli's percentage over disjoint triplet groups; measured: the ratio
    of the medians (Somepalli / SAT). Only a comparison at which SAT's cost per group is ≤ Somepalli's
    is a test (otherwise ``not testable``: more passes would favour SAT).
    """
    if stab is None or stab.empty:
        return "not testable", "needs per-image SAT outcomes and per-triplet Somepalli predictions of ≥ 2 groups", None
    s_sat, s_som = float(stab["sat_std"].median()), float(stab["somepalli_std"].median())
    c_sat, c_som = int(stab["sat_cost_per_group"].iloc[0]), int(stab["somepalli_cost_per_group"].iloc[0])
    if not (_ok(s_sat) and _ok(s_som)):
        return "not testable", "the group standard deviations are undefined", None
    ratio = s_som / s_sat if s_sat > 0 else math.inf
    if c_sat > c_som:
        return ("not testable", f"SAT's groups cost more forward passes ({c_sat:,}) than Somepalli's ({c_som:,}): "
                f"median stds SAT {s_sat:.2f} pp vs Somepalli {s_som:.2f} pp are not compared at equal cost; "
                "more triplets (or fewer SAT images) make it a test", None)
    return ("reproduced" if s_sat < s_som else "not reproduced",
            f"median over {len(stab)} pairs of the std over {int(stab['groups'].iloc[0])} disjoint groups: SAT "
            f"{s_sat:.2f} pp (groups of {int(stab['sat_group_size'].iloc[0])} images, {c_sat:,} passes each) vs "
            f"Somepalli {s_som:.2f} pp (groups of {int(stab['somepalli_group_size'].iloc[0])} triplets, {c_som:,} "
            "passes each); rule: SAT std < Somepalli std (tested where SAT's cost per group ≤ Somepalli's)",
            ratio if math.isfinite(ratio) else None)


def best_cluster_ensembles(cells: pd.DataFrame | None) -> tuple[str, str, float | None]:
    """App. A.2 (Tables A.2-A.3): ensembles across SAT's clusters beat those across the other clusterings'.

    Rule: for every ensemble size N at which SAT and at least one other clustering have a
    most-diverse cell (N models from the largest number of clusters they can span), SAT's mean
    ERR there is ≥ every other clustering's at the same N (ties count for SAT). Measured: the
    fraction of sizes N that SAT wins.
    """
    if cells is None or cells.empty or "sat" not in set(cells["clustering"]) or cells["clustering"].nunique() < 2:
        return "not testable", "needs the ensembles' logits and SAT's clusters beside at least one other clustering", None
    top = cells[cells["most_diverse"]]
    wins, tested, parts = 0, 0, []
    for n, grp in top.groupby("n_models"):
        g = grp.set_index("clustering")
        if "sat" not in g.index or len(g) < 2:
            continue
        tested += 1
        best_other = g.drop(index="sat")["err_rate"].max()
        wins += int(g.loc["sat", "err_rate"] >= best_other)
        parts.append(f"N={int(n)}: " + ", ".join(f"{c} {v:.2f}% (k={int(g.loc[c, 'k_clusters'])})"
                                                 for c, v in g["err_rate"].items()))
    if tested == 0:
        return "not testable", "no ensemble size has a most-diverse cell for SAT and another clustering", None
    return ("reproduced" if wins == tested else "not reproduced",
            f"mean ERR of N-ensembles spanning the most clusters, per clustering: " + "; ".join(parts)
            + f"; SAT highest at {wins}/{tested} sizes; rule: at every N, SAT ≥ the others", wins / tested)


__all__ = ["ALPHA", "STRONG_RHO", "best_cluster_ensembles", "cheaper_than_somepalli", "more_stable_than_somepalli", "only_sat_predicts_err"]
