"""The SAT paper's published data: import, round trip, analysis findings, planted clusters, bad files.

No network and no model is loaded: everything runs on the shipped CSV files and on
small synthetic matrices.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from zoolens.analysis import clustering, paper_clusters, sat_findings
from zoolens.cli import main
from zoolens.published import PUBLISHED_FILES, published_path, sha256_file
from zoolens.published.sat_import import import_sat
from zoolens.zoo.architectures import COMPONENT_COLUMNS
from zoolens.zoo.metadata import zoo_metadata

SAT_IDS = ("sat.table1_ari", "sat.base_architecture_most_important", "sat.stem_as_important_as_basic_components",
           "sat.dwconv_least_important", "sat.mean_all_pairs", "sat.self_similarity_below_oracle")


def _published_matrix() -> pd.DataFrame:
    return pd.read_csv(published_path("SAT_release.csv"), index_col=0)


def _authors_components() -> pd.DataFrame:
    """The authors' feature table, mapped by hand here (independently of the importer's code)."""
    f = pd.read_csv(published_path("SAT_model_features.csv"), dtype=str, keep_default_na=False)
    f = f.set_index("Model name")
    f.columns = list(COMPONENT_COLUMNS)  # the authors' 13 columns are in the paper's (and our) order
    f["input_resolution"] = f["input_resolution"].str.split(" x ").str[0]
    f["cw_attention_location"] = f["cw_attention_location"].replace("~", "")
    return f


@pytest.mark.parametrize("name", ["SAT_release.csv", "SAT_model_features.csv"])
def test_shipped_sat_files_are_the_authors(name):
    assert sha256_file(published_path(name)) == PUBLISHED_FILES[name]


def test_authors_components_equal_our_transcription():
    """Our OCR transcription of Tables C.2–C.4 (zoo:paper-sat69) agrees cell by cell with the authors' file."""
    from zoolens.zoo.paper.sat69 import CSV_PATH

    ours = pd.read_csv(CSV_PATH, dtype=str, keep_default_na=False)
    ours = ours.set_index("timm_name")
    theirs = _authors_components()
    assert set(ours.index) == set(theirs.index)
    diff = [(m, c, theirs.at[m, c], ours.at[m, c]) for m in theirs.index for c in COMPONENT_COLUMNS
            if theirs.at[m, c] != ours.at[m, c]]
    assert diff == []


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    return import_sat("published", tmp_path_factory.mktemp("sat") / "published-sat")


def test_import_round_trip(imported):
    direct = _published_matrix()
    back = pd.read_csv(imported / "sat_matrix.csv", index_col=0)
    pd.testing.assert_frame_equal(back, direct, check_names=False, check_exact=True)

    models = pd.read_csv(imported / "models.csv", dtype=str, keep_default_na=False).set_index("model")
    assert list(models.index) == list(direct.index)
    assert (models["reference"] == "zoo:paper-sat69/" + models.index).all()
    assert (models["published_id"] == models.index).all()
    theirs = _authors_components().loc[models.index]
    pd.testing.assert_frame_equal(models[list(COMPONENT_COLUMNS)].astype(object), theirs.astype(object),
                                  check_names=False, check_dtype=False)

    run = json.loads((imported / "manifest.json").read_text())["runs"]["similarity"]
    assert run["imported"] is True and run["eps_s"] is None and run["n_models"] == 69
    assert run["source"]["sha256"] == PUBLISHED_FILES["SAT_release.csv"]
    assert run["components"]["sha256"] == PUBLISHED_FILES["SAT_model_features.csv"]
    assert run["models"] == [{"model": m, "ref": f"zoo:paper-sat69/{m}"} for m in direct.index]
    assert not (imported / "clean.parquet").exists()


@pytest.fixture(scope="module")
def analysed(imported):
    """The imported run analysed with the ensembles on: an imported run must not load any model."""
    import zoolens.analysis.logits as logits

    from zoolens.report import analyze

    def no_loading(*a, **k):
        raise AssertionError("an imported run must not load models for logits")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logits, "clean_logits", no_loading)
        a = analyze(imported, ensembles=True, figures=False)  # the tests read tables and findings
    return a, {f["id"]: f for f in a.findings}


