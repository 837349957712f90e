"""SAT against the other similarity measures (#16 item 3): pure functions, rules, and `zoolens analyze` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zoolens.analysis import measure_comparison as mc
from zoolens.analysis import measure_findings as mf
from zoolens.analysis.mantel import mantel
from zoolens.analysis.measure_stability import group_values, stability_table
from zoolens.analysis.statistics import upper_triangle

NAMES = [f"m{i}" for i in range(6)]


def _sym(rng, n=6):
    v = rng.normal(size=(n, n))
    v = (v + v.T) / 2
    np.fill_diagonal(v, np.nan)
    return pd.DataFrame(v, index=NAMES[:n], columns=NAMES[:n])


def _long(mat: pd.DataFrame, col: str) -> pd.DataFrame:
    i, j = np.triu_indices(len(mat), 1)
    return pd.DataFrame({"model_a": mat.index[i], "model_b": mat.index[j], col: mat.to_numpy()[i, j]})


def test_pair_matrix_round_trips_a_per_pair_table():
    m = _sym(np.random.default_rng(0))
    back = mc.pair_matrix(_long(m, "cka"), NAMES, "cka")
    np.testing.assert_allclose(back.to_numpy(), m.to_numpy())


def test_correlation_matrix_is_scipy_spearman_with_mantel_p():
    rng = np.random.default_rng(1)
    mats = {"sat": _sym(rng), "cka": _sym(rng), "disagreement": _sym(rng)}
    mats = {k: mc.oriented(k, v) for k, v in mats.items()}
    rho, long = mc.correlation_matrix(mats, permutations=99)
    for _, r in long.iterrows():
        a, b = mats[r.measure_a].to_numpy(), mats[r.measure_b].to_numpy()
        assert r.rho == pytest.approx(stats.spearmanr(upper_triangle(a), upper_triangle(b))[0])
        assert rho.loc[r.measure_b, r.measure_a] == pytest.approx(r.rho)
        m = mantel(a, b, method="spearman", permutations=99, seed=0)
        assert (r.mantel_p, r.exact, r.n_pairs) == (m.p, True, 15)  # 6 models: exact over 720 permutations
    assert np.allclose(np.diag(rho.to_numpy()), 1)


def test_distances_are_negated_and_sat_symmetrised():
    m = _sym(np.random.default_rng(2))
    assert mc.oriented("disagreement", m).equals(-m) and mc.oriented("cka", m).equals(m)
    one_sided = pd.DataFrame([[4.6, 2.0, np.nan], [3.0, 4.6, 1.0], [np.nan, np.nan, 4.6]], index=list("abc"),
                             columns=list("abc"))
    s = mc.symmetric_sat(one_sided).to_numpy()
    assert s[0, 1] == s[1, 0] == 2.5 and s[1, 2] == s[2, 1] == 1.0 and np.isnan(s[0, 2]) and np.isnan(s[0, 0])


def test_ari_of_sat_with_itself_is_one_and_planted_blocks_agree():
    rng = np.random.default_rng(3)
    block = np.array([0, 0, 0, 1, 1, 1])
    sat = pd.DataFrame(np.where(block[:, None] == block[None], 4.0, 1.0) + rng.uniform(0, .1, (6, 6)),
                       index=NAMES, columns=NAMES)
    dis = pd.DataFrame(np.where(block[:, None] == block[None], 0.05, 0.6), index=NAMES, columns=NAMES)
    tram = pd.DataFrame(np.where(block[:, None] == block[None], 0.1, 2.0), index=NAMES, columns=NAMES)
    noise = pd.DataFrame(rng.uniform(0, 1, (6, 6)), index=NAMES, columns=NAMES)
    ari, labels = mc.measure_clusters({"sat": sat, "disagreement": dis, "tramer_random": tram, "cka": noise}, 2)
    a = ari.set_index("measure")["ari_vs_sat"]
    assert a["sat"] == 1.0 and a["disagreement"] == 1.0 and a["tramer_random"] == 1.0
    assert list(labels.columns) == ["sat", "disagreement", "tramer_random", "cka"]


def test_err_correlation_uses_diversity():
    rng = np.random.default_rng(4)
    sat = _sym(rng)
    err = -sat + 0.01 * _sym(rng)  # more similar → less ensemble gain
    t = mc.err_correlations({"sat": sat, "disagreement": mc.oriented("disagreement", -sat)}, err, permutations=99)
    assert (t["rho_diversity_err"] > 0.9).all()
    assert t.iloc[0]["mantel_p"] == mantel(-sat.to_numpy(), err.to_numpy(), permutations=99).p


def test_forward_passes_follow_app_a1():
    sat_spec = {"n_images": 5000, "attack": {"name": "pgd", "steps": 50}}
    m_spec = {"n_images": 5000, "somepalli": {"triplets": 500, "grid": 50}}
    c = mc.forward_passes(["sat", "somepalli", "cka"], sat_spec, m_spec, 3).set_index("measure")
    assert c.loc["sat", "per_pair"] == 510_000 and c.loc["somepalli", "per_pair"] == 2_500_000
    assert c.loc["cka", "per_pair"] == 10_000
    assert c.loc["sat", "zoo_total"] == 3 * 5000 * 51 + 6 * 5000
    verdict, evidence, ratio = mf.cheaper_than_somepalli(c.reset_index())
    assert verdict == "reproduced" and ratio == pytest.approx(4.9, abs=0.01)
    m_spec["somepalli"] = {"triplets": 1, "grid": 10}
    assert mf.cheaper_than_somepalli(mc.forward_passes(["sat", "somepalli"], sat_spec, m_spec, 3))[0] == \
        "not reproduced"
    assert mf.cheaper_than_somepalli(c.reset_index().iloc[[0, 2]])[0] == "not testable"


def _err_table(sat_rho, sat_p, others):
    rows = [{"measure": "sat", "rho_diversity_err": sat_rho, "mantel_p": sat_p, "n_pairs": 15, "n_models": 6}]
    rows += [{"measure": m, "rho_diversity_err": r, "mantel_p": p, "n_pairs": 15, "n_models": 6} for m, r, p in others]
    return pd.DataFrame(rows)


def test_only_sat_predicts_err_rule():
    assert mf.only_sat_predicts_err(_err_table(0.7, 0.01, [("cka", 0.1, 0.6), ("somepalli", -0.6, 0.2)]))[0] == \
        "reproduced"
    assert mf.only_sat_predicts_err(_err_table(0.7, 0.01, [("disagreement", 0.8, 0.01)]))[0] == "not reproduced"
    assert mf.only_sat_predicts_err(_err_table(0.4, 0.01, [("cka", 0.1, 0.6)]))[0] == "not reproduced"
    assert mf.only_sat_predicts_err(_err_table(0.7, 0.2, [("cka", 0.1, 0.6)]))[0] == "not reproduced"
    assert mf.only_sat_predicts_err(None)[0] == "not testable"
    assert mf.only_sat_predicts_err(_err_table(np.nan, np.nan, [("cka", 0.1, 0.6)]))[0] == "not testable"


def test_stability_groups_and_rule():
    assert len(group_values(np.arange(11.0), 5)) == 5 and len(group_values(np.arange(3.0), 5)) == 0
    assert sorted(np.arange(10.0)[np.argsort(group_values(np.arange(10.0), 10))]) == list(range(10))
    rng = np.random.default_rng(5)
    ti = pd.concat([pd.DataFrame({"source": s, "target": t, "image": np.arange(100), "fooled": rng.random(100) < .5})
                    for s, t in (("a", "b"), ("b", "a"))])
    planes = {"a": rng.integers(0, 3, (10, 16)), "b": rng.integers(0, 3, (10, 16))}
    st = stability_table(ti, planes, [("a", "b")], groups=5, steps=2, grid=4)
    r = st.iloc[0]
    assert (r.sat_group_size, r.somepalli_group_size, r.sat_cost_per_group, r.somepalli_cost_per_group) == \
        (20, 2, 120, 64)
    assert mf.more_stable_than_somepalli(st)[0] == "not testable"  # SAT's groups cost more here
    ok = st.assign(sat_cost_per_group=10, sat_std=1.0, somepalli_std=5.0)
    assert mf.more_stable_than_somepalli(ok)[0] == "reproduced"
    assert mf.more_stable_than_somepalli(ok.assign(sat_std=6.0))[0] == "not reproduced"
    assert mf.more_stable_than_somepalli(None)[0] == "not testable"


REFS = [f"py:tests.factories:{n}" for n in ("digits_linear", "digits_features", "digits_features2",
                                            "digits_features3")]


def test_analyze_compares_a_sat_run_with_its_sibling_measures_run(tmp_path):
    from zoolens.cli import main
    from zoolens.similarity.measures.run import run_measures
    from zoolens.similarity.run import run_sat

    run_sat(REFS, data="digits", n_images=60, attack="pgd", steps=2, out=tmp_path / "s" / "similarity",
            n_resamples=20, batch_size=64)
    run_measures(REFS, out=tmp_path / "s" / "measures", data="digits", n_images=60, triplets=10, grid=4,
                 batch_size=64, device="cpu")
    assert main(["analyze", str(tmp_path / "s" / "similarity"), "--k", "2", "--quiet"]) in (0, None)
    out = tmp_path / "s" / "similarity" / "analysis"
    for f in ("measure_correlation_matrix", "measure_correlations", "measure_summary", "measure_costs",
              "measure_cluster_labels", "measure_stability", "measure_cluster_ensembles"):
        assert (out / f"{f}.csv").is_file(), f
    assert (out / "measure_comparison.png").is_file() and (out / "measure_comparison.vl.json").is_file()
    summary = pd.read_csv(out / "measure_summary.csv").set_index("measure")
    assert summary.loc["sat", "ari_vs_sat"] == 1.0
    assert {"cka", "error_consistency", "disagreement", "somepalli"} <= set(summary.index)
    found = {f["id"]: f for f in json.loads((out / "findings.json").read_text())}
    for cid in ("sat.only_sat_predicts_err", "sat.cheaper_than_somepalli", "sat.more_stable_than_somepalli",
                "sat.best_cluster_ensembles"):
        assert found[cid]["verdict"] in ("reproduced", "not reproduced", "not testable")
    # Tables A.2-A.3: SAT's row equals the Table 3 the SAT analysis wrote from the same subsets
    cells = pd.read_csv(out / "measure_cluster_ensembles.csv")
    t3 = pd.read_csv(out / "ensemble_clusters.csv").set_index("n_models")
    for r in cells[cells["clustering"] == "sat"].itertuples():
        assert r.err_rate == pytest.approx(t3.loc[r.n_models, f"k={r.k_clusters}"])
    assert found["sat.best_cluster_ensembles"]["verdict"] != "not testable"
    assert found["sat.cheaper_than_somepalli"]["measured"] == pytest.approx(320 / 360)
    # the Spearman matrix's SAT row is Spearman of the two CSVs the runs wrote
    m = pd.read_parquet(tmp_path / "s" / "measures" / "measures.parquet")
    sat = pd.read_csv(tmp_path / "s" / "similarity" / "sat_matrix.csv", index_col=0)
    x = [(sat.loc[a, b] + sat.loc[b, a]) / 2 for a, b in zip(m.model_a, m.model_b)]
    rho = pd.read_csv(out / "measure_correlation_matrix.csv").set_index("measure")
    assert rho.loc["sat", "cka"] == pytest.approx(stats.spearmanr(x, m["cka"])[0])
    assert rho.loc["sat", "disagreement"] == pytest.approx(stats.spearmanr(x, -m["disagreement"])[0])
    # a measures run on other images is refused when named, skipped when merely beside
    run_measures(REFS[:3], out=tmp_path / "other", data="digits", n_images=30, measures="disagreement",
                 batch_size=64, device="cpu")
    assert main(["analyze", str(tmp_path / "s" / "similarity"), "--measures", str(tmp_path / "other"),
                 "--no-ensembles", "--quiet"]) == 2


def test_cluster_ensemble_comparison_uses_the_same_subsets_for_every_clustering():
    from zoolens.analysis import ensembles as ens

    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 80)
    logits = {m: rng.normal(size=(80, 4)) + 0.5 * np.eye(4)[y] * (i % 3) for i, m in enumerate(NAMES)}
    sat = {m: i // 2 for i, m in enumerate(NAMES)}          # 3 clusters
    other = {m: i % 2 for i, m in enumerate(NAMES)}         # 2 clusters
    cells = mc.cluster_ensemble_comparison(logits, y, {"sat": sat, "other": other}, (2, 3), seed=0)
    for name, cl in (("sat", sat), ("other", other)):
        t3 = ens.cluster_ensemble_table(ens.cluster_ensembles(logits, y, cl, (2, 3), seed=0)).set_index("n_models")
        for r in cells[cells["clustering"] == name].itertuples():
            assert r.err_rate == pytest.approx(t3.loc[r.n_models, f"k={r.k_clusters}"])
            assert r.n_subsets == t3.loc[r.n_models, f"n_k={r.k_clusters}"]
    # the subsets are the same: per N, the cells of each clustering count all C(6, N) subsets
    per = cells.groupby(["clustering", "n_models"])["n_subsets"].sum()
    assert per.loc[("sat", 2)] == per.loc[("other", 2)] == 15 and per.loc[("sat", 3)] == 20
    top = cells[cells["most_diverse"]].set_index(["clustering", "n_models"])["k_clusters"]
    assert top.loc[("sat", 3)] == 3 and top.loc[("other", 3)] == 2


def test_best_cluster_ensembles_rule():
    def cells(sat2, oth2, sat3, oth3):
        return pd.DataFrame({"clustering": ["sat", "other", "sat", "other"], "n_models": [2, 2, 3, 3],
                             "k_clusters": [2, 2, 3, 2], "err_rate": [sat2, oth2, sat3, oth3],
                             "n_subsets": 1, "most_diverse": True})
    assert mf.best_cluster_ensembles(cells(10, 9, 12, 12))[0:3:2] == ("reproduced", 1.0)
    assert mf.best_cluster_ensembles(cells(10, 11, 12, 11))[0:3:2] == ("not reproduced", 0.5)
    assert mf.best_cluster_ensembles(None)[0] == "not testable"
    assert mf.best_cluster_ensembles(cells(1, 2, 3, 4).assign(clustering="sat"))[0] == "not testable"
