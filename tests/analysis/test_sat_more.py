"""Same misclassification (SAT paper App. G.2) and attack agreement with a bootstrap over models
(App. B.1): pure functions against naive twins, then ``zoolens analyze`` on real tiny runs."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zoolens.analysis import sat_findings, sat_misclass, sat_stats
from zoolens.cli import main
from zoolens.errors import ZoolensError


def _images(rng, models, n=40):
    rows = []
    for s, t in itertools.product(models, models):
        for i in range(n):
            sp = int(rng.integers(0, 4))
            ap = sp if s == t else int(rng.integers(0, 4))
            rows.append({"source": s, "target": t, "image": i, "both_correct": bool(i % 5), "fooled": ap != 0,
                         "adv_pred": ap, "source_pred": sp})
    df = pd.DataFrame(rows)
    diag = df[df.source == df.target].set_index(["source", "image"]).adv_pred
    df["source_pred"] = [diag[(r.source, r.image)] for r in df.itertuples()]  # consistent with the diagonal
    return df


def test_same_misclassification_counts_match_a_loop():
    models = ["a", "b", "c", "d"]
    img = _images(np.random.default_rng(0), models)
    sat = pd.DataFrame(np.arange(16.0).reshape(4, 4), index=models, columns=models)
    out = sat_misclass.same_misclassification(img, sat)
    assert len(out) == 6
    for r in out.itertuples():
        n = {}
        for s, t in ((r.model_a, r.model_b), (r.model_b, r.model_a)):
            g = img[(img.source == s) & (img.target == t) & img.both_correct]
            n[(s, t)] = sum(1 for x in g.itertuples() if x.adv_pred != 0 and x.adv_pred == x.source_pred)
        assert (r.same_ab, r.same_ba) == (n[(r.model_a, r.model_b)], n[(r.model_b, r.model_a)])
        assert r.fraction == pytest.approx(r.n_same / (2 * r.n_both_correct)) and r.n_both_correct == 32
        assert r.sat == sat.loc[r.model_a, r.model_b]


def test_an_older_transfer_images_table_is_named_not_a_key_error():
    old = pd.DataFrame({"source": ["a"], "target": ["b"], "image": [0], "fooled": [True]})
    with pytest.raises(ZoolensError, match="both_correct, adv_pred, source_pred.*re-run `zoolens similarity`"):
        sat_misclass.same_misclassification(old, pd.DataFrame())


def test_mantel_spearman_enumerates_relabellings():
    models = list("abcde")
    pairs = pd.DataFrame([{"model_a": a, "model_b": b, "sat": i, "n_same": 2 * i + 1}
                          for i, (a, b) in enumerate(itertools.combinations(models, 2))])
    test = sat_misclass.mantel_spearman(pairs)
    assert test["spearman_rho"] == pytest.approx(1.0) and test["n_permutations"] == 120
    assert test["mantel_p"] == pytest.approx(1 / 120)  # only the identity reaches ρ = 1 here
    assert sat_misclass.verdict(test)[0] == "reproduced"
    pairs["n_same"] = pairs["n_same"].to_numpy()[::-1]
    assert sat_misclass.verdict(sat_misclass.mantel_spearman(pairs))[0] == "not reproduced"
    assert sat_misclass.verdict(sat_misclass.mantel_spearman(pairs.head(2)))[0] == "not testable"


def test_bootstrap_over_models_is_seeded_and_brackets_r():
    rng = np.random.default_rng(1)
    models = [f"m{i}" for i in range(7)]
    rows = []
    for a, b in itertools.combinations(models, 2):
        v = rng.normal()
        rows.append({"model_a": a, "model_b": b, "sat_a": v, "sat_b": v + rng.normal(0, 0.5)})
    pairs = pd.DataFrame(rows)
    one = sat_stats.bootstrap_pearson_over_models(pairs, n_resamples=300, seed=4)
    assert one == sat_stats.bootstrap_pearson_over_models(pairs, n_resamples=300, seed=4)
    r = stats.pearsonr(pairs.sat_a, pairs.sat_b).statistic
    assert one["ci_low"] < r < one["ci_high"] and one["n_models"] == 7 and 0 < one["n_used"] <= 300
    few = sat_stats.bootstrap_pearson_over_models(pairs[(pairs.model_a == "m0") & (pairs.model_b == "m1")])
    assert np.isnan(few["ci_low"])


def test_attack_robustness_needs_runs_that_differ_only_in_the_attack():
    corr = {"n": 10, "n_models": 5, "pearson_r": 0.95, "pearson_p": 1e-5, "ci_low": 0.8, "ci_high": 0.99}
    assert sat_findings.attack_robustness(corr, [], "pgd", "apgd")[0] == "reproduced"
    assert sat_findings.attack_robustness({**corr, "pearson_r": 0.6}, [], "pgd", "apgd")[0] == "not reproduced"
    v, ev, _ = sat_findings.attack_robustness(corr, ["n_images"], "pgd", "apgd")
    assert v == "not testable" and "n_images" in ev
    from zoolens.analysis.sat_more import attack_difference

    spec = {"data": "digits", "n_images": 100, "data_seed": 0, "eps_s": 0.01, "table_format": 2,
            "attack": {"name": "pgd", "eps": 0.03, "precision": "uint8", "steps": 10}}
    assert attack_difference(spec, {**spec, "attack": {**spec["attack"], "name": "apgd", "steps": 5}}) == []
    assert attack_difference(spec, spec) == ["attack name is the same"]


@pytest.mark.slow
def test_analyze_reports_same_misclassification_and_attack_agreement(tmp_path):
    from zoolens.similarity import run_sat

    models = [f"py:tests.factories:{m}" for m in ("digits_linear", "digits_features", "digits_features2")]
    kw = dict(data="digits", n_images=120, batch_size=64, n_resamples=20, eps=8 / 255, steps=5)
    run_sat(models, attack="pgd", out=tmp_path / "pgd", **kw)
    run_sat(models, attack="apgd", out=tmp_path / "apgd", **kw)
    assert main(["analyze", str(tmp_path / "pgd"), "--no-ensembles", "--no-figures", "--compare",
                 str(tmp_path / "apgd")]) == 0
    found = {f["id"]: f for f in json.loads((tmp_path / "pgd" / "analysis" / "findings.json").read_text())}
    robust = found["sat.attack_robustness"]
    assert robust["verdict"] in ("reproduced", "not reproduced") and "bootstrap interval over models" in robust["evidence"]
    assert "apgd" in robust["evidence"]
    same = pd.read_csv(tmp_path / "pgd" / "analysis" / "sat_same_misclassification.csv")
    assert len(same) == 3 and found["sat.same_misclassification"]["id"] == "sat.same_misclassification"
    # an older run: the per-image table without the predictions gives a one-line note, not a KeyError
    f = tmp_path / "pgd" / "transfer_images.parquet"
    old = pd.read_parquet(f)
    old[old["both_correct"]][["source", "target", "image", "fooled"]].to_parquet(f)  # format 1: X_AB rows only
    assert main(["analyze", str(tmp_path / "pgd"), "--no-ensembles", "--no-figures"]) == 0
    found = {f["id"]: f for f in json.loads((tmp_path / "pgd" / "analysis" / "findings.json").read_text())}
    assert found["sat.same_misclassification"]["verdict"] == "not testable"
    assert "re-run `zoolens similarity`" in found["sat.same_misclassification"]["evidence"]
