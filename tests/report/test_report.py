"""Smoke test of ``analyze`` + ``report`` on tiny runs made here, the CLI wrappers, and the Chromium render test."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from typer.testing import CliRunner

from zoolens.errors import ZoolensError

MODELS = textwrap.dedent("""
    import os, torch
    from torch import nn
    DIR = os.path.dirname(os.path.abspath(__file__))
    def net(kind):
        if kind == "mlp":
            return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(256, 10))
    def _load(kind, name):
        n = net(kind)
        n.load_state_dict(torch.load(f"{DIR}/{name}.pt", weights_only=True))
        n.pretrained_cfg = {"input_size": (1, 8, 8), "crop_pct": 1.0, "interpolation": "bilinear",
                            "mean": (0.5,), "std": (0.5,)}
        return n.eval()
    def mlp0(): return _load("mlp", "mlp0")
    def mlp1(): return _load("mlp", "mlp1")
    def cnn0(): return _load("cnn", "cnn0")
    def cnn1(): return _load("cnn", "cnn1")
""")
NAMES = ["mlp0", "mlp1", "cnn0", "cnn1"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Four tiny digits classifiers (trained here for a few steps), a criticality run and a SAT run, analysed."""
    import torch

    from zoolens.report import analyze
    from zoolens.criticality import criticality
    from zoolens.data import load_data
    from zoolens.similarity.run import run_sat

    root = tmp_path_factory.mktemp("analysis_runs")
    (root / "zl_report_tiny.py").write_text(MODELS)
    sys.path.insert(0, str(root))
    import zl_report_tiny as T

    ds = load_data("digits", n=None, seed=0)
    x, y = (ds.images.float() / 255 - 0.5) / 0.5, ds.labels.long()
    for i, name in enumerate(NAMES):
        torch.manual_seed(i)
        n = T.net(name[:3])
        opt = torch.optim.Adam(n.parameters(), 1e-2)
        for _ in range(40):
            idx = torch.randint(0, len(y), (128,))
            loss = torch.nn.functional.cross_entropy(n(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        torch.save(n.state_dict(), root / f"{name}.pt")
    refs = [f"py:zl_report_tiny:{n}" for n in NAMES]
    run_sat(refs, data="digits", n_images=80, attack="pgd", steps=2, out=root / "sat", n_resamples=50, batch_size=64)
    run_sat(refs, data="digits", n_images=80, attack="fgsm", out=root / "sat_fgsm", n_resamples=50, batch_size=64)
    criticality(refs, data="digits", n_images=40, seeds=2, out=root / "crit")
    crit = analyze(root / "crit")
    sat = analyze(root / "sat", compare=root / "sat_fgsm", k=2)
    yield {"root": root, "crit": crit, "sat": sat}
    sys.path.remove(str(root))
    sys.modules.pop("zl_report_tiny", None)


def test_analyze_criticality_outputs(runs):
    a = runs["crit"]
    folder = runs["root"] / "crit" / "analysis"
    for f in a.figures:
        assert (folder / f["file"]).stat().st_size > 1000 and (folder / f["pdf"]).is_file()
    assert {t["file"] for t in a.tables} >= {"criticality_matrix.csv", "criticality_difference.csv",
                                             "criticality_sem.csv", "criticality_per_model.csv",
                                             "criticality_accuracy_correlation.csv"}
    mat = pd.read_csv(folder / "criticality_matrix.csv", index_col=0)
    summary = pd.read_csv(runs["root"] / "crit" / "criticality_summary.csv", dtype={"label": str})
    r = summary.iloc[0]
    assert mat.loc[r["model"], r["label"]] == pytest.approx(r["criticality_mean"])
    diff = pd.read_csv(folder / "criticality_difference.csv", index_col=0)
    base = a.summary["baseline"]
    assert (diff.loc[base].dropna() == 0).all()
    # every criticality claim is on the scorecard, with the fields the report renders
    from zoolens.analysis.findings import CLAIMS

    saved = json.loads((folder / "findings.json").read_text())
    assert {f["id"] for f in saved} == {c for c in CLAIMS if c.startswith("crit.")}
    assert all(set(f) >= {"id", "claim", "paper", "measured", "verdict", "evidence"} for f in saved)
    # py: models carry no category/budget: the claims that need one say so instead of guessing,
    # and the models without metadata are named
    by_id = {f["id"]: f for f in saved}
    for key in ("crit.at_raises_criticality", "crit.at_budget_spearman_l2", "crit.at_budget_spearman_linf",
                "crit.pixmix_highest", "crit.simclr_no_auxiliary", "crit.ssl_auxiliary_deep",
                "crit.augmentation_deepest_layers", "crit.improved_training_early_up_deep_down",
                "crit.accuracy_spearman_without_at"):
        assert by_id[key]["verdict"] == "not testable", key
    assert any("No metadata" in n and "py:zl_report_tiny" in n for n in a.notes)


def test_analyze_sat_outputs(runs):
    a = runs["sat"]
    folder = runs["root"] / "sat" / "analysis"
    cl = pd.read_csv(folder / "sat_clusters.csv")
    assert len(cl) == 4 and cl["cluster"].nunique() == 2 and a.summary["clustering"]["k_source"] == "given"
    pairs = pd.read_csv(folder / "ensemble_pairs.csv")
    assert len(pairs) == 6 and pairs["err_rate"].notna().all()
    sat = pd.read_csv(runs["root"] / "sat" / "sat_matrix.csv", index_col=0)
    r = pairs.iloc[0]
    assert r["sat"] == pytest.approx(sat.loc[r["model_a"], r["model_b"]])
    t3 = pd.read_csv(folder / "ensemble_clusters.csv")
    assert list(t3["n_models"]) == [2, 3, 4]
    assert (folder / "attack_agreement.csv").is_file() and "attack_agreement" in a.summary
    assert len(pd.read_csv(folder / "sat_uncertain_pairs.csv")) == 6
    ids = {f["id"]: f for f in a.findings}
    assert ids["sat.within_above_across"]["verdict"] == "not testable"
    assert ids["sat.err_vs_sat_negative"]["verdict"] in {"reproduced", "not reproduced"}
    assert "Pearson r" in ids["sat.err_vs_sat_negative"]["evidence"]
    assert "Mantel p" in ids["sat.err_vs_sat_negative"]["evidence"]  # the verdict's p is over models
    # Fig. 7a/7c: error and all-wrong counts by k; Table 3's k = N vs rand; Fig. 8 needs families
    met = pd.read_csv(folder / "ensemble_clusters_error.csv")
    assert {"err_ensemble", "n_all_wrong"} <= set(met.columns) and "rand" in set(met["selection"])
    assert ids["sat.diverse_beats_random"]["verdict"] in {"reproduced", "not reproduced"}
    assert ids["sat.across_beats_within_training"]["verdict"] == "not testable"  # py: models have no family
    assert "ensemble_clusters_error.png" in {f["file"] for f in a.figures}
    # the SAT run stored its clean logits, so no model was loaded again for the ensembles
    assert not (folder / "logits").exists()
    assert any("clean.parquet" in n for n in a.notes)


def test_ensembles_from_stored_logits_equal_recomputed_logits(runs, tmp_path):
    """Older runs without stored logits: the analysis loads the models; both paths agree."""
    import shutil

    from zoolens.report import analyze

    old = tmp_path / "sat_old"
    shutil.copytree(runs["root"] / "sat", old, ignore=shutil.ignore_patterns("analysis"))
    clean = pd.read_parquet(old / "clean.parquet").drop(columns=["logits"])
    clean.to_parquet(old / "clean.parquet", index=False)
    analyze(old, k=2)
    assert len(list((old / "analysis" / "logits").glob("*.npz"))) == 4
    stored = pd.read_csv(runs["root"] / "sat" / "analysis" / "ensemble_pairs.csv")
    recomputed = pd.read_csv(old / "analysis" / "ensemble_pairs.csv")
    pd.testing.assert_frame_equal(stored, recomputed, check_exact=False, rtol=1e-6)


def _figures(runs) -> list[dict]:
    return runs["crit"].figures + runs["sat"].figures


def test_report_is_self_contained(runs):
    from zoolens.report import build_report

    root = runs["root"]
    out = build_report([root / "crit", root / "sat"], root / "report.html")
    page = out.read_text()
    n_figs = len(_figures(runs))
    assert page.count('<img class="figure"') == n_figs == page.count("data:image/png;base64,")
    # nothing to fetch: the markup (script bodies left out: the inlined Vega bundle's own strings
    # hold `src="…"` templates) loads nothing but data: URLs, and every script is inline
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1</script>", page, flags=re.DOTALL | re.IGNORECASE)
    assert not re.search(r'src="(?!data:)', markup) and "<link" not in markup
    assert not re.search(r"<script[^>]*\ssrc\s*=", markup, re.IGNORECASE)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", markup, re.IGNORECASE)
    assert "Scorecard" in page and "torch" in page and "Data fingerprint" in page
    # the interactive views: one per figure with a spec, the Vega bundle inlined exactly once
    n_views = sum(1 for f in _figures(runs) if f.get("interactive"))
    assert n_views >= 8 and page.count('class="vl-view"') == n_views
    assert page.count("window.vegaEmbed=") == 1
    specs = re.findall(r'<script type="application/json" id="spec-[^"]+">(.*?)</script>', page, re.DOTALL)
    assert len(specs) == n_views and all(json.loads(s)["data"]["values"] for s in specs)
    assert page.count('class="findings sortable"') == 1


def test_report_of_an_analysis_without_interactive_views(runs, tmp_path):
    """Runs analysed before interactive views existed render as before: PNG only, no Vega bundle."""
    from zoolens.report import build_report

    old = tmp_path / "crit_old"
    shutil.copytree(runs["root"] / "crit", old)
    index = json.loads((old / "analysis" / "index.json").read_text())
    for f in index["figures"]:
        (old / "analysis" / f.pop("interactive", "none")).unlink(missing_ok=True)
    (old / "analysis" / "index.json").write_text(json.dumps(index))
    page = build_report([old]).read_text()
    assert 'class="vl-view"' not in page and "vegaEmbed=" not in page
    assert page.count('<img class="figure"') == len(index["figures"])


HEATMAPS = {"criticality_heatmap.vl.json": ("model", "layer", "criticality", "s"),
            "criticality_difference.vl.json": ("model", "layer", "Δ criticality", "s"),
            "criticality_sem.vl.json": ("model", "layer", "standard error", None),
            "sat_heatmap.vl.json": ("model", "model", "SAT", "interval"),
            "spectral_distances.vl.json": ("model", "model", "Euclidean distance", None)}


def test_interactive_specs_hover_sort_zoom_and_compile(runs):
    """Every heatmap's tooltip names the row and column and shows the value (and its SE or bootstrap
    interval where the analysis has one); rows sort by a bound select; wheel/drag zoom; every spec compiles."""
    import vl_convert

    from zoolens.report.interactive import vega_lite_version

    root = runs["root"]
    specs = {f["interactive"]: json.loads((root / run / "analysis" / f["interactive"]).read_text())
             for run in ("crit", "sat") for f in runs[run].figures if f.get("interactive")}
    assert set(HEATMAPS) <= set(specs)
    assert {"tsne.vl.json", "ensemble_err_vs_sat.vl.json", "ensemble_clusters.vl.json"} <= set(specs)
    for name, (row, col, value, spread) in HEATMAPS.items():
        spec = specs[name]
        unit = spec["layer"][0]
        tips = {t["field"]: t.get("title") for t in unit["encoding"]["tooltip"]}
        assert tips["row"] == row and tips["col"] == col and tips["v"].startswith(value), (name, tips)
        if spread:
            assert spread in tips, (name, tips)
        params = {p["name"]: p for p in spec["params"]}
        assert params["order"]["bind"]["input"] == "select" and "mean" in params["order"]["bind"]["options"]
        assert unit["params"][0]["bind"] == "scales"  # zoom and pan
        rows = spec["data"]["values"]
        assert rows and all(len(r["j"]) == len(r["v"]) for r in rows)
    crit = specs["criticality_heatmap.vl.json"]
    assert all(len(r["s"]) == len(r["v"]) for r in crit["data"]["values"])  # the standard errors travel along
    sem = pd.read_csv(root / "crit" / "analysis" / "criticality_sem.csv", index_col=0)
    r = crit["data"]["values"][0]
    model = next(p["value"] for p in crit["params"] if p["name"] == "RL")["figure"][r["i"]]
    layer = next(p["value"] for p in crit["params"] if p["name"] == "CN")[r["j"][0]]
    assert r["s"][0] == pytest.approx(sem.loc[model, layer], rel=1e-3)
    sat = specs["sat_heatmap.vl.json"]["data"]["values"]
    assert all(len(r["lo"]) == len(r["v"]) for r in sat) and any(x is not None for r in sat for x in r["lo"])
    tsne = {t["field"] for t in specs["tsne.vl.json"]["layer"][0]["encoding"]["tooltip"]}
    assert {"model", "cluster"} <= tsne
    for name, spec in specs.items():  # compiles with the Vega-Lite the page inlines
        vl_convert.vegalite_to_vega(spec, vl_version=vega_lite_version())


@pytest.mark.slow  # runs analyze and report through the CLI
def test_cli_commands(runs, tmp_path):
    from zoolens.cli import app

    r = CliRunner().invoke(app, ["analyze", str(runs["root"] / "crit"), "-q"])
    assert r.exit_code == 0, r.output
    assert "figures" in r.output
    import shutil

    sat = shutil.copytree(runs["root"] / "sat", tmp_path / "sat")  # the module's runs keep their analysis
    r = CliRunner().invoke(app, ["analyze", str(sat), "-q", "--no-ensembles"])
    assert r.exit_code == 0, r.output
    assert "a study with [measures]" in " ".join(r.output.split())  # evidence prints as text, not rich markup
    out = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", str(runs["root"] / "crit"), "--out", str(out)])
    assert r.exit_code == 0 and out.is_file() and str(out) in r.output
    r = CliRunner().invoke(app, ["analyze", str(tmp_path / "nothing")])
    assert r.exit_code != 0 and isinstance(r.exception, ZoolensError)
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(app, ["report", str(tmp_path / "empty")])
    assert isinstance(r.exception, ZoolensError) and "no finished" in str(r.exception)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


CHROMIUM = ["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--virtual-time-budget=15000"]


def _render(browser: str, page) -> tuple[str, str]:
    """The DOM after the page's scripts ran, and Chromium's log (console messages go to stderr)."""
    res = subprocess.run([browser, *CHROMIUM, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout, res.stderr


def _status(dom: str) -> dict[str, str]:
    m = re.search(r'id="render-status"[^>]*', dom)
    assert m, dom[:500]
    return dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', m.group(0)))


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (apt-get install chromium; "
                                                "`make setup` does it as root)")
def test_report_renders_in_headless_chromium(runs, tmp_path):
    """Every PNG and every interactive view loads, nothing logs an error, and each section is photographed."""
    from PIL import Image

    from zoolens.report import build_report

    root = runs["root"]
    out = build_report([root / "crit", root / "sat"], tmp_path / "render.html")
    n_figs = len(_figures(runs))
    n_views = sum(1 for f in _figures(runs) if f.get("interactive"))
    dom, log = _render(_chromium(), out)
    status = _status(dom)
    assert status["data-state"] == "complete", status
    assert status["data-loaded"] == status["data-total"] == str(n_figs)
    assert status["data-views-loaded"] == status["data-views-total"] == str(n_views)
    assert dom.count('data-loaded="ok"') == n_figs + n_views
    # each view drew Vega marks and bound its sort select (vega-embed's promise resolved)
    views = re.findall(r'<div class="vl-view[^"]*" id="(view-[^"]+)"[^>]*data-loaded="ok"', dom)
    assert len(views) == n_views and dom.count('class="marks"') >= n_views
    assert dom.count("Sort rows") >= 3 and dom.count("Sort rows and columns") >= 2
    # no console errors: none counted by the page, none uncaught, no console message at all
    assert status["data-errors"] == "0", status
    console = [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert not console, "\n".join(console)
    # a screenshot of each section (?section=ID shows that one only)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    sections = re.findall(r"<section id='([^']+)'", out.read_text())
    assert sections == ["scorecard", "run-1", "run-2"]
    for sec in ["top", *sections]:
        png = shots / f"{sec}.png"
        res = subprocess.run([_chromium(), *CHROMIUM, "--window-size=1300,2400", f"--screenshot={png}",
                              f"{out.as_uri()}?section={sec}"], capture_output=True, text=True, timeout=180)
        assert res.returncode == 0 and png.is_file(), res.stderr[-2000:]
        with Image.open(png) as im:
            assert im.size == (1300, 2400) and len(im.convert("L").getcolors(1 << 16)) > 8, sec  # not blank
    # the check can fail: a corrupted figure and a broken view are reported as incomplete
    broken = tmp_path / "broken.html"
    page = out.read_text()
    page = page.replace("data:image/png;base64,", "data:image/png;base64,AAAA", 1)
    page = re.sub(r'(<script type="application/json" id="spec-[^"]+">)\{', r"\1{oops", page, count=1)
    broken.write_text(page)
    status = _status(_render(_chromium(), broken)[0])
    assert status["data-state"] == "incomplete" and status["data-loaded"] == str(n_figs - 1), status
    assert status["data-views-loaded"] == str(n_views - 1) and status["data-errors"] == "1", status
    # … and so is a page whose Vega bundle is missing
    nojs = tmp_path / "nojs.html"
    nojs.write_text(out.read_text().replace("window.vegaEmbed=", "window.notVegaEmbed=", 1))
    status = _status(_render(_chromium(), nojs)[0])
    assert status["data-state"] == "incomplete" and status["data-views-loaded"] == "0", status
