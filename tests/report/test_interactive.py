"""The interactive views' Vega-Lite specs: compact data, tooltips, sort orders; every builder compiles."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from zoolens.analysis.sat_stability import PAPER_TABLE_A1
from zoolens.analysis.sat_training import PAPER_EPOCHS, PAPER_TABLE_G1

from zoolens.report.interactive import heatmap_spec, records, sig, vega_lite_version
from zoolens.report.interactive_views import VIEWS


def _compile(spec: dict) -> dict:
    import vl_convert

    return json.loads(json.dumps(vl_convert.vegalite_to_vega(spec, vl_version=vega_lite_version())))


def test_values_rounded_to_four_significant_digits_and_missing_left_out():
    assert sig(0.123456789) == 0.1235 and sig(123456.0) == 123500.0 and sig(-1.5e-7) == -1.5e-7
    assert sig(math.nan) is None and sig(math.inf) is None and sig(None) is None
    df = pd.DataFrame({"m": ["a", "b"], "x": [1.234567, np.nan], "n": np.array([3, 4], dtype=np.int64)})
    assert records(df, ["m", "x", "n"]) == [{"m": "a", "x": 1.235, "n": 3}, {"m": "b", "n": 4}]


def test_heatmap_cells_orders_and_tooltip():
    m = pd.DataFrame([[0.5, np.nan, 0.1], [0.9, 0.8, 0.7], [0.05, 0.02, 0.01]], index=["b", "c", "a"],
                     columns=["l1", "l2", "l3"])
    se = m * 0.1
    spec = heatmap_spec(m, title="t", value="criticality", se=se, groups=["g1", "g1", "g2"], group="category")
    rows = {r["i"]: r for r in spec["data"]["values"]}
    assert rows[0] == {"i": 0, "j": [0, 2], "v": [0.5, 0.1], "s": [0.05, 0.01]}  # the NaN cell is left out
    params = {p["name"]: p["value"] for p in spec["params"]}
    assert params["RL"] == {"figure": ["b", "c", "a"], "name": ["a", "b", "c"], "mean": ["c", "b", "a"]}
    assert params["RP"]["name"] == [1, 2, 0] and params["RP"]["mean"] == [1, 0, 2]
    assert params["CN"] == ["l1", "l2", "l3"] and params["RG"] == ["g1", "g1", "g2"]
    tips = [t["field"] for t in spec["layer"][0]["encoding"]["tooltip"]]
    assert tips == ["row", "col", "v", "s", "grp"]
    assert spec["layer"][0]["params"][0]["bind"] == "scales"
    vega = _compile(spec)
    assert any(s.get("name") == "order" and s.get("bind", {}).get("input") == "select" for s in vega["signals"])


def _args() -> dict[str, tuple]:
    rng = np.random.default_rng(0)
    names = ["m1", "m2", "m3"]
    mat = pd.DataFrame(rng.random((3, 4)), index=names, columns=[f"[{i}.0] conv" for i in range(4)])
    per = pd.DataFrame({"model": names, "category": ["baseline", "augmentation", "baseline"],
                        "mean_criticality": [0.2, 0.3, 0.4], "accuracy": [0.7, 0.8, 0.9], "max_sem": [0.01] * 3})
    sq = pd.DataFrame(rng.random((3, 3)), index=names, columns=names)
    ci = pd.DataFrame({"model_a": ["m1", "m1"], "model_b": ["m2", "m3"], "ci_low": [0.1, 0.2], "ci_high": [0.5, 0.6]})
    labels = np.array([0, 0, 1])
    pairs = pd.DataFrame({"model_a": ["m1", "m1", "m2"], "model_b": ["m2", "m3", "m3"], "sat": [1.0, 2.0, 3.0],
                          "err_rate": [0.1, 0.05, 0.0], "sat_a": [1.0, 2.0, 3.0], "sat_b": [1.1, 2.2, 2.9],
                          "sat_reference": [0.9, 2.1, 3.3], "n_same": [3, 5, 9], "fraction": [0.1, 0.2, 0.3],
                          "n_both_correct": [15, 13, 15]})
    corr = {"n": 3, "pearson_r": 0.5, "pearson_p": 0.2, "spearman_rho": 0.5, "spearman_p": 0.2}
    t3 = pd.DataFrame({"n_models": [2, 3], "k=1": [1.0, 2.0], "k=2": [3.0, np.nan], "rand": [2.0, 2.5],
                       "n_k=1": [3, 1], "n_k=2": [2, 0]})
    imp = pd.DataFrame({"component": ["attention", "normalization"], "importance_mean": [0.3, 0.1],
                        "importance_std": [0.02, 0.01]})
    return {"criticality_heatmap": (mat, per, mat * 0.1), "criticality_difference": (mat - 0.5, "m1", per, mat * 0.1),
            "criticality_sem": (mat * 0.1, per, 3), "criticality_vs_accuracy": (per, None),
            "sat_heatmap": (sq, labels, ci), "feature_distance_heatmap": (sq, labels),
            "tsne_figure": (rng.random((3, 2)), names, labels), "importance_figure": (imp,),
            "err_vs_sat": (pairs, corr), "cluster_ensemble_figure": (t3,),
            "attack_agreement_figure": (pairs, corr, "pgd", "fgsm"),
            "placement_heatmap": (mat.iloc[:2], mat.iloc[2:].rename(index={"m3": "mine"}), ["baseline", "augmentation"]),
            "shared_pairs_figure": (pairs, corr),
            "measure_comparison_figure": (pd.DataFrame([[1.0, 0.4], [0.4, 1.0]], index=["sat", "cka"],
                                                       columns=["sat", "cka"]), None, None),
            "same_misclassification_figure": (pairs, {"n_pairs": 3, "spearman_rho": 1.0, "mantel_p": 1 / 6}),
            "sat_stability_figure": (pd.DataFrame({"model_a": ["m1", "m1"], "model_b": ["m2", "m2"],
                                                   "n_images": [10, 20], "std": [3.0, 2.0],
                                                   "relative_cost": [0.1, 0.2]}), PAPER_TABLE_A1),
            "sat_training_figure": (pd.DataFrame({"model": ["m1", "m1"], "epoch": [1, 3], "fraction": [1 / 3, 1.0],
                                                  "sat": [3.6, 4.3], "ci_low": [3.5, 4.2], "ci_high": [3.7, 4.4],
                                                  "self_sat": [4.3, 4.3]}), PAPER_TABLE_G1, PAPER_EPOCHS)}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_every_view_builds_and_compiles(name):
    spec = VIEWS[name](*_args()[name])
    text = json.dumps(spec, allow_nan=False)  # strict JSON: no NaN sneaks through
    assert "tooltip" in text and spec["data"]["values"]
    _compile(spec)


def test_sat_heatmap_tooltip_shows_the_bootstrap_interval():
    spec = VIEWS["sat_heatmap"](*_args()["sat_heatmap"])
    row0 = next(r for r in spec["data"]["values"] if r["i"] == 0)
    assert row0["lo"] == [None, 0.1, 0.2] and row0["hi"] == [None, 0.5, 0.6]  # symmetric, diagonal has none
    assert "interval" in [t["field"] for t in spec["layer"][0]["encoding"]["tooltip"]]


def test_demo_sized_specs_stay_small():
    """Criticality 50 × 54 with SEs and SAT 69 × 69 with intervals: well under the JS bundle's size."""
    rng = np.random.default_rng(0)
    crit = pd.DataFrame(rng.random((50, 54)), index=[f"model_{i}" for i in range(50)],
                        columns=[f"layer_{j}" for j in range(54)])
    per = pd.DataFrame({"model": crit.index, "category": "baseline"})
    sat = pd.DataFrame(rng.normal(3, 1, (69, 69)), index=[f"m{i}" for i in range(69)],
                       columns=[f"m{i}" for i in range(69)])
    sizes = [len(json.dumps(VIEWS["criticality_heatmap"](crit, per, crit * 0.01), separators=(",", ":"))),
             len(json.dumps(VIEWS["sat_heatmap"](sat, np.zeros(69)), separators=(",", ":")))]
    assert sizes[0] < 90_000 and sizes[1] < 90_000, sizes