@pytest.mark.slow  # with the next test: the `analysed` fixture analyses all 69 models
def test_analysis_findings_on_published(analysed, imported):
    a, found = analysed
    on_disk = json.loads((imported / "analysis" / "findings.json").read_text())
    assert {f["id"] for f in on_disk} >= set(SAT_IDS)
    for f in on_disk:
        assert set(f) >= {"id", "claim", "paper", "measured", "verdict", "evidence"}
    m = _published_matrix().to_numpy()
    off = m[~np.eye(len(m), dtype=bool)]
    assert found["sat.mean_all_pairs"]["measured"] == pytest.approx(off.mean(), abs=1e-12)
    assert found["sat.mean_all_pairs"]["verdict"] != "not testable"
    assert found["sat.self_similarity_below_oracle"]["measured"] == int((np.diag(m) < math.log(100) - 1e-6).sum())
    for key in ("sat.err_vs_sat_negative", "sat.err_rises_with_k"):
        assert found[key]["verdict"] == "not testable" and "no logits" in found[key]["evidence"]
    for key in ("sat.base_architecture_most_important", "sat.stem_as_important_as_basic_components",
                "sat.dwconv_least_important"):
        assert found[key]["verdict"] in ("reproduced", "not reproduced")


@pytest.mark.slow
def test_published_clusters_vs_table1(analysed, imported):
    """K = 10 (the paper's) is chosen; ARI and the contingency table equal a direct computation."""
    from sklearn.metrics import adjusted_rand_score

    a, found = analysed
    assert a.summary["clustering"]["k"] == 10 and "paper" in a.summary["clustering"]["k_source"]
    assert "paper" in next(t["title"] for t in a.tables if t["file"] == "sat_clusters.csv")
    cl = pd.read_csv(imported / "analysis" / "sat_clusters.csv").set_index("model")
    table1 = zoo_metadata("paper-sat69").loc[cl.index, "paper_cluster"].astype(int)
    assert found["sat.table1_ari"]["measured"] == pytest.approx(adjusted_rand_score(table1, cl["cluster"]))
    ct = pd.read_csv(imported / "analysis" / "table1_contingency.csv").set_index("cluster")
    direct = pd.crosstab(cl["cluster"], table1)
    assert ct.to_numpy().tolist() == direct.to_numpy().tolist()
    side = pd.read_csv(imported / "analysis" / "table1_keywords.csv")
    assert len(side) == 10 and side["table1_keywords"].str.count(";").eq(4).all()


def test_eigengap_stays_available(imported):
    refs = {m: f"zoo:paper-sat69/{m}" for m in _published_matrix().index}
    assert paper_clusters.choose_k(None, refs)[0] == 10
    assert paper_clusters.choose_k("eigengap", refs) == (None, "eigengap")
    assert paper_clusters.choose_k(7, refs) == (7, "given")
    assert paper_clusters.choose_k(None, dict(list(refs.items())[:20])) == (None, "eigengap")


