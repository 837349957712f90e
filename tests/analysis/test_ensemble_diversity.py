"""Sec. 5.1 beyond pair ERR: per-subset ensemble error and all-wrong counts against a naive
per-image loop (Fig. 7a/7c), family ensembles (Fig. 8), the claim rules, and the permutation
test over models for within- vs across-family pairs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from zoolens.analysis import ensemble_findings as ef
from zoolens.analysis import ensembles as ens
from zoolens.analysis import family_ensembles as fe
from zoolens.analysis.mantel import mantel
from zoolens.analysis.pair_permutation import within_across_permutation
from zoolens.analysis.sat_table2 import setting_members


def _logits(n_models=6, n_images=60, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_images)
    logits = {f"m{i}": rng.normal(size=(n_images, n_classes)) + 0.8 * np.eye(n_classes)[y] for i in range(n_models)}
    return logits, y


def _naive(members, logits, y):
    """Per image: average the members' logits, take the argmax; count images every member misses."""
    ens_wrong, all_wrong = 0, 0
    for i in range(len(y)):
        mean = [sum(float(logits[m][i, c]) for m in members) / len(members) for c in range(logits[members[0]].shape[1])]
        ens_wrong += int(max(range(len(mean)), key=lambda c: (mean[c], -c)) != y[i])
        all_wrong += int(all(int(np.argmax(logits[m][i])) != y[i] for m in members))
    member_err = sum(sum(int(np.argmax(logits[m][i])) != y[i] for i in range(len(y))) / len(y) for m in members)
    member_err /= len(members)
    return ens_wrong / len(y), all_wrong, 1 - (ens_wrong / len(y)) / member_err


def test_subset_error_and_all_wrong_equal_a_naive_per_image_loop():
    logits, y = _logits()
    clusters = {"m0": 0, "m1": 0, "m2": 1, "m3": 1, "m4": 2, "m5": 2}
    sub = ens.cluster_ensembles(logits, y, clusters, sizes=(2, 3, 4))
    assert list(sub.columns) == ens.SUBSET_COLUMNS
    assert len(sub) == 15 + 20 + 15
    for _, r in sub.iterrows():
        err, n_all, rate = _naive(r["members"].split(","), logits, y)
        assert r["err_ensemble"] == pytest.approx(err, abs=1e-12)
        assert r["n_all_wrong"] == n_all
        assert r["err_rate"] == pytest.approx(rate, abs=1e-12)
    # invariants: images all members miss are a subset of the images the ensemble misses
    assert (sub["n_all_wrong"] <= sub["err_ensemble"] * len(y) + 1e-9).all()
    # adding members can only shrink the set every member gets wrong
    by = dict(zip(sub["members"], sub["n_all_wrong"]))
    assert by["m0,m1,m2"] <= min(by["m0,m1"], by["m0,m2"], by["m1,m2"])


def test_cluster_ensemble_metrics_are_means_over_subsets():
    logits, y = _logits(seed=1)
    clusters = {"m0": 0, "m1": 0, "m2": 1, "m3": 1, "m4": 2, "m5": 2}
    sub = ens.cluster_ensembles(logits, y, clusters, sizes=(2, 3))
    met = ens.cluster_ensemble_metrics(sub)
    t3 = ens.cluster_ensemble_table(sub).set_index("n_models")
    for _, r in met.iterrows():
        part = sub[sub.n_models == r["n_models"]]
        if r["selection"] != "rand":
            part = part[part.k_clusters == r["k_clusters"]]
            assert r["selection"] == f"k={r['k_clusters']}"
            assert r["err_rate"] == pytest.approx(t3.loc[r["n_models"], r["selection"]])  # same ERR as Table 3
        else:
            assert pd.isna(r["k_clusters"]) and r["err_rate"] == pytest.approx(t3.loc[r["n_models"], "rand"])
        assert r["n_subsets"] == len(part)
        assert r["err_ensemble"] == pytest.approx(part["err_ensemble"].mean() * 100)
        assert r["n_all_wrong"] == pytest.approx(part["n_all_wrong"].mean())
    assert list(met[met.n_models == 2]["selection"]) == ["k=1", "k=2", "rand"]
    assert ens.cluster_ensemble_metrics(sub.iloc[:0]).empty


