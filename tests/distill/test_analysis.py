"""The distill analysis: Pearson r and p equal scipy's on the table, verdicts follow the stated rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zoolens.analysis.distill_run import MIN_TEACHERS, RULES, correlations
from zoolens.analysis.findings import CLAIMS
from zoolens.analysis.result import run_kind
from zoolens.distill.experiment import TABLE_COLUMNS

IDS = ["sat.distill_all", "sat.distill_transformer", "sat.distill_non_transformer", "sat.distill_teacher_accuracy"]


def _table(n_tf: int, n_other: int, seed: int = 0, unknown: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_tf + n_other + unknown
    t = pd.DataFrame({c: [None] * n for c in TABLE_COLUMNS})
    t["teacher"] = [f"t{i}" for i in range(n)]
    t["transformer"] = pd.array([True] * n_tf + [False] * n_other + [pd.NA] * unknown, dtype="boolean")
    t["sat"] = rng.normal(2.0, 0.5, n)
    t["teacher_acc"] = rng.normal(88, 1.5, n)
    t["student_acc"] = rng.normal(80, 2, n)
    return t


def _analyse(tmp_path, table: pd.DataFrame):
    from zoolens.report import analyze

    run = tmp_path / "run"
    run.mkdir()
    table.to_parquet(run / "distill.parquet")
    table.to_csv(run / "distill.csv", index=False)
    assert run_kind(run) == "distill"
    a = analyze(run)
    return a, {f["id"]: f for f in json.loads((run / "analysis" / "findings.json").read_text())}


def test_the_claims_close_the_registry():
    assert list(CLAIMS)[-4:] == IDS
    assert [CLAIMS[i].paper for i in IDS] == [-0.32, 0.70, -0.51, 0.049]


def test_findings_use_scipys_pearson_on_the_table(tmp_path):
    table = _table(6, 8, unknown=1)
    a, found = _analyse(tmp_path, table)
    assert set(found) == set(IDS)
    tf = table["transformer"]
    groups = {"sat.distill_all": ("sat", table), "sat.distill_transformer": ("sat", table[tf.fillna(False)]),
              "sat.distill_non_transformer": ("sat", table[(~tf).fillna(False)]),
              "sat.distill_teacher_accuracy": ("teacher_acc", table)}
    for cid, (x, sub) in groups.items():
        r, p = stats.pearsonr(sub[x].astype(float), sub["student_acc"].astype(float))
        assert found[cid]["measured"] == pytest.approx(float(r), abs=1e-12), cid
        assert f"p = {p:.2g}" in found[cid]["evidence"] and "rule:" in found[cid]["evidence"]
    assert {f["file"] for f in a.figures} == {"distill_sat.png", "distill_teacher_accuracy.png"}
    assert (tmp_path / "run" / "analysis" / "distill_correlations.csv").is_file()
    assert any("unknown architecture" in n and "t14" in n for n in a.notes)


def _verdict(rule_id: str, r: float, p: float, n: int = 10) -> str:
    from zoolens.analysis.distill_run import verdict

    rule = next(x for x in RULES if x.claim == rule_id)
    corr = pd.DataFrame([{"x": rule.x, "group": rule.group, "n": n, "pearson_r": r, "pearson_p": p}])
    return verdict(rule, corr)[0]


@pytest.mark.parametrize("claim,r,p,want", [
    ("sat.distill_all", -0.3, 0.12, "reproduced"),
    ("sat.distill_all", -0.6, 0.01, "not reproduced"),  # the paper's is not significant
    ("sat.distill_all", 0.3, 0.3, "not reproduced"),  # wrong sign
    ("sat.distill_transformer", 0.7, 0.078, "reproduced"),
    ("sat.distill_transformer", 0.7, 0.2, "not reproduced"),
    ("sat.distill_transformer", -0.7, 0.01, "not reproduced"),
    ("sat.distill_non_transformer", -0.51, 0.03, "reproduced"),
    ("sat.distill_non_transformer", 0.51, 0.03, "not reproduced"),
    ("sat.distill_teacher_accuracy", 0.05, 0.82, "reproduced"),
    ("sat.distill_teacher_accuracy", 0.9, 0.001, "not reproduced"),
])
def test_verdict_rules(claim, r, p, want):
    assert _verdict(claim, r, p) == want


def test_small_groups_and_constant_values_are_not_testable():
    assert _verdict("sat.distill_transformer", 0.9, 0.01, n=MIN_TEACHERS - 1) == "not testable"
    table = _table(2, 8)
    table["student_acc"] = 80.0  # constant: r undefined
    corr = correlations(table)
    assert corr["pearson_r"].isna().all()
    assert corr[(corr["x"] == "sat") & (corr["group"] == "transformer")]["n"].tolist() == [2]