def _planted(sizes=(5, 4, 6), seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    n = len(labels)
    s = np.where(labels[:, None] == labels[None, :], 4.0, 1.0) + rng.uniform(-0.3, 0.3, (n, n))
    s = (s + s.T) / 2
    np.fill_diagonal(s, math.log(100))
    perm = rng.permutation(n)  # shuffled so no cluster is contiguous
    names = [f"m{i}" for i in range(n)]
    return pd.DataFrame(s[np.ix_(perm, perm)], index=names, columns=names), labels[perm]


@pytest.mark.parametrize("k", [3, None])
def test_planted_clusters_give_ari_one(k):
    sat, planted = _planted()
    res = clustering.spectral_clustering(sat, k)
    ari, ct = paper_clusters.cluster_agreement(res.labels, planted + 1)
    assert res.k == 3 and ari == pytest.approx(1.0)
    assert sorted(ct.to_numpy().max(axis=1).tolist()) == [4, 5, 6]
    # one wrong assignment is no longer a perfect agreement
    wrong = res.labels.copy()
    wrong[0] = (wrong[0] + 1) % 3
    assert paper_clusters.cluster_agreement(wrong, planted)[0] < 1.0


def _importance(order):
    n = len(order)
    return pd.DataFrame({"component": order, "importance_mean": np.linspace(1.0, 0.1, n),
                         "importance_std": 0.0, "n_distinct": 5})


def test_importance_rules():
    base = ["base_architecture", "stem_layer", "normalization", "activation", "self_attention_2d",
            "channel_wise_attention", "input_resolution", "hierarchical", "pooling_at_stem", "final_pooling",
            "cw_attention_location", "group_conv", "depthwise_conv"]
    imp = _importance(base)
    assert sat_findings.base_architecture_most_important(imp)[0] == "reproduced"
    assert sat_findings.stem_as_important_as_basic(imp)[0] == "reproduced"
    assert sat_findings.dwconv_least_important(imp)[::2] == ("reproduced", 13.0)
    swapped = _importance(base[1:2] + base[:1] + base[2:-1][::-1] + base[-1:])
    assert sat_findings.base_architecture_most_important(swapped)[::2] == ("not reproduced", 2.0)
    # stem below the basic components' median; depthwise conv at rank 9 of 13 (not the bottom quarter)
    late = _importance(["base_architecture", "normalization", "activation", "self_attention_2d",
                        "channel_wise_attention", "input_resolution", "hierarchical", "pooling_at_stem",
                        "depthwise_conv", "final_pooling", "cw_attention_location", "group_conv", "stem_layer"])
    assert sat_findings.stem_as_important_as_basic(late)[0] == "not reproduced"
    assert sat_findings.dwconv_least_important(late)[::2] == ("not reproduced", 9.0)
    # a component that never differs cannot be ranked
    flat = imp.copy()
    flat.loc[flat["component"] == "depthwise_conv", "n_distinct"] = 0
    assert sat_findings.dwconv_least_important(flat)[0] == "not testable"
    flat.loc[flat["component"] == "stem_layer", "n_distinct"] = 0
    assert sat_findings.stem_as_important_as_basic(flat)[0] == "not testable"
    assert sat_findings.base_architecture_most_important(flat)[0] == "reproduced"
    assert sat_findings.base_architecture_most_important(None)[0] == "not testable"


def test_matrix_rules():
    names = ["a", "b", "c"]
    m = np.full((3, 3), 2.73)
    np.fill_diagonal(m, math.log(100))
    sat = pd.DataFrame(m, index=names, columns=names)
    assert sat_findings.mean_all_pairs(sat, True)[::2] == ("reproduced", pytest.approx(2.73))
    assert sat_findings.mean_all_pairs(sat + 0.01, True)[0] == "not reproduced"
    verdict, evidence, measured = sat_findings.mean_all_pairs(sat, False)
    assert verdict == "not testable" and measured == pytest.approx(2.73)
    assert sat_findings.self_similarity(sat)[::2] == ("reproduced", 0)
    m[1, 1] = math.log(89.9)
    verdict, evidence, measured = sat_findings.self_similarity(pd.DataFrame(m, index=names, columns=names))
    assert verdict == "not reproduced" and measured == 1 and "(b," in evidence
    assert sat_findings.table1_ari(None, 3, "given", 3, None)[0] == "not testable"
    assert sat_findings.table1_ari(0.49, 10, "given", 69, 0.8)[0] == "not reproduced"


def test_subset_import_uses_its_own_components(tmp_path):
    """A subset matrix without components takes the zoo's; with a components file, the file's values win."""
    from zoolens.report import analyze

    full = _published_matrix()
    names = ["resnet50", "resnet101", "deit_small_patch16_224", "deit_base_patch16_224", "convnext_tiny",
             "swin_tiny_patch4_window7_224", "efficientnet_b2", "mixnet_xl"]
    full.loc[names, names].to_csv(tmp_path / "sub.csv")
    comp = pd.read_csv(published_path("SAT_model_features.csv"), dtype=str, keep_default_na=False)
    comp.loc[comp["Model name"] == "resnet50", "Activation"] = "Mish"
    comp.to_csv(tmp_path / "features.csv", index=False)

    plain = import_sat(tmp_path / "sub.csv", tmp_path / "plain")
    assert "activation" not in pd.read_csv(plain / "models.csv").columns
    own = import_sat(tmp_path / "sub.csv", tmp_path / "own", components=tmp_path / "features.csv")
    a = analyze(own, ensembles=False)
    found = {f["id"]: f for f in a.findings}
    assert a.summary["clustering"]["k_source"] == "eigengap"
    assert found["sat.mean_all_pairs"]["verdict"] == "not testable"
    assert found["sat.table1_ari"]["verdict"] != "not testable"  # Table 1 clusters come from the zoo
    pairs = pd.read_csv(own / "analysis" / "hamming_features.csv")
    r50_r101 = pairs[(pairs["model_a"] == "resnet50") & (pairs["model_b"] == "resnet101")]
    assert r50_r101["activation"].tolist() == [1]  # Mish vs ReLU: the imported components were used


# ---------------------------------------------------------------- bad files, through the real CLI


def _names(n):
    return list(zoo_metadata("paper-sat69").index[:n])


def _matrix(n=4):
    names = _names(n)
    m = np.full((n, n), 2.5)
    np.fill_diagonal(m, 4.6)
    return pd.DataFrame(m, index=names, columns=names)


def _bad_matrix(kind, path):
    df = _matrix()
    names = list(df.index)
    if kind == "non-square":
        df = df.iloc[:, :3]
    elif kind == "names":
        df = df.rename(columns={names[2]: "resnet50_typo"})
    elif kind == "asymmetric":
        df.iloc[1, 3] = 1.0
        df.iloc[0, 2] = 2.4
    elif kind == "nan":
        df = df.astype(object)
        df.iloc[2, 1] = ""
        df.iloc[1, 2] = ""
    elif kind == "text":
        df = df.astype(object)
        df.iloc[3, 0] = "high"
    elif kind == "unknown":
        df = df.rename(index={names[1]: "my_net"}, columns={names[1]: "my_net"})
    elif kind == "percent":
        df.iloc[0, 1] = df.iloc[1, 0] = 55.0
    df.to_csv(path)
    return path


BAD_MATRICES = {
    "non-square": "4 rows × 3 columns",
    "names": "'resnet50_typo'",
    "asymmetric": "|SAT(A,B) − SAT(B,A)| = 1.5",
    "nan": "row '{n1}', column '{n2}'",
    "text": "row '{n3}', column '{n0}': 'high'",
    "unknown": "'my_net' is not in zoo:paper-sat69",
    "percent": "> ln 100",
}


@pytest.mark.parametrize("kind", list(BAD_MATRICES), ids=list(BAD_MATRICES))
def test_bad_matrix_one_line_error(kind, tmp_path, capsys):
    src = _bad_matrix(kind, tmp_path / "bad.csv")
    out = tmp_path / "run"
    assert main(["import", "sat", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    n = _names(4)
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert BAD_MATRICES[kind].format(n0=n[0], n1=n[1], n2=n[2], n3=n[3]) in err
    assert " -- " in err  # a fix is given
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_asymmetric_names_the_worst_pair(tmp_path, capsys):
    src = _bad_matrix("asymmetric", tmp_path / "bad.csv")
    assert main(["import", "sat", str(src), "--out", str(tmp_path / "run")]) == 2
    n = _names(4)
    assert f"worst pair '{n[1]}' / '{n[3]}'" in capsys.readouterr().err


def _bad_components(kind, path):
    comp = pd.read_csv(published_path("SAT_model_features.csv"), dtype=str, keep_default_na=False)
    if kind == "columns":
        comp = comp.drop(columns=["DW conv"])
    elif kind == "unknown":
        comp.loc[5, "Model name"] = "my_net"
    elif kind == "missing":
        comp = comp[comp["Model name"] != _names(4)[2]]
    comp.to_csv(path, index=False)
    return path


BAD_COMPONENTS = {"columns": "lacks the column(s) 'DW conv'", "unknown": "row 7: model 'my_net'",
                  "missing": "has no row for '{n2}'"}


@pytest.mark.parametrize("kind", list(BAD_COMPONENTS), ids=list(BAD_COMPONENTS))
def test_bad_components_one_line_error(kind, tmp_path, capsys):
    src = tmp_path / "sat.csv"
    _matrix().to_csv(src)
    comp = _bad_components(kind, tmp_path / "features.csv")
    out = tmp_path / "run"
    assert main(["import", "sat", str(src), "--components", str(comp), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and BAD_COMPONENTS[kind].format(n2=_names(4)[2]) in err
    assert not out.exists()


def test_good_small_matrix_through_cli(tmp_path, capsys):
    src = tmp_path / "sat.csv"
    _matrix().to_csv(src)
    out = tmp_path / "run"
    assert main(["import", "sat", str(src), "--components", "published", "--out", str(out)]) == 0
    models = pd.read_csv(out / "models.csv")
    assert list(models["model"]) == _names(4) and "depthwise_conv" in models.columns
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left
