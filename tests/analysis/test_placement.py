"""A user's own runs placed among the papers' published zoos (``analyze --against``, ``report A B``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from zoolens.analysis import placement
from zoolens.cli import main
from zoolens.errors import ZoolensError


def test_profile_distances_naive():
    ref = pd.DataFrame([[0.1, 0.5, 0.9], [0.4, 0.4, 0.4]], index=["r1", "r2"], columns=["a", "b", "c"])
    user = pd.DataFrame([[0.4, 0.5, np.nan, 0.7]], index=["u"], columns=["a", "b", "c", "extra"])
    d = placement.profile_distances(user, ref)
    # shared layers a, b; c is NaN in the user's row and left out; 'extra' is not in the reference
    r1 = np.sqrt(((0.1 - 0.4) ** 2 + 0) / 2)
    r2 = np.sqrt(((0.4 - 0.4) ** 2 + (0.4 - 0.5) ** 2) / 2)
    assert d["reference_model"].tolist() == ["r2", "r1"] and d["rank"].tolist() == [1, 2]
    assert d["distance"].tolist() == pytest.approx([r2, r1]) and d["n_layers"].tolist() == [2, 2]
    with pytest.raises(ZoolensError, match="shares 0 of the reference's 3 layers"):
        placement.profile_distances(pd.DataFrame([[1.0]], index=["u"], columns=["z"]), ref)


def test_timm_and_torchvision_layer_names_share_labels():
    import timm
    import torch
    import torchvision

    from zoolens.criticality.labels import paper_labels

    def convs(net):
        return [n for n, m in net.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]

    with torch.device("meta"):
        tv, tm = torchvision.models.resnet50(), timm.create_model("resnet50")
    assert paper_labels(convs(tv)) == paper_labels(convs(tm))
    assert len(set(paper_labels(convs(tv)))) == 54


@pytest.mark.slow
def test_resnet50_init_run_placed_among_published(tmp_path, capsys):
    run = tmp_path / "r50"
    assert main(["criticality", "-m", "timm:resnet50@init:0", "--data", "digits", "-n", "2", "--seeds", "1",
                 "--out", str(run)]) == 0
    assert main(["analyze", str(run), "--against", "published"]) == 0
    near = pd.read_csv(run / "analysis" / "placement_criticality.csv")
    assert near["rank"].tolist() == [1, 2, 3, 4, 5] and (near["n_layers"] == 54).all()
    # the distances equal a direct computation against the imported published matrix
    from zoolens.data.cache import cache_root

    ref = pd.read_csv(cache_root() / "published" / "criticality" / "criticality_summary.csv")
    mine = pd.read_csv(run / "criticality_summary.csv").set_index("label")["criticality_mean"]
    rms = ref.assign(d=(ref["criticality_mean"] - ref["label"].map(mine)) ** 2).groupby("model")["d"].mean() ** 0.5
    best = rms.sort_values().head(5)
    assert near["reference_model"].tolist() == best.index.tolist()
    assert near["distance"].tolist() == pytest.approx(best.tolist())
    index = json.loads((run / "analysis" / "index.json").read_text())
    assert any(f["file"] == "placement_criticality.png" for f in index["figures"])
    # report MYRUN PUBLISHED places the run by itself and shows the heatmap
    pub = tmp_path / "pub"
    assert main(["import", "criticality", "published", "--out", str(pub)]) == 0
    assert main(["report", str(run), str(pub), "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert "Your models in the reference heatmap" in page and "Scorecard" in page
    assert json.loads((run / "analysis" / "index.json").read_text())["summary"]["reference_run"] == str(pub)


def _fake_sat_run(path, refs: dict[str, str], sat: pd.DataFrame) -> None:
    path.mkdir(parents=True)
    sat.to_csv(path / "sat_matrix.csv")
    man = {"runs": {"similarity": {"models": [{"model": m, "ref": r} for m, r in refs.items()], "complete": True}}}
    (path / "manifest.json").write_text(json.dumps(man))


@pytest.mark.slow
def test_sat_run_compared_on_shared_pairs(tmp_path):
    from zoolens.report import analyze
    from zoolens.published import published_path

    pub = pd.read_csv(published_path("SAT_release.csv"), index_col=0)
    refs = {"r50": "timm:resnet50.a1_in1k", "vits": "timm:vit_small_patch16_224", "deit": "zoo:paper-sat69/"
            "deit_small_patch16_224", "cnx": "timm:convnext_tiny@init:0", "mine": "py:my.module:net"}
    names = {"r50": "resnet50", "vits": "vit_small_patch16_224", "deit": "deit_small_patch16_224",
             "cnx": "convnext_tiny"}
    assert placement.sat69_names(refs) == names  # py: models have no counterpart
    rng = np.random.default_rng(0)
    sat = pd.DataFrame(4.0, index=list(refs), columns=list(refs))
    for a in refs:
        for b in refs:
            if a < b:
                v = pub.loc[names[a], names[b]] + rng.normal(0, 0.2) if a in names and b in names else 1.0
                sat.loc[a, b] = sat.loc[b, a] = v
    _fake_sat_run(tmp_path / "mine", refs, sat)
    a = analyze(tmp_path / "mine", ensembles=False, against="published")
    pairs = pd.read_csv(tmp_path / "mine" / "analysis" / "placement_sat_pairs.csv")
    assert len(pairs) == 6  # C(4, 2) shared pairs; 'mine' is not among the 69
    direct = np.corrcoef(pairs["sat"], [pub.loc[r.reference_a, r.reference_b] for r in pairs.itertuples()])[0, 1]
    assert a.summary["placement_sat"]["pearson_r"] == pytest.approx(direct)
    assert (pairs["sat_reference"] == [pub.loc[r.reference_a, r.reference_b] for r in pairs.itertuples()]).all()


@pytest.mark.slow
def test_against_errors(tmp_path, capsys):
    run = tmp_path / "sat"
    _fake_sat_run(run, {"a": "x", "b": "y"}, pd.DataFrame([[4.0, 1.0], [1.0, 4.0]], index=["a", "b"],
                                                          columns=["a", "b"]))
    assert main(["analyze", str(run), "--no-ensembles", "--against", str(tmp_path / "nope")]) == 2
    assert "reference run" in capsys.readouterr().err
    assert main(["analyze", str(run), "--no-ensembles", "--against", str(run)]) == 2
    assert "is the run itself" in capsys.readouterr().err
    assert main(["analyze", str(run), "--no-ensembles", "--k", "many"]) == 2
    assert "--k 'many'" in capsys.readouterr().err
