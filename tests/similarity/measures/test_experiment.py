"""The ``measures`` experiment end to end on tiny models: tables, resume, features, CLI errors and the mini zoo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from zoolens.cli import main
from zoolens.errors import ZoolensError
from zoolens.runtime.rundir import RunDir
from zoolens.similarity.measures.agreement import error_consistency
from zoolens.similarity.measures.cka import linear_cka_naive
from zoolens.similarity.measures.config import MeasuresConfig
from zoolens.similarity.measures.features import penultimate_features
from zoolens.similarity.measures.run import run_measures
from tests.factories import tiny_model

A, B = "py:tests.factories:tiny_a", "py:tests.factories:tiny_b"
TINY = dict(data="digits", n_images=40, triplets=3, grid=4, tramer_images=6, tramer_scan=4, tramer_refine=3,
            batch_size=16, device="cpu")


def test_penultimate_features_are_the_input_of_the_logits_layer():
    m = tiny_model(0)
    x = torch.rand(3, 1, 8, 8)
    f = penultimate_features(m, x)
    assert f.shape == (3, 4 * 8 * 8)
    assert torch.allclose(m.net.fc(f), m(x), atol=1e-6)


def test_a_network_without_a_final_linear_is_a_clear_error():
    net = nn.Sequential(nn.Conv2d(1, 10, 8), nn.Flatten())
    with pytest.raises(ZoolensError, match="no final nn.Linear"):
        penultimate_features(net, torch.rand(2, 1, 8, 8), name="convonly")


def test_run_writes_one_row_per_pair_equal_to_the_formulas(tmp_path):
    out = tmp_path / "run"
    table = run_measures([A, B], out=out, measures="cka,error_consistency,disagreement,somepalli,tramer", **TINY)
    assert list(table[["model_a", "model_b"]].itertuples(index=False, name=None)) == [(A, B)]
    row = table.iloc[0]
    for col in ("cka", "error_consistency", "disagreement", "somepalli", "tramer_legitimate", "tramer_random",
                "tramer_adversarial", "tramer_adversarial_ab", "tramer_adversarial_ba"):
        assert col in table.columns
    assert row["n_images"] == 40 and row["somepalli_points"] == 3 * 16
    # the table equals the plain formulas on the parts the units left
    run = RunDir(out)
    pa, pb = run.read_part("measures_pred", A), run.read_part("measures_pred", B)
    assert row["disagreement"] == pytest.approx(float((pa["pred"] != pb["pred"]).mean()))
    ec = error_consistency(pa["pred"] == pa["label"], pb["pred"] == pb["label"])["error_consistency"]
    assert row["error_consistency"] == pytest.approx(ec, nan_ok=True)
    fa, fb = (np.load(out / run.read_part("measures_features", m)["file"].iloc[0]) for m in (A, B))
    assert fa.shape == (40, 256)
    assert row["cka"] == pytest.approx(linear_cka_naive(fa, fb), abs=1e-9)
    # Tramèr's adversarial direction: A's own distance along A's gradient against B's along the same steps
    ta, tb = (run.read_part("measures_tramer", m) for m in (A, B))
    own_a, own_b = (t[t["direction"] == "adversarial"].reset_index(drop=True) for t in (ta, tb))
    b_on_a, a_on_b = run.read_part("measures_tramer_adv", f"{A}\x00->\x00{B}"), \
        run.read_part("measures_tramer_adv", f"{B}\x00->\x00{A}")
    assert b_on_a["image"].tolist() == own_a["image"].tolist() and len(b_on_a) == 6
    both = ((own_a["pred"] == own_a["label"]) & (own_b["pred"] == own_b["label"])).to_numpy()
    gaps = []
    for own, other in ((own_a, b_on_a), (own_b, a_on_b)):
        d1, d2 = own["distance"].to_numpy(), other["distance"].to_numpy()
        gaps.append([abs(p - q) for p, q, c in zip(d1, d2, both) if c and np.isfinite(p) and np.isfinite(q)])
    # (the untrained tiny models rarely both classify an image correctly: an empty pool is NaN)
    assert row["tramer_adversarial_n"] == len(gaps[0]) + len(gaps[1])
    pooled = gaps[0] + gaps[1]
    assert row["tramer_adversarial"] == pytest.approx(float(np.mean(pooled)) if pooled else np.nan, nan_ok=True)
    dirs = np.load(out / run.read_part("measures_tramer_dir", A)["file"].iloc[0])
    assert dirs.shape == (6, 1, 8, 8)
    models = pd.read_csv(out / "measures_models.csv")
    assert set(models["model"]) == {A, B} and "tramer_random_unconverged" in models.columns
    # resume: nothing is recomputed, the same table comes back
    again = run_measures([A, B], out=out, measures="cka,error_consistency,disagreement,somepalli,tramer", **TINY)
    pd.testing.assert_frame_equal(again, table)


@pytest.mark.parametrize("args,message", [
    (["measures", "py:tests.factories:tiny_a", "--out", "{out}"], "give at least two models"),
    (["measures", "py:tests.factories:tiny_a", "py:tests.factories:tiny_b", "--measures", "cka,nope",
      "--out", "{out}"], "unknown measure(s) nope"),
    (["measures", "py:tests.factories:tiny_a", "py:tests.factories:tiny_b", "--grid", "1", "--out", "{out}"],
     "grid (--grid) must be an integer ≥ 2"),
    (["measures", "py:tests.factories:tiny_a", "py:tests.factories:tiny_b"], "--out is required"),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, args, message):
    assert main([a.replace("{out}", str(tmp_path / "o")) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_cli_on_the_mini_zoo(capsys, tmp_path):
    out = tmp_path / "mini"
    code = main(["measures", "--zoo", "fmnist-mini", "--only", "resnet_baseline", "--only", "vit_baseline",
                 "--only", "mixer_baseline", "-n", "24", "--triplets", "2", "--grid", "4", "--device", "cpu",
                 "--measures", "cka,error_consistency,disagreement,somepalli,tramer", "--tramer-images", "4",
                 "--tramer-scan", "4", "--tramer-refine", "2", "--arch-clusters", "2", "--quiet", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out / "measures.csv")
    assert len(table) == 3
    assert table["cka"].between(0, 1).all() and table["somepalli"].between(0, 1).all()
    assert table["disagreement"].between(0, 1).all()
    # trained models: the adversarial direction finds boundaries (a fooling step, both classify correctly)
    assert (table["tramer_adversarial_n"] > 0).all() and (table["tramer_adversarial"] >= 0).all()
    assert "similarity measures" in capsys.readouterr().out
    clusters = pd.read_csv(out / "arch_clusters.csv")
    assert list(clusters.columns) == ["model", "arch_cluster"] and len(clusters) == 3
