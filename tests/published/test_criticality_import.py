"""The criticality paper's published raw results: import, round trip, scorecard, bad files.

Every number checked here is recomputed directly with pandas from the authors' CSV,
so the import and the analyses are held to data nobody here made.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zoolens.analysis.findings import CLAIMS, VERDICTS
from zoolens.cli import main
from zoolens.published import PUBLISHED_FILES, published_path, sha256_file

RAW = published_path("layer_criticality_results.csv")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from zoolens.report import analyze

    out = tmp_path_factory.mktemp("pub") / "crit"
    assert main(["import", "criticality", "published", "--out", str(out)]) == 0
    a = analyze(out, figures=False)  # the tests read tables and findings
    return out, a


@pytest.fixture(scope="module")
def raw():
    df = pd.read_csv(RAW)
    df = df[df["model_id"] != "resnet50_frozen_random"].copy()
    df["criticality"] = 1 - df["pred_cos_sim"]
    return df


def _ids() -> dict[str, str]:
    from zoolens.zoo.metadata import zoo_metadata

    return {pid: name for name, pid in zoo_metadata("paper-r50")["published_id"].items()}


def test_shipped_files_are_the_authors_unmodified():
    for name, digest in PUBLISHED_FILES.items():
        assert sha256_file(published_path(name)) == digest, name


@pytest.mark.slow  # the module fixture imports and analyses all 50 published models (~15 s)
def test_import_round_trip(imported, raw):
    out, _ = imported
    man = json.loads((out / "manifest.json").read_text())["runs"]["criticality"]
    assert man["imported"] and man["source"]["sha256"] == PUBLISHED_FILES["layer_criticality_results.csv"]
    assert man["dropped_models"] == ["resnet50_frozen_random"]
    rows = pd.read_parquet(out / "criticality.parquet")
    assert len(rows) == len(raw) == 50 * 54 * 3
    assert rows["model"].nunique() == 50 and set(rows["published_id"]) == set(raw["model_id"])
    # every (model, layer, trial) value equals 1 - pred_cos_sim of the authors' row
    ids = _ids()
    r = raw.assign(model=raw["model_id"].map(ids), layer=raw["layer"].str.replace("model.", "", regex=False))
    merged = rows.merge(r, left_on=["model", "layer", "seed"], right_on=["model", "layer", "trial"])
    assert len(merged) == len(rows)
    np.testing.assert_allclose(merged["cosine_distance"], merged["criticality"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(merged["l1"], merged["pred_l1_err"])
    # the CSV copy equals the Parquet table
    pd.testing.assert_frame_equal(pd.read_csv(out / "criticality.csv")[rows.columns[:6]], rows[rows.columns[:6]],
                                  check_dtype=False)
    models = pd.read_csv(out / "models.csv")
    assert (models["reference"].str.startswith("zoo:paper-r50/")).all() and len(models) == 50


@pytest.mark.slow  # the module fixture imports and analyses all 50 published models (~15 s)
def test_figures_equal_direct_pandas(imported, raw):
    out, a = imported
    folder = out / "analysis"
    ids = _ids()
    mean = raw.groupby(["model_id", "layer"])["criticality"].mean()
    std = raw.groupby(["model_id", "layer"])["criticality"].std(ddof=1)
    # Fig. 1: the matrix, cell by cell, after the label mapping
    mat = pd.read_csv(folder / "criticality_matrix.csv", index_col=0)
    assert mat.shape == (50, 54)
    assert mat.loc["pixmix_180ep", "[3.5] conv2"] == pytest.approx(mean["resnet50_pixmix_180ep", "model.layer3.5.conv2"])
    assert mat.loc["baseline", "[0.0] conv"] == pytest.approx(mean["tv_resnet50", "model.conv1"])
    assert mat.loc["timm_a1", "[1.0] downsample"] == pytest.approx(mean["resnet50.a1_in1k", "model.layer1.0.downsample.0"])
    assert mat.loc["swav", "[Head] fc"] == pytest.approx(mean["resnet50_swav", "model.fc"])
    # Fig. 5: standard error = std / sqrt(3)
    sem = pd.read_csv(folder / "criticality_sem.csv", index_col=0)
    assert sem.loc["dino_v1", "[4.2] conv3"] == pytest.approx(std["resnet50_dino", "model.layer4.2.conv3"] / np.sqrt(3))
    # Fig. 3: Spearman of mean criticality vs the published top-1 (the authors' notebook, cell 3)
    per = raw.groupby("model_id")["criticality"].mean()
    from zoolens.zoo.metadata import zoo_metadata

    meta = zoo_metadata("paper-r50").set_index("published_id")
    acc = meta.loc[per.index, "published_top1"]
    rho_all = stats.spearmanr(per, acc)[0]
    keep = meta.loc[per.index, "category"] != "adversarial_training"
    rho_wo = stats.spearmanr(per[keep.to_numpy()], acc[keep.to_numpy()])[0]
    corr = pd.read_csv(folder / "criticality_accuracy_correlation.csv")
    assert corr["spearman_rho"].tolist() == pytest.approx([rho_all, rho_wo])
    f = {x["id"]: x for x in a.findings}
    assert f["crit.accuracy_spearman_all"]["measured"] == pytest.approx(rho_all)
    # Fig. 2: per norm, the AT models at their printed ε
    budget = pd.read_csv(folder / "criticality_budget.csv")
    linf = budget[budget["norm"] == "linf"].set_index("model")
    assert linf.loc["pgd_at_linf_eps_8.0", "epsilon"] == 8.0
    assert linf.loc["pgd_at_linf_eps_8.0", "mean_criticality"] == pytest.approx(per["robust_resnet50_linf_eps8.0"])
    l2 = budget[budget["norm"] == "l2"]
    assert len(l2) == 10 and len(linf) == 6  # 9 L2 budgets + ε = 0, 5 L∞ budgets + ε = 0
    rho_l2 = stats.spearmanr(l2["epsilon"], l2["mean_criticality"])[0]
    assert f["crit.at_budget_spearman_l2"]["measured"] == pytest.approx(rho_l2)


@pytest.mark.slow  # the module fixture imports and analyses all 50 published models (~15 s)
def test_scorecard_fields(imported):
    out, _ = imported
    saved = json.loads((out / "analysis" / "findings.json").read_text())
    assert {x["id"] for x in saved} == {c for c in CLAIMS if c.startswith("crit.")}
    for x in saved:
        assert set(x) >= {"id", "claim", "paper", "measured", "verdict", "evidence"}
        assert x["verdict"] in VERDICTS and x["evidence"]
        assert x["verdict"] != "not testable", x["id"]  # the published zoo has what every claim needs


@pytest.mark.slow
def test_no_figures_writes_the_tables_and_scorecard_only(imported, capsys):
    out, a = imported
    folder = out / "analysis"
    assert a.figures == [] and not list(folder.glob("*.png")) and not list(folder.glob("*.pdf"))
    assert json.loads((folder / "index.json").read_text())["figures"] == []
    assert (folder / "criticality_matrix.csv").is_file() and len(json.loads((folder / "findings.json").read_text()))
    capsys.readouterr()
    assert main(["analyze", "-q", "--no-figures", str(out)]) == 0  # the same through the command line
    assert "0 figures" in capsys.readouterr().out and not list(folder.glob("*.png"))


@pytest.mark.slow  # the module fixture imports and analyses all 50 published models (~15 s)
def test_metadata_and_without_at(imported):
    out, a = imported
    per = pd.read_csv(out / "analysis" / "criticality_per_model.csv").set_index("model")
    assert (per["accuracy_source"] == "published ImageNet top-1").all()
    assert per.loc["pgd_at_l2_eps_3", "norm"] == "l2" and per.loc["pgd_at_l2_eps_3", "epsilon"] == 3.0
    assert per.loc["dino_v1", "category"] == "ssl"
    assert not any("No metadata" in n for n in a.notes)  # every published model has its metadata
    corr = pd.read_csv(out / "analysis" / "criticality_accuracy_correlation.csv")
    assert corr["n"].tolist() == [50, 35]  # the 15 AT models (ε = 0 included) are really left out


def test_keep_frozen_random(tmp_path):
    import zoolens

    out = zoolens.import_criticality("published", tmp_path / "c", keep_frozen_random=True)  # the public API
    models = pd.read_csv(out / "models.csv").set_index("model")
    assert len(models) == 51 and models.loc["resnet50_frozen_random", "category"] == "freezing"


def _write(tmp_path, df: pd.DataFrame) -> str:
    p = tmp_path / "bad.csv"
    df.to_csv(p, index=False)
    return str(p)


def _small() -> pd.DataFrame:
    df = pd.read_csv(RAW, nrows=54 * 3)
    return df


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d.drop(columns=["pred_cos_sim"]), "lacks the column(s) pred_cos_sim"),
    (lambda d: d.assign(pred_cos_sim=d["pred_cos_sim"].where(d.index != 7, np.nan)), "row 9, column pred_cos_sim"),
    (lambda d: d.assign(pred_cos_sim=d["pred_cos_sim"].astype(object).where(d.index != 3, "abc")), "row 5"),
    (lambda d: d.assign(model_id=d["model_id"].where(d.index != 10, "my_resnet")), "'my_resnet'"),
    (lambda d: d.assign(layer=d["layer"].where(d.index != 2, "model.layer9.0.conv1")), "layer9.0.conv1"),
    (lambda d: pd.concat([d, d.iloc[[0]]]), "occurs twice"),
    (lambda d: d.assign(pred_cos_sim=d["pred_cos_sim"].where(d.index != 0, 1.7)), "row 2: pred_cos_sim = 1.7"),
], ids=["missing-column", "nan", "text", "unknown-model", "unknown-layer", "duplicate-row", "not-a-cosine"])
def test_bad_files_one_line_error(tmp_path, capsys, mutate, needle):
    bad = _write(tmp_path, mutate(_small()))
    out = tmp_path / "out"
    assert main(["import", "criticality", bad, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and needle in err, err
    assert not out.exists() and not list(tmp_path.glob(".out.*"))  # nothing half-written


def test_unreadable_and_existing_out(tmp_path, capsys):
    garbage = tmp_path / "g.csv"
    garbage.write_bytes(b"\x00\xff\xfe garbage")
    assert main(["import", "criticality", str(garbage), "--out", str(tmp_path / "o")]) == 2
    assert "error:" in capsys.readouterr().err
    native = tmp_path / "native"
    native.mkdir()
    (native / "criticality_summary.csv").write_text("x\n")
    assert main(["import", "criticality", "published", "--out", str(native)]) == 2
    assert "already holds something other than an imported" in capsys.readouterr().err
    assert (native / "criticality_summary.csv").read_text() == "x\n"  # untouched


def test_zoo_list_shows_the_papers_zoos_with_authors_ids(capsys):
    assert main(["zoo", "list", "paper-r50", "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == 50 and rows["baseline"]["published_id"] == "tv_resnet50"
    assert rows["pgd_at_linf_eps_8.0"]["norm"] == "linf" and rows["pgd_at_linf_eps_8.0"]["published_top1"] == 54.53
    authors = set(pd.read_csv(RAW, usecols=["model_id"])["model_id"]) - {"resnet50_frozen_random"}
    assert {r["published_id"] for r in rows.values()} == authors
    assert main(["zoo", "list", "paper-sat69", "--format", "json"]) == 0
    sat = json.loads(capsys.readouterr().out)
    assert len(sat) == 69 and {r["paper_cluster"] for r in sat} == set(range(1, 11))
