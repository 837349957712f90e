"""One-sided newcomers assigned to the existing SAT clusters (SAT paper App. G.1)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from zoolens.analysis import clustering
from zoolens.analysis import newcomer_placement as npl


def _blocks(seed: int = 0) -> pd.DataFrame:
    """Two planted blocks of 3 models (SAT ≈ 3 within, ≈ 0.5 across), symmetric, diagonal 4.6."""
    rng = np.random.default_rng(seed)
    names = ["a1", "a2", "a3", "b1", "b2", "b3"]
    s = np.full((6, 6), 0.5) + rng.normal(0, 0.05, (6, 6))
    s[:3, :3] += 2.5
    s[3:, 3:] += 2.5
    s = (s + s.T) / 2
    np.fill_diagonal(s, 4.6)
    return pd.DataFrame(s, index=names, columns=names)


def _with(sat: pd.DataFrame, name: str, row: dict[str, float]) -> pd.DataFrame:
    """``sat`` with a one-sided newcomer: its row measured, its own diagonal unmeasured (a target newcomer)."""
    names = [*sat.index, name]
    out = sat.reindex(index=names, columns=names)
    for m, v in row.items():
        out.loc[name, m] = out.loc[m, name] = v
    return out


def test_block_newcomer_lands_in_its_block_with_high_confidence():
    base = _blocks()
    labels = pd.Series(clustering.spectral_clustering(base, 2, seed=0).labels, index=base.index)
    sat = _with(base, "new", {"a1": 2.9, "a2": 3.1, "a3": 3.0, "b1": 0.6, "b2": 0.4, "b3": 0.5})
    p = npl.place_newcomers(sat, labels, ["new"]).iloc[0]
    assert p["cluster"] == labels["a1"] and p["members"] == "a1, a2, a3" and p["n_members"] == 3
    assert p["mean_sat"] == pytest.approx(3.0) and p["runner_up_mean_sat"] == pytest.approx(0.5)
    assert p["margin"] == pytest.approx(2.5) and p["runner_up"] == labels["b1"]
    assert p["member_agreement"] == 1.0 and p["confidence"] == 1.0 and p["n_clusters"] == 2
    assert math.isnan(p["image_agreement"])  # no bootstrap replicates given


def test_equidistant_newcomer_gets_chance_level_confidence():
    base = _blocks()
    labels = pd.Series([0, 0, 0, 1, 1, 1], index=base.index)
    sat = _with(base, "mid", {m: 1.7 for m in base.index})
    p = npl.place_newcomers(sat, labels, ["mid"]).iloc[0]
    assert p["margin"] == 0.0 and p["member_agreement"] == pytest.approx(0.5)  # a tie is a coin flip
    # with measurement noise (bootstrap replicates of its row) the votes split about evenly
    rng = np.random.default_rng(3)
    draws = pd.DataFrame(1.7 + rng.normal(0, 0.1, (400, 6)), columns=base.index)
    p = npl.place_newcomers(sat, labels, ["mid"], draws={"mid": draws}).iloc[0]
    assert 0.35 < p["image_agreement"] < 0.65 and p["confidence"] <= p["image_agreement"]
    # the same noise around a block member's row leaves a clear assignment untouched
    far = {"a1": 3.0, "a2": 3.0, "a3": 3.0, "b1": 0.5, "b2": 0.5, "b3": 0.5}
    draws = pd.DataFrame(np.array(list(far.values())) + rng.normal(0, 0.1, (400, 6)), columns=base.index)
    p = npl.place_newcomers(_with(base, "far", far), labels, ["far"], draws={"far": draws}).iloc[0]
    assert p["image_agreement"] == 1.0 and p["confidence"] == 1.0


def test_assignment_hinging_on_one_member_has_low_member_agreement():
    base = _blocks()
    labels = pd.Series([0, 0, 0, 1, 1, 1], index=base.index)
    # one very similar model in block a pulls the mean just above block b's
    row = {"a1": 4.0, "a2": 0.6, "a3": 0.6, "b1": 1.7, "b2": 1.7, "b3": 1.7}
    p = npl.place_newcomers(_with(base, "new", row), labels, ["new"]).iloc[0]
    assert p["cluster"] == 0 and p["margin"] == pytest.approx(5.2 / 3 - 1.7)
    # leaving a1 out flips it to b; leaving a2 or a3 out keeps a; leaving any b member out keeps a
    assert p["member_agreement"] == pytest.approx(5 / 6)
    # a singleton cluster: leaving its only member out cannot compare the clusters and is skipped
    single = pd.Series([0, 0, 0, 0, 0, 1], index=base.index)
    row = {"a1": 3.0, "a2": 3.0, "a3": 3.0, "b1": 0.5, "b2": 0.5, "b3": 1.0}
    p = npl.place_newcomers(_with(base, "new", row), single, ["new"]).iloc[0]
    assert p["cluster"] == 0 and p["member_agreement"] == 1.0
    only = pd.Series([0, 1, 2, 3, 4, 5], index=base.index)
    p = npl.place_newcomers(_with(base, "new", row), only, ["new"]).iloc[0]
    assert math.isnan(p["member_agreement"]) and math.isnan(p["confidence"])


def test_existing_clusters_identical_with_and_without_the_newcomer_and_two_newcomers_are_independent():
    base = _blocks()
    alone = clustering.spectral_clustering(base, 2, seed=0).labels
    sat = _with(base, "n1", {"a1": 3.0, "a2": 3.0, "a3": 3.0, "b1": 0.5, "b2": 0.5, "b3": 0.5})
    sat = _with(sat, "n2", {"a1": 0.4, "a2": 0.4, "a3": 0.4, "b1": 2.8, "b2": 2.8, "b3": 2.8})
    labels = pd.Series(alone, index=base.index)
    both = npl.place_newcomers(sat, labels, ["n1", "n2"])
    assert both["cluster"].tolist() == [labels["a1"], labels["b1"]]
    one = npl.place_newcomers(sat, labels, ["n2"])
    pd.testing.assert_frame_equal(both.iloc[[1]].reset_index(drop=True), one)
    assert labels.tolist() == alone.tolist()  # the input labels are not touched
    with pytest.raises(ValueError, match="must not be among the clustered models"):
        npl.place_newcomers(sat, labels, ["a1"])


def test_roles_and_unmeasured_newcomer():
    assert npl.one_sided_newcomers({"x": "full", "n": "source", "t": "target"}, ["t", "x", "n", "y"]) == ["t", "n"]
    base = _blocks()
    labels = pd.Series([0, 0, 0, 1, 1, 1], index=base.index)
    p = npl.place_newcomers(_with(base, "ghost", {}), labels, ["ghost"]).iloc[0]
    assert pd.isna(p["cluster"]) and pd.isna(p["confidence"])


def test_image_bootstrap_draws_match_eq1_by_hand():
    # newcomer N one-sided (source) against B; two-sided against C; images 0..3
    rows = []
    for img, fooled in zip(range(4), [True, False, True, True]):
        rows.append({"source": "N", "target": "B", "image": img, "both_correct": img != 3, "fooled": fooled})
    for img in range(4):
        rows.append({"source": "N", "target": "C", "image": img, "both_correct": True, "fooled": img == 0})
        rows.append({"source": "C", "target": "N", "image": img, "both_correct": True, "fooled": img < 2})
    ti = pd.DataFrame(rows)
    d = npl.image_bootstrap_draws(ti, "N", ["B", "C", "D"], n_resamples=50, seed=1)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 4, size=(50, 4))
    for r in range(50):
        w = np.bincount(idx[r], minlength=4)
        # B: X_NB = {0, 1, 2}, fooled {0, 2}, one direction
        den = w[:3].sum()
        expect_b = math.log(max(1e-2, 100 * (w[0] + w[2]) / den)) if den else math.log(1e-2)
        # C: both directions over all 4 images: fooled counts per image 2, 1, 0, 0
        expect_c = math.log(max(1e-2, 100 * (2 * w[0] + w[1]) / (2 * w.sum())))
        assert d.loc[r, "B"] == pytest.approx(expect_b) and d.loc[r, "C"] == pytest.approx(expect_c)
    assert d["D"].isna().all()


def digits_features17():
    """A fifth tiny digits model (the target-side newcomer of the CLI test)."""
    from tests.factories import digits_features

    return digits_features(17)


@pytest.mark.slow  # three tiny SAT runs' worth of attacks, two analyses and a report through the CLI
def test_cli_analyze_places_one_sided_newcomers_in_unchanged_clusters(tmp_path):
    import json

    from zoolens.cli import main

    run = tmp_path / "sat"
    base = [f"py:tests.factories:{m}" for m in ("digits_linear", "digits_features", "digits_features2")]
    common = ["--data", "digits", "--n-images", "80", "--steps", "3", "--batch-size", "64", "-q"]
    assert main(["similarity", *sum((["--model", m] for m in base), []), *common, "--out", str(run)]) == 0
    assert main(["analyze", str(run), "--no-ensembles", "--no-figures", "--k", "2"]) == 0
    before = pd.read_csv(run / "analysis" / "sat_clusters.csv")
    assert not (run / "analysis" / "sat_newcomer_placement.csv").exists()  # no newcomers: nothing new
    src, tgt = "py:tests.factories:digits_features3", "py:tests.analysis.test_newcomer_placement:digits_features17"
    assert main(["similarity", "--add", src, "--to", str(run), "--one-sided", "source", "-q"]) == 0
    assert main(["similarity", "--add", tgt, "--to", str(run), "--one-sided", "target", "-q"]) == 0
    assert main(["analyze", str(run), "--no-ensembles", "--k", "2"]) == 0
    after = pd.read_csv(run / "analysis" / "sat_clusters.csv")
    pd.testing.assert_frame_equal(before, after)  # the existing clusters are kept, newcomers not in them
    placed = pd.read_csv(run / "analysis" / "sat_newcomer_placement.csv")
    assert placed["newcomer"].tolist() == [src, tgt] and placed["role"].tolist() == ["source", "target"]
    sat = pd.read_csv(run / "sat_matrix.csv", index_col=0)
    labels = after.set_index("model")["cluster"]
    for r in placed.itertuples():
        means = sat.loc[r.newcomer, labels.index].groupby(labels.to_numpy()).mean()
        assert r.cluster == means.idxmax() and r.mean_sat == pytest.approx(means.max())
        assert r.members == ", ".join(sorted(labels.index[labels == r.cluster]))
        assert 0 <= r.image_agreement <= 1 and (math.isnan(r.member_agreement) or 0 <= r.member_agreement <= 1)
        assert r.confidence == np.nanmin([r.member_agreement, r.image_agreement])
    index = json.loads((run / "analysis" / "index.json").read_text())
    assert any(f["file"] == "newcomer_placement.png" for f in index["figures"])
    assert any(t["file"] == "sat_newcomer_placement.csv" for t in index["tables"])
    assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert "Newcomers among the existing clusters" in page and "sat_newcomer_placement" in page