def _meta(rows):
    return pd.DataFrame(rows, columns=["model", "family", "category"]).set_index("model")


def test_family_ensembles_groups_and_values():
    logits, y = _logits(n_models=7, seed=2)
    meta = _meta([("m0", "res", "baseline"), ("m1", "res", "seed"), ("m2", "res", "augmentation"),
                  ("m3", "res", "adversarial_training"), ("m4", "vit", "baseline"), ("m5", "vit", "hparam"),
                  ("m6", "unknown", "unknown")])
    sub = fe.family_ensembles(logits, y, meta, sizes=(2, 3))
    within = sub[sub.group == fe.WITHIN]
    # training variants: res has 3 non-AT models (3 pairs, 1 triple), vit 2 (1 pair)
    assert sorted(within[within.n_models == 2]["members"]) == ["m0,m1", "m0,m2", "m1,m2", "m4,m5"]
    assert list(within[within.n_models == 3]["members"]) == ["m0,m1,m2"]
    at = sub[sub.group == fe.WITHIN_AT]
    assert sorted(at[at.n_models == 2]["members"]) == ["m0,m3", "m1,m3", "m2,m3"]
    across = sub[sub.group == fe.ACROSS]
    # one res (4) × one vit (2); the unknown model is left out; N = 3 needs 3 families
    assert len(across[across.n_models == 2]) == 8 and (across.n_models == 2).all()
    assert not across["members"].str.contains("m6").any()
    for _, r in sub.iterrows():
        err, n_all, rate = _naive(r["members"].split(","), logits, y)
        assert (r["err_ensemble"], r["n_all_wrong"]) == (pytest.approx(err), n_all)
        assert r["err_rate"] == pytest.approx(rate)
    table = fe.family_ensemble_table(sub)
    # res: Init {m0, m1} and Tr. Reg. {m0, m2}; vit: Hparam {m4, m5}
    assert list(table["group"].unique()) == [fe.WITHIN, "Init", "Hparam", "Tr. Reg.", fe.WITHIN_AT, fe.ACROSS]
    row = table[(table.group == fe.WITHIN) & (table.family == "res") & (table.n_models == 2)].iloc[0]
    assert row["n_subsets"] == 3
    assert row["err_rate"] == pytest.approx(within[(within.family == "res") & (within.n_models == 2)]["err_rate"].mean()
                                            * 100)


def test_setting_groups_are_the_subsets_of_setting_members_with_naive_err():
    logits, y = _logits(n_models=10, seed=4)
    meta = _meta([("m0", "res", "baseline"), ("m1", "res", "seed"), ("m2", "res", "seed"), ("m3", "res", "hparam"),
                  ("m4", "res", "augmentation"), ("m5", "res", "improved_training"),
                  ("m6", "res", "adversarial_training"), ("m7", "vit", "baseline"), ("m8", "vit", "hparam"),
                  ("m9", "cnn", "seed")])  # cnn has no baseline: no setting groups
    sizes = (2, 3, 4)
    sub = fe.family_ensembles(logits, y, meta, sizes=sizes)
    members = setting_members(meta)
    expected = {(f, s, n, ",".join(c)) for (f, s), ms in members.items() if s in fe.SETTING_GROUPS
                for n in sizes for c in itertools.combinations(ms, n)}
    got = sub[sub.group.isin(fe.SETTING_GROUPS)]
    assert set(zip(got.family, got.group, got.n_models, got.members)) == expected
    assert len(got) == len(expected)  # no duplicates
    # res: Init {m0,m1,m2} (3 pairs, 1 triple), Hparam {m0,m3} (1 pair), Tr. Reg. {m0,m4,m5}; vit: Hparam {m7,m8}
    assert len(got[(got.family == "res") & (got.group == "Init") & (got.n_models == 3)]) == 1
    assert got[got.n_models == 4].empty and "cnn" not in set(got.family)
    assert not got["members"].str.contains("m6").any()
    for _, r in got.iterrows():
        err, n_all, rate = _naive(r["members"].split(","), logits, y)
        assert (r["err_ensemble"], r["n_all_wrong"]) == (pytest.approx(err, abs=1e-12), n_all)
        assert r["err_rate"] == pytest.approx(rate, abs=1e-12)
        assert r["err_rate"] == pytest.approx(ens.error_reduction_rate([logits[m] for m in r["members"].split(",")], y))
    table = fe.family_ensemble_table(sub)
    row = table[(table.group == "Tr. Reg.") & (table.family == "res") & (table.n_models == 2)].iloc[0]
    part = got[(got.group == "Tr. Reg.") & (got.family == "res") & (got.n_models == 2)]
    assert row["n_subsets"] == 3 and row["err_rate"] == pytest.approx(part["err_rate"].mean() * 100)


