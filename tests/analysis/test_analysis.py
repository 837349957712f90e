"""Pure-function tests of the analyses (no models): ERR, clustering, eigengap, components, statistics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import adjusted_rand_score

from zoolens.analysis import clustering, components, criticality_stats as cs, ensembles as ens, sat_stats
from zoolens.analysis.embedding import feature_distances, tsne_map, tsne_perplexity
from zoolens.analysis.statistics import correlation, upper_triangle


# ------------------------------------------------------------------ ensembles
def _onehot_logits(preds, n_classes=3, scale=1.0):
    out = np.zeros((len(preds), n_classes))
    out[np.arange(len(preds)), preds] = scale
    return out


def test_err_by_hand():
    y = np.array([0, 0, 0, 0])
    a = _onehot_logits([0, 0, 1, 1], scale=2.0)  # err 0.5
    b = _onehot_logits([1, 2, 0, 0], scale=1.0)  # err 0.5; weaker where a is right ...
    b[2:, 0] = 3.0  # ... and stronger where a is wrong
    # mean logits: images 0,1 → class 0 (2 vs 1); images 2,3 → class 0 (3 vs 2) ⇒ ensemble error 0
    assert ens.error_reduction_rate([a, b], y) == pytest.approx(1.0)
    c = _onehot_logits([1, 1, 1, 0])  # err 0.75
    # a+c: img0 → 0 (2 vs 1), img1 → 0, img2 → 1, img3 → 1 (2 vs 1) ⇒ err 0.5; mean member err 0.625
    assert ens.error_reduction_rate([a, c], y) == pytest.approx(1 - 0.5 / 0.625)
    assert ens.error_reduction_rate([a, a], y) == pytest.approx(0.0)
    assert math.isnan(ens.error_reduction_rate([_onehot_logits([0, 0, 0, 0])] * 2, y))
    with pytest.raises(ValueError):
        ens.error_reduction_rate([], y)


def test_pair_and_cluster_ensembles_agree_with_err():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    logits = {f"m{i}": rng.normal(size=(200, 4)) + 1.5 * np.eye(4)[y] for i in range(5)}
    sat = pd.DataFrame(rng.uniform(1, 4, (5, 5)), index=list(logits), columns=list(logits))
    pe = ens.pair_ensembles(logits, y, sat)
    assert len(pe) == 10
    r = pe.iloc[3]
    assert r["err_rate"] == pytest.approx(ens.error_reduction_rate([logits[r.model_a], logits[r.model_b]], y))
    assert r["sat"] == sat.loc[r.model_a, r.model_b]
    clusters = {"m0": 0, "m1": 0, "m2": 1, "m3": 1, "m4": 2}
    sub = ens.cluster_ensembles(logits, y, clusters, sizes=(2, 3))
    assert len(sub) == 10 + 10
    row = sub[(sub.n_models == 3)].iloc[0]
    members = row["members"].split(",")
    assert row["k_clusters"] == len({clusters[m] for m in members})
    assert row["err_rate"] == pytest.approx(ens.error_reduction_rate([logits[m] for m in members], y))
    t = ens.cluster_ensemble_table(sub)
    n2 = t[t.n_models == 2].iloc[0]
    assert n2["n_k=1"] == 2 and n2["n_k=2"] == 8  # {m0,m1}, {m2,m3} span one cluster
    assert n2["rand"] == pytest.approx(sub[sub.n_models == 2]["err_rate"].mean() * 100)
    sampled = ens.cluster_ensembles(logits, y, clusters, sizes=(3,), max_combos=4, seed=1)
    assert len(sampled) == 4 and sampled["members"].nunique() == 4


# ----------------------------------------------------------------- clustering
def planted(sizes=(5, 4, 6), within=4.4, across=1.5, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    m = np.where(labels[:, None] == labels[None, :], within, across) + rng.normal(0, noise, (len(labels),) * 2)
    m = (m + m.T) / 2
    np.fill_diagonal(m, np.log(100))
    perm = rng.permutation(len(labels))
    return m[np.ix_(perm, perm)], labels[perm]


def test_spectral_clustering_recovers_planted_blocks():
    m, truth = planted()
    res = clustering.spectral_clustering(m, k=3)
    assert adjusted_rand_score(truth, res.labels) == 1.0
    assert res.k == 3 and res.k_source == "given"
    assert res.labels[0] == 0  # renumbered by first appearance
    assert res.features.shape == (len(truth), 3)
    assert np.allclose(np.linalg.norm(res.features, axis=1), 1.0)


def test_eigengap_chooses_planted_k():
    for sizes in [(5, 4, 6), (6, 6), (3, 4, 3, 5)]:
        m, truth = planted(sizes, seed=len(sizes))
        res = clustering.spectral_clustering(m)
        assert res.k_source == "eigengap"
        assert res.k == len(sizes), sizes
        assert adjusted_rand_score(truth, res.labels) == 1.0


def test_eigengap_on_disconnected_graph():
    a = np.zeros((6, 6))
    a[:3, :3] = 1
    a[3:, 3:] = 1
    np.fill_diagonal(a, 0)
    k, gaps = clustering.choose_k_eigengap(a)
    assert k == 2 and gaps.shape == (5,)


def test_normalized_laplacian_properties():
    m, _ = planted()
    a = clustering.affinity_from_sat(m)
    assert np.all(np.diag(a) == 0) and np.allclose(a, a.T)
    lap = clustering.normalized_laplacian(a)
    vals = np.linalg.eigvalsh(lap)
    assert vals.min() == pytest.approx(0.0, abs=1e-9) and vals.max() <= 2 + 1e-9
    d = a.sum(1)
    assert np.allclose(lap @ np.sqrt(d), 0.0, atol=1e-9)


def test_affinity_clips_negative_and_nan():
    s = np.array([[4.6, -4.6, np.nan], [-4.6, 4.6, 2.0], [np.nan, 1.0, 4.6]])
    a = clustering.affinity_from_sat(s)
    assert a[0, 1] == 0 and a[0, 2] == 0 and a[1, 2] == pytest.approx(1.5)
    with pytest.raises(ValueError):
        clustering.affinity_from_sat(np.ones((2, 3)))


def test_cluster_order_groups_clusters():
    labels = np.array([1, 0, 1, 0, 2])
    order = clustering.cluster_order(labels)
    assert [labels[i] for i in order] == [0, 0, 1, 1, 2]


def test_embedding_helpers():
    f = np.array([[0, 0], [3, 4], [0, 1.0]])
    d = feature_distances(f)
    assert d[0, 1] == pytest.approx(5.0) and np.allclose(d, d.T)
    assert tsne_perplexity(10) == pytest.approx(3.0) and tsne_perplexity(200) == 30.0
    m, truth = planted()
    res = clustering.spectral_clustering(m, k=3)
    xy = tsne_map(res.features, seed=0)
    assert xy.shape == (len(truth), 2) and np.isfinite(xy).all()


# ----------------------------------------------------------------- components
def _components():
    return pd.DataFrame({"base_architecture": ["CNN", "CNN", "Transformer", "Transformer"],
                         "normalization": ["BN", "BN", "LN", "LN"],
                         "stem_layer": ["3s1", "7s2", "4s4", "4s4"],
                         "group_conv": ["No"] * 4}, index=["a", "b", "c", "d"])


def test_hamming_features():
    comp = _components()
    sat = pd.DataFrame(np.arange(16.0).reshape(4, 4), index=comp.index, columns=comp.index)
    p = components.hamming_features(comp, sat)
    assert len(p) == 6
    ab = p[(p.model_a == "a") & (p.model_b == "b")].iloc[0]
    assert (ab.base_architecture, ab.normalization, ab.stem_layer, ab.group_conv, ab.hamming) == (0, 0, 1, 0, 1)
    ac = p[(p.model_a == "a") & (p.model_b == "c")].iloc[0]
    assert ac.hamming == 3 and ac.sat == 2.0
    cd = p[(p.model_a == "c") & (p.model_b == "d")].iloc[0]
    assert cd.hamming == 0


def test_component_importance_finds_the_driving_component():
    rng = np.random.default_rng(0)
    n = 16
    comp = pd.DataFrame({"base_architecture": rng.choice(["CNN", "ViT"], n),
                         "activation": rng.choice(["ReLU", "GeLU"], n),
                         "group_conv": ["No"] * n}, index=[f"m{i}" for i in range(n)])
    a = comp["base_architecture"].to_numpy()
    sat = pd.DataFrame(np.where(a[:, None] == a[None, :], 4.0, 2.0) + rng.normal(0, 0.05, (n, n)),
                       index=comp.index, columns=comp.index)
    pairs = components.hamming_features(comp, sat)
    imp = components.component_importance(pairs, gbr_params={**components.GBR_PARAMS, "n_estimators": 100})
    assert imp.iloc[0]["component"] == "base_architecture"
    assert imp.set_index("component").loc["group_conv", "importance_mean"] == 0.0
    assert imp.iloc[0]["importance_mean"] > 10 * abs(imp.set_index("component").loc["activation", "importance_mean"])


def test_tfidf_keywords_ranking():
    comp = _components()
    kw = components.tfidf_keywords(comp, [0, 0, 1, 1], top=5)
    c1 = kw[kw.cluster == 1]
    # every word of cluster 1's models is shared by c and d; the always-present group_conv=No has the lowest idf
    assert set(c1.keyword.head(3)) == {"base_architecture=Transformer", "normalization=LN", "stem_layer=4s4"}
    assert c1.keyword.iloc[-1] == "group_conv=No"
    c0 = kw[kw.cluster == 0]
    # stems differ inside cluster 0, so they rank below the shared CNN/BN words
    assert list(c0.keyword.head(2)) == ["base_architecture=CNN", "normalization=BN"]
    # value check against the definition: smooth idf = ln((1+n)/(1+df)) + 1, L2-normalized rows
    idf_shared, idf_all = math.log(5 / 3) + 1, 1.0
    idf_stem = math.log(5 / 2) + 1
    row = np.array([idf_shared, idf_shared, idf_stem, idf_all])
    expected = idf_shared / np.linalg.norm(row)
    assert c0.tfidf.iloc[0] == pytest.approx(expected)
    with pytest.raises(ValueError):
        components.tfidf_keywords(comp, [0, 1])


# ----------------------------------------------------------------- statistics
def test_correlation_helpers():
    x = np.arange(10.0)
    y = x ** 3
    c = correlation(x, y)
    assert c["spearman_rho"] == pytest.approx(1.0) and c["pearson_r"] < 1.0
    assert c["pearson_p"] == pytest.approx(stats.pearsonr(x, y)[1])
    c2 = correlation([1, 2, np.nan, 4, 5], [2, 1, 7, 4, 3])
    assert c2["n"] == 4
    assert c2["spearman_rho"] == pytest.approx(stats.spearmanr([1, 2, 4, 5], [2, 1, 4, 3])[0])
    assert math.isnan(correlation([1, 2, 3], [5, 5, 5])["pearson_r"])
    assert math.isnan(correlation([1, 2], [1, 2])["spearman_rho"])
    assert list(upper_triangle(np.arange(9).reshape(3, 3))) == [1, 2, 5]


def test_within_across_and_uncertain_pairs():
    names = ["r0", "r1", "r2", "v0", "v1"]
    meta = pd.DataFrame({"family": ["resnet"] * 3 + ["vgg"] * 2,
                         "category": ["baseline", "seed", "augmentation", "baseline", "seed"]}, index=names)
    fam = meta.family.to_numpy()
    sat = pd.DataFrame(np.where(fam[:, None] == fam[None, :], 4.0, 2.0), index=names, columns=names)
    sat.loc["r0", "r2"] = sat.loc["r2", "r0"] = 3.0
    table, test = sat_stats.within_across(sat, meta)
    assert test["n_within"] == 4 and test["n_across"] == 6
    assert test["mean_within"] == pytest.approx((4 + 3 + 4 + 4) / 4) and test["mean_across"] == 2.0
    assert test["mannwhitney_p"] < 0.05
    t = table.set_index(["family", "setting"])
    assert t.loc[("resnet", "Tr. method: augmentation"), "mean_sat"] == 3.0
    assert t.loc[("resnet", "Init (seed)"), "n_pairs"] == 1
    assert t.loc[("resnet", "Tr. method: other pairs"), "mean_sat"] == 4.0
    assert sat_stats.pair_setting("hparam", "baseline") == "Hparam"
    ci = pd.DataFrame({"model_a": ["a", "a", "a", "b"], "model_b": ["a", "b", "c", "c"], "sat": [4.6, 3, 2, 1],
                       "ci_low": [4.6, 2.0, 1.9, 0.0], "ci_high": [4.6, 3.5, 2.1, 2.0]})
    u = sat_stats.uncertain_pairs(ci, top=2)
    assert list(zip(u.model_a, u.model_b)) == [("b", "c"), ("a", "b")] and u.ci_width.iloc[0] == 2.0


def test_attack_agreement():
    names = ["a", "b", "c", "d"]
    rng = np.random.default_rng(1)
    s = rng.uniform(1, 4, (4, 4))
    s = (s + s.T) / 2
    a = pd.DataFrame(s, index=names, columns=names)
    pairs, c = sat_stats.attack_agreement(a, a * 2 + 1)
    assert len(pairs) == 6 and c["pearson_r"] == pytest.approx(1.0)
    pairs, c = sat_stats.attack_agreement(a, a.loc[["a", "b", "c"], ["a", "b", "c"]])
    assert len(pairs) == 3


# ------------------------------------------------------------ criticality stats
def _summary():
    rows = []
    vals = {"base": [0.1, 0.3, 0.9], "adv1": [0.2, 0.5, 0.9], "adv2": [0.4, 0.6, 0.95], "aug": [0.01, 0.2, 0.7]}
    for m, v in vals.items():
        for i, (lab, c) in enumerate(zip(["[0.0] conv", "[1.0] conv1", "[Head] fc"], v)):
            rows.append({"model": m, "layer": lab, "label": lab, "layer_index": i, "module_type": "Conv2d",
                         "n_params": 10, "criticality_mean": c, "criticality_sem": 0.01 * (i + 1), "n_seeds": 3,
                         "role": "auxiliary" if c < 0.05 else ("critical" if c > 0.5 else "intermediate")})
    return pd.DataFrame(rows)


def test_criticality_stats():
    s = _summary()
    meta = pd.DataFrame({"category": ["baseline", "adversarial_training", "adversarial_training", "augmentation"],
                         "adv_eps": [0.0, 0.02, 0.05, 0.0], "family": "resnet"},
                        index=["base", "adv1", "adv2", "aug"])
    models = pd.DataFrame({"model": ["base", "adv1", "adv2", "aug"], "clean_accuracy": [0.9, 0.85, 0.8, 0.91]})
    order = cs.model_order(["adv2", "aug", "base", "adv1"], meta)
    assert order == ["base", "aug", "adv1", "adv2"]
    mat = cs.layer_matrix(s, models=order)
    assert list(mat.columns) == ["[0.0] conv", "[1.0] conv1", "[Head] fc"] and list(mat.index) == order
    d = cs.baseline_difference(mat, "base")
    assert d.loc["adv2", "[0.0] conv"] == pytest.approx(0.3) and (d.loc["base"] == 0).all()
    per = cs.per_model(s, models, meta)
    p = per.set_index("model")
    assert p.loc["aug", "share_auxiliary"] == pytest.approx(1 / 3) and p.loc["adv2", "share_critical"] == pytest.approx(2 / 3)
    assert p.loc["base", "mean_criticality"] == pytest.approx(np.mean([0.1, 0.3, 0.9]))
    t, summ = cs.adversarial_budget(per, "base")
    assert list(t.model) == ["base", "adv1", "adv2"] and summ["n_above_baseline"] == 2
    assert summ["norms"]["unspecified"]["spearman_rho"] == pytest.approx(1.0)  # no norm given: one curve
    corr = cs.accuracy_correlation(per)
    assert corr.iloc[0]["n"] == 4 and corr.iloc[1]["n"] == 2  # two left after dropping adversarial models
    assert corr.iloc[0]["spearman_rho"] == pytest.approx(stats.spearmanr(per.mean_criticality, per.clean_accuracy)[0])
