"""`zoolens analyze` on a SAT run of epoch checkpoints: stability table (App. A.1) and training curve (App. G.3)."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest
from zoolens.cli import main
from zoolens.zoo.augment import load_split
from zoolens.zoo.checkpoints import checkpoint_path
from zoolens.zoo.mini import recipe_for
from zoolens.zoo.train_zoo import train_zoo

ZOO = "fmnist-mini"


@pytest.fixture(scope="module")
def ckpt_run(tmp_path_factory):
    from zoolens.similarity.run import run_sat

    root = tmp_path_factory.mktemp("ckpt")
    x, y = load_split("train")
    xt, yt = load_split("test")  # the manifest's accuracy (not used here) on 256 test images, not 10,000
    recipe = replace(recipe_for(ZOO, "resnet_baseline"), epochs=2, batch_size=64, warmup_steps=2)
    train_zoo(ZOO, [recipe], root / "zoo", train_data=(x[:256], y[:256]), test_data=(xt[:256], yt[:256]),
              save_every=1)
    refs = [f"zoo:{ZOO}/resnet_baseline@{checkpoint_path(root / 'zoo', 'resnet_baseline', e)}" for e in range(3)]
    run_sat(refs, data="fashion-mnist", n_images=200, attack="pgd", steps=2, out=root / "sat", n_resamples=50,
            batch_size=100)
    return root / "sat"


def test_analyze_writes_the_curve_the_stability_table_and_the_finding(ckpt_run):
    from zoolens.report import analyze

    a = analyze(ckpt_run, ensembles=False)
    curve = pd.read_csv(ckpt_run / "analysis" / "sat_training_curve.csv")
    sat = pd.read_csv(ckpt_run / "sat_matrix.csv", index_col=0)
    final = "resnet_baseline@epoch_002"
    assert list(curve["epoch"]) == [0, 1, 2] and (curve["final_member"] == final).all()
    assert list(curve["sat"]) == pytest.approx([sat.loc[final, f"resnet_baseline@epoch_{e:03d}"] for e in range(3)])
    assert curve["self_sat"].iloc[0] == pytest.approx(sat.loc[final, final])
    found = {f["id"]: f for f in json.loads((ckpt_run / "analysis" / "findings.json").read_text())}
    assert found["sat.training_curve"]["verdict"] in {"reproduced", "not reproduced"}
    assert found["sat.training_curve"]["measured"] == pytest.approx(curve["ratio"].iloc[1])
    stab = pd.read_csv(ckpt_run / "analysis" / "sat_stability.csv")
    transfer = pd.read_csv(ckpt_run / "transfer.csv")
    nonempty = transfer[(transfer.source < transfer.target) & (transfer.n_both_correct > 0)]  # X_AB ≠ ∅ (untrained e0)
    assert len(nonempty) >= 1
    assert len(stab) == 2 * len(nonempty) and sorted(stab["n_images"].unique()) == [10, 20]  # 5 %, 10 % of 200
    assert (stab["cost_passes"] == 2 * (stab["n_images"] * 2 + stab["n_images"])).all()
    assert {"sat_training.png", "sat_stability.png"} <= {f["file"] for f in a.figures}


def test_cli_stability_pair_option(ckpt_run, capsys):
    pair = "resnet_baseline@epoch_001,resnet_baseline@epoch_002"  # both trained: X_AB ≠ ∅
    assert main(["analyze", str(ckpt_run), "--no-ensembles", "--no-figures", "-q", "--stability-pair", pair]) == 0
    stab = pd.read_csv(ckpt_run / "analysis" / "sat_stability.csv")
    assert set(zip(stab["model_a"], stab["model_b"])) == {tuple(pair.split(","))}
    for bad, msg in (("onlyone", "not two different model names"), ("x,y", "no per-image outcomes")):
        capsys.readouterr()
        assert main(["analyze", str(ckpt_run), "--no-ensembles", "-q", "--stability-pair", bad]) == 2
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_interactive_views_compile(ckpt_run):
    import vl_convert

    from zoolens.report import analyze
    from zoolens.report.interactive import vega_lite_version

    analyze(ckpt_run, ensembles=False)
    for name in ("sat_training", "sat_stability"):
        spec = json.loads((ckpt_run / "analysis" / f"{name}.vl.json").read_text())
        assert spec["data"]["values"]
        vl_convert.vegalite_to_vega(spec, vl_version=vega_lite_version())