def test_setting_groups_leave_the_other_groups_unchanged():
    """Same pooled, adversarial and across groups (sampled ones included) with or without settings."""
    logits, y = _logits(n_models=9, n_images=30, seed=5)
    rows = [(f"m{i}", f"f{i % 3}", ["baseline", "seed", "hparam"][i // 3]) for i in range(9)]
    with_settings = _meta(rows)
    without = _meta([(m, f, "augmentation") for m, f, _ in rows])  # no baseline: no setting groups
    a = fe.family_ensembles(logits, y, with_settings, sizes=(2, 3), max_combos=2, seed=3)
    b = fe.family_ensembles(logits, y, without, sizes=(2, 3), max_combos=2, seed=3)
    assert set(a.group) - set(b.group) == {"Init", "Hparam"}
    pd.testing.assert_frame_equal(a[~a.group.isin(fe.SETTING_GROUPS)].reset_index(drop=True), b.reset_index(drop=True))


def test_across_family_sampling_is_distinct_and_valid():
    logits, y = _logits(n_models=8, n_images=20, seed=3)
    meta = _meta([(f"m{i}", f"f{i % 4}", "baseline") for i in range(8)])
    full = fe.family_ensembles(logits, y, meta, sizes=(3,))
    assert len(full[full.group == fe.ACROSS]) == 4 * 2 ** 3  # C(4,3) family triples × 2 members each
    sampled = fe.family_ensembles(logits, y, meta, sizes=(3,), max_combos=5, seed=1)
    acr = sampled[sampled.group == fe.ACROSS]
    assert len(acr) == 5 and acr["members"].nunique() == 5
    fam = meta["family"]
    assert all(len({fam[m] for m in s.split(",")}) == 3 for s in acr["members"])


def test_diverse_beats_random_rule():
    t3 = pd.DataFrame({"n_models": [2, 3], "k=1": [5.0, 8.0], "k=2": [7.0, 9.0], "k=3": [np.nan, 10.0],
                       "rand": [6.5, 9.5]})
    verdict, evidence, measured = ef.diverse_beats_random(t3)
    assert (verdict, measured) == ("reproduced", 1.0) and "rule" in evidence
    t3.loc[1, "k=3"] = 9.0
    assert ef.diverse_beats_random(t3)[0::2] == ("not reproduced", 0.5)
    assert ef.diverse_beats_random(t3.drop(columns=["k=2", "k=3"]))[0] == "not testable"


def test_across_beats_within_rule():
    table = pd.DataFrame({"group": [fe.WITHIN, fe.WITHIN, fe.WITHIN_AT, fe.ACROSS],
                          "family": ["res", "vit", "res", "(all)"], "n_models": [2, 2, 2, 2],
                          "err_rate": [3.0, 4.0, 20.0, 10.0]})
    verdict, evidence, measured = ef.across_beats_within_training(table)
    assert (verdict, measured) == ("reproduced", 1.0)  # the AT group is not compared
    table.loc[1, "err_rate"] = 11.0
    assert ef.across_beats_within_training(table)[0::2] == ("not reproduced", 0.5)
    assert ef.across_beats_within_training(table[table.group != fe.WITHIN])[0] == "not testable"
    assert ef.across_beats_within_training(table[table.group != fe.ACROSS])[0] == "not testable"
    # per-setting groups: reported in the evidence, not part of the rule
    settings = pd.DataFrame({"group": ["Init", "Hparam", "Tr. Reg."], "family": ["res"] * 3, "n_models": [2] * 3,
                             "err_rate": [2.0, 3.0, 15.0]})
    verdict, evidence, measured = ef.across_beats_within_training(pd.concat([table, settings], ignore_index=True))
    assert (verdict, measured) == ("not reproduced", 0.5)  # Tr. Reg. 15 > across 10 changes nothing
    assert "N=2: res Init 2.00% / Hparam 3.00% / Tr. Reg. 15.00% vs across 10.00%" in evidence
    assert "Init" not in ef.across_beats_within_training(table)[1]


# ------------------------------------------------- permutation over models (within vs across)
def _block(groups, within=4.0, across=2.0, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    g = np.asarray(groups)
    m = np.where(g[:, None] == g[None, :], within, across) + rng.normal(0, noise, (len(g),) * 2)
    m = (m + m.T) / 2
    np.fill_diagonal(m, np.nan)
    return m


def _brute(m, groups):
    """Every relabelling of the models' groups, one at a time, with plain loops."""
    n = len(groups)

    def diff(g):
        w = [m[i, j] for i, j in itertools.combinations(range(n), 2) if g[i] == g[j] and np.isfinite(m[i, j])]
        c = [m[i, j] for i, j in itertools.combinations(range(n), 2) if g[i] != g[j] and np.isfinite(m[i, j])]
        return np.mean(w) - np.mean(c)

    d = diff(groups)
    perms = list(itertools.permutations(range(n)))
    hits = sum(diff([groups[p] for p in perm]) >= d - 1e-12 for perm in perms)
    return d, hits / len(perms)


@pytest.mark.parametrize("n,seed", [(4, 0), (5, 1), (5, 2)])
def test_permutation_p_is_exact_against_brute_force(n, seed):
    groups = ["a", "a", "b", "b", "c"][:n]
    m = _block(groups, within=2.3, across=2.0, noise=0.5, seed=seed)
    if n == 5:
        m[0, 3] = m[3, 0] = np.nan  # a pair not measured
    res = within_across_permutation(m, groups)
    d, p = _brute(m, groups)
    assert res.exact and res.permutations == math.factorial(n)
    assert res.difference == pytest.approx(d, abs=1e-12) and res.p == pytest.approx(p, abs=1e-12)
    assert res.n_within + res.n_across == int(np.isfinite(m[np.triu_indices(n, 1)]).sum())


def test_permutation_p_small_for_blocks_not_for_noise():
    groups = np.repeat(["r", "v", "c", "d"], 4)
    strong = within_across_permutation(_block(groups), groups, permutations=999, seed=0)
    assert not strong.exact and strong.permutations == 999
    assert strong.difference > 1.5 and strong.p == pytest.approx(1 / 1000)
    noise = within_across_permutation(_block(groups, within=0.0, across=0.0, noise=1.0, seed=4), groups,
                                      permutations=999, seed=0)
    assert noise.p > 0.1
    # seeded, and relabelling the groups by other names changes nothing
    assert within_across_permutation(_block(groups), groups, permutations=999, seed=0) == strong
    renamed = np.array([{"r": "x", "v": "y", "c": "z", "d": "w"}[g] for g in groups])
    assert within_across_permutation(_block(groups), renamed, permutations=999, seed=0) == strong


def test_err_vs_sat_mantel_on_pair_matrices():
    """The SAT-vs-ERR p over models: Mantel on the pair tables turned back into matrices."""
    logits, y = _logits(n_models=5, seed=6)
    names = list(logits)
    rng = np.random.default_rng(0)
    s = rng.uniform(1, 4, (5, 5))
    sat = pd.DataFrame((s + s.T) / 2, index=names, columns=names)
    pe = ens.pair_ensembles(logits, y, sat)
    err = ens.pair_matrix(pe, names, "err_rate")
    assert np.allclose(err, err.T, equal_nan=True) and np.isnan(np.diag(err)).all()
    assert err[0, 1] == pytest.approx(pe.iloc[0]["err_rate"])
    res = mantel(sat.to_numpy(), err, method="pearson")
    assert res.exact and res.n_pairs == 10
    assert res.r == pytest.approx(np.corrcoef(pe["sat"], pe["err_rate"])[0, 1])
