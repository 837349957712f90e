"""Table 2 as the SAT paper designs it (Sec. 4.2): pairs among each setting's variants, the image
bootstrap against a naive recount, and the ordering rule checked against the paper's own numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from zoolens.analysis import sat_bootstrap, sat_table2
from zoolens.similarity.sat import sat_from_outcomes, sat_matrix_from_transfer

META = pd.DataFrame(
    {"family": ["r", "r", "r", "r", "r", "r", "r", "v", "v", "v"],
     "category": ["baseline", "seed", "hparam", "augmentation", "improved_training", "adversarial_training",
                  "adversarial_training", "baseline", "seed", "augmentation"]},
    index=["r0", "r1", "rh", "ra", "ri", "rp1", "rp2", "v0", "v1", "va"])


def _images(seed=0, n=60, models=tuple(META.index)):
    """Per-image outcomes with family structure: within-family pairs are fooled more often."""
    rng = np.random.default_rng(seed)
    correct = {m: rng.random(n) < 0.92 for m in models}  # X_AB = images both classify correctly
    rows = []
    for s, t in itertools.product(models, models):
        p = 0.9 if s == t else (0.6 if META.loc[s, "family"] == META.loc[t, "family"] else 0.2)
        for i in range(n):
            rows.append({"source": s, "target": t, "image": i, "both_correct": bool(correct[s][i] and correct[t][i]),
                         "fooled": bool(rng.random() < p)})
    return pd.DataFrame(rows)


def _sat(images):
    x = images[images["both_correct"]]
    transfer = (x.groupby(["source", "target"]).agg(n_both_correct=("fooled", "size"), n_fooled=("fooled", "sum"))
                .reset_index())
    return sat_matrix_from_transfer(transfer, list(META.index))


def test_settings_take_pairs_among_the_variants_with_the_baseline_in_each():
    members = sat_table2.setting_members(META)
    assert members[("r", "Init")] == ["r0", "r1"]
    assert members[("r", "Hparam")] == ["r0", "rh"]
    assert members[("r", "Tr. Reg.")] == ["r0", "ra", "ri"]
    assert members[("r", "Adv. training")] == ["rp1", "rp2"]  # apart, without the baseline
    assert ("v", "Hparam") not in members  # a setting with one model has no pair
    assert members[("v", "Tr. Reg.")] == ["v0", "va"]


def test_means_equal_a_naive_average_over_the_setting_pairs():
    images = _images()
    sat = _sat(images)
    t = sat_table2.table2(sat, META, images, n_resamples=200).set_index(["family", "setting"])
    tr = [sat.loc[a, b] for a, b in itertools.combinations(["r0", "ra", "ri"], 2)]
    assert t.loc[("r", "Tr. Reg."), "mean_sat"] == pytest.approx(np.mean(tr))
    assert t.loc[("r", "Tr. Reg."), "n_pairs"] == 3
    every = [sat.loc[a, b] for a, b in itertools.combinations(META.index, 2)]
    assert t.loc[("(zoo)", "All"), "mean_sat"] == pytest.approx(np.mean(every))
    assert t.loc[("(zoo)", "All"), "n_pairs"] == 45
    across = [sat.loc[a, b] for a, b in itertools.combinations(META.index, 2)
              if META.loc[a, "family"] != META.loc[b, "family"]]
    assert t.loc[("(zoo)", "Across families"), "mean_sat"] == pytest.approx(np.mean(across))
    assert np.isfinite(t["ci_low"]).all() and (t["ci_low"] <= t["ci_high"]).all()


def test_weighted_sat_with_unit_weights_is_eq1_and_with_counts_is_the_resampled_recount():
    images = _images(seed=1)
    names = list(META.index)
    outcomes, ids = sat_bootstrap.pair_image_outcomes(images, itertools.combinations(names, 2))
    x = images[images["both_correct"]]
    for a, b in [("r0", "r1"), ("r0", "v0"), ("ra", "va")]:
        fab = x[(x.source == a) & (x.target == b)].sort_values("image")
        fba = x[(x.source == b) & (x.target == a)].sort_values("image")
        ones = np.ones((1, len(ids)))
        got = sat_bootstrap.weighted_sat(outcomes[(a, b)], ones, 1e-2)[0]
        assert got == pytest.approx(sat_from_outcomes(fab["fooled"].to_numpy(), fba["fooled"].to_numpy()))
        # a resample that draws image ids with repetition equals the SAT of the repeated outcomes
        rng = np.random.default_rng(3)
        draw = rng.integers(0, len(ids), size=len(ids))
        w = np.bincount(draw, minlength=len(ids))[None, :]
        rep_ab = np.concatenate([fab.set_index("image").loc[[i for i in ids[draw] if i in set(fab.image)], "fooled"]])
        rep_ba = np.concatenate([fba.set_index("image").loc[[i for i in ids[draw] if i in set(fba.image)], "fooled"]])
        want = sat_from_outcomes(rep_ab, rep_ba) if len(rep_ab) else np.log(1e-2)
        assert sat_bootstrap.weighted_sat(outcomes[(a, b)], w, 1e-2)[0] == pytest.approx(want)


def test_the_rule_holds_on_the_papers_own_table_and_reads_the_data():
    assert sat_table2.paper_order_holds() == {"ResNet-50": True, "ViT-S": True}
    images = _images()
    t = sat_table2.table2(_sat(images), META, images, n_resamples=100)
    verdict, evidence, measured = sat_table2.table2_order(t)
    assert "r" in measured and "v" not in measured  # v has no Hparam pair
    assert verdict in ("reproduced", "not reproduced") and "paper ResNet-50 4.23" in evidence
    assert sat_table2.order_holds(4.0, 4.0, 3.0, 2.0) and not sat_table2.order_holds(4.0, 3.0, 3.5, 2.0)
    assert not sat_table2.order_holds(3.9, 4.0, 3.0, 3.5)  # Tr. Reg. below All
    # no family with all three settings: not testable
    v_only = META[META.family == "v"]
    t2 = sat_table2.table2(_sat(images).loc[v_only.index, v_only.index], v_only)
    assert sat_table2.table2_order(t2)[0] == "not testable"
    assert t2["ci_low"].isna().all()  # no per-image outcomes, no intervals


@pytest.mark.slow
def test_analyze_writes_table2_its_figure_and_finding_for_zoo_models(tmp_path):
    """Through `zoolens analyze` on a real SAT run of four mini-zoo ResNets (one per setting)."""
    import json

    from zoolens.cli import main
    from zoolens.similarity import run_sat

    names = ["resnet_baseline", "resnet_seed1", "resnet_hparam", "resnet_label_smoothing"]
    run_sat([f"zoo:fmnist-mini/{m}" for m in names], data="fashion-mnist", n_images=60, attack="pgd", steps=2,
            out=tmp_path / "sat", n_resamples=20)
    assert main(["analyze", str(tmp_path / "sat"), "--no-ensembles"]) == 0
    folder = tmp_path / "sat" / "analysis"
    t = pd.read_csv(folder / "sat_table2.csv").set_index(["family", "setting"])
    sat = pd.read_csv(tmp_path / "sat" / "sat_matrix.csv", index_col=0)
    assert t.loc[("resnet", "Init"), "mean_sat"] == pytest.approx(sat.loc["resnet_baseline", "resnet_seed1"])
    tr = [sat.loc["resnet_baseline", "resnet_label_smoothing"]]
    assert t.loc[("resnet", "Tr. Reg."), "mean_sat"] == pytest.approx(np.mean(tr))
    assert np.isfinite(t[t["n_pairs"] > 0]["ci_low"]).all() and t.loc[("(zoo)", "Across families"), "n_pairs"] == 0
    found = {f["id"]: f for f in json.loads((folder / "findings.json").read_text())}
    assert found["sat.table2_order"]["verdict"] in ("reproduced", "not reproduced")
    assert "resnet: Init" in found["sat.table2_order"]["evidence"]
    assert (folder / "sat_table2.png").is_file()
