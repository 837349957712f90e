"""``zoolens analyze`` of a distill run: SAT and teacher accuracy against the students' accuracy
(SAT paper Sec. 5.2 Fig. 11a-c, App. F.1 Fig. F.1; ``docs/distillation.md``).

Reads ``distill.parquet`` (one row per teacher) and writes ``analysis/distill_correlations.csv``:
Pearson r and its two-sided p-value (``scipy.stats.pearsonr``) of SAT(teacher, baseline) against
the student's test accuracy over all teachers, the Transformer teachers and the others, and of
the teacher's accuracy against the student's over all teachers.

The verdict rules were fixed before any full run and are quoted in each finding's evidence:

* ``sat.distill_all`` (paper r = -0.32, p = 0.12): reproduced when r < 0 and p ≥ 0.05 — a negative
  tendency that is not significant, as the paper's.
* ``sat.distill_transformer`` (paper r = 0.70, p = 0.078): reproduced when r > 0 and p < 0.1.
* ``sat.distill_non_transformer`` (paper r = -0.51, p = 0.030): reproduced when r < 0 and p < 0.1.
* ``sat.distill_teacher_accuracy`` (paper r = 0.049, p = 0.82): reproduced when p ≥ 0.05.
* Any of them is ``not testable`` with fewer than :data:`MIN_TEACHERS` teachers in its group (with a
  SAT and both accuracies), or when a variable is constant over the group (r undefined).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from zoolens.analysis.result import Analysis, fmt_p

#: Fewest teachers in a group for a correlation to be scored.
MIN_TEACHERS = 4


@dataclass(frozen=True)
class Rule:
    """One claim's test: Pearson r of ``x`` vs student accuracy over ``group``; the verdict rule."""

    claim: str
    x: str
    group: str
    sign: int  # required sign of r (0: any)
    significant: bool  # True: p < alpha is required; False: p ≥ alpha is required
    alpha: float
    text: str


RULES = (
    Rule("sat.distill_all", "sat", "all", -1, False, 0.05,
         "reproduced when r < 0 and p ≥ 0.05 (paper: r = -0.32, p = 0.12, not significant)"),
    Rule("sat.distill_transformer", "sat", "transformer", 1, True, 0.1,
         "reproduced when r > 0 and p < 0.1 (paper: r = 0.70, p = 0.078)"),
    Rule("sat.distill_non_transformer", "sat", "non_transformer", -1, True, 0.1,
         "reproduced when r < 0 and p < 0.1 (paper: r = -0.51, p = 0.030)"),
    Rule("sat.distill_teacher_accuracy", "teacher_acc", "all", 0, False, 0.05,
         "reproduced when p ≥ 0.05 (paper: r = 0.049, p = 0.82)"),
)
GROUPS = ("all", "transformer", "non_transformer")


def group_rows(table: pd.DataFrame, group: str) -> pd.DataFrame:
    """The teachers of ``group``: ``all``, ``transformer`` or ``non_transformer`` (unknown ones only in ``all``)."""
    if group == "all":
        return table
    flag = table["transformer"].astype("boolean")
    return table[(flag == (group == "transformer")).fillna(False).astype(bool)]


def pearson(x: pd.Series, y: pd.Series) -> tuple[float, float, int]:
    """Pearson r, its two-sided p-value and n over the rows where both are finite (NaN r below 2 rows or
    with a constant variable)."""
    xv, yv = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(xv) & np.isfinite(yv)
    xv, yv = xv[ok], yv[ok]
    n = int(ok.sum())
    if n < 3 or np.ptp(xv) == 0 or np.ptp(yv) == 0:
        return math.nan, math.nan, n
    res = stats.pearsonr(xv, yv)
    return float(res.statistic), float(res.pvalue), n


def correlations(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (x, group): ``x, group, n, pearson_r, pearson_p`` — SAT in every group, teacher accuracy
    over all teachers (Fig. 11a-c, Fig. F.1)."""
    rows = []
    for x, groups in (("sat", GROUPS), ("teacher_acc", ("all",))):
        for g in groups:
            sub = group_rows(table, g)
            r, p, n = pearson(sub[x], sub["student_acc"])
            rows.append({"x": x, "group": g, "n": n, "pearson_r": r, "pearson_p": p})
    return pd.DataFrame(rows, columns=["x", "group", "n", "pearson_r", "pearson_p"])


def verdict(rule: Rule, corr: pd.DataFrame) -> tuple[str, str, float | None]:
    """``(verdict, evidence, measured r)`` of one rule on the correlation table."""
    row = corr[(corr["x"] == rule.x) & (corr["group"] == rule.group)].iloc[0]
    r, p, n = float(row["pearson_r"]), float(row["pearson_p"]), int(row["n"])
    what = f"{rule.x.replace('_acc', ' accuracy').replace('sat', 'SAT')} vs student accuracy, {rule.group} teachers"
    if n < MIN_TEACHERS or not math.isfinite(r):
        why = f"{n} teacher(s)" + (f" (needs {MIN_TEACHERS})" if n < MIN_TEACHERS else ", a constant variable")
        return "not testable", f"{what}: {why}; rule: {rule.text}", None
    sign_ok = rule.sign == 0 or np.sign(r) == rule.sign
    p_ok = (p < rule.alpha) if rule.significant else (p >= rule.alpha)
    v = "reproduced" if sign_ok and p_ok else "not reproduced"
    return v, f"{what}: Pearson r = {r:.2f}, p = {fmt_p(p)}, n = {n}; rule: {rule.text}", r


def analyze_distill(a: Analysis) -> None:
    """Tables, figure requests and findings of the distill run in ``a.run``."""
    table = pd.read_parquet(a.run / "distill.parquet")
    corr = correlations(table)
    a.table("distill_correlations", corr, "Pearson r (two-sided p) of SAT(teacher, baseline) and of teacher accuracy "
            "with the hard-distilled student's accuracy, by teacher group (Fig. 11a-c, Fig. F.1)")
    a.summary["distill"] = {"teachers": table["teacher"].tolist(),
                            "transformer": int(group_rows(table, "transformer").shape[0]),
                            "non_transformer": int(group_rows(table, "non_transformer").shape[0])}
    unknown = table.loc[table["transformer"].isna(), "teacher"].tolist()
    if unknown:
        a.notes.append(f"Teachers of unknown architecture (only in the 'all' group): {', '.join(unknown)}.")
    a.plot("distill_sat_figure", "Teacher-student SAT vs distilled accuracy (Fig. 11a-c)",
           "Each point is one teacher: SAT with the student architecture's baseline model (bootstrap interval) "
           "against the test accuracy of the ViT student hard-distilled from it; all teachers, Transformer "
           "teachers, the others.", table, corr)
    a.plot("distill_teacher_accuracy_figure", "Teacher accuracy vs distilled accuracy (Fig. F.1)",
           "Each point is one teacher: its test accuracy against its student's.", table, corr)
    for rule in RULES:
        v, evidence, r = verdict(rule, corr)
        a.finding(rule.claim, v, evidence, r)


__all__ = ["GROUPS", "MIN_TEACHERS", "RULES", "Rule", "analyze_distill", "correlations", "group_rows", "pearson",
           "verdict"]
