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


def test_report_is_self_contained(runs):
    from zoolens.report import build_report

    root = runs["root"]
    out = build_report([root / "crit", root / "sat"], root / "report.html")
    page = out.read_text()
    n_figs = len(runs["crit"].figures) + len(runs["sat"].figures)
    assert page.count('<img class="figure"') == n_figs == page.count("data:image/png;base64,")
    assert not re.search(r'src="(?!data:)', page) and "<link" not in page  # nothing to fetch
    assert "Scorecard" in page and "torch" in page and "Data fingerprint" in page


@pytest.mark.slow  # runs analyze and report through the CLI
def test_cli_commands(runs, tmp_path):
    from zoolens.cli import app

    r = CliRunner().invoke(app, ["analyze", str(runs["root"] / "crit"), "-q"])
    assert r.exit_code == 0, r.output
    assert "figures" in r.output
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


def _render(browser: str, page) -> str:
    res = subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox", "--virtual-time-budget=10000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (apt-get install chromium; "
                                                "`make setup` does it as root)")
def test_report_renders_in_headless_chromium(runs):
    from zoolens.report import build_report

    root = runs["root"]
    out = build_report([root / "crit", root / "sat"], root / "render.html")
    n_figs = len(runs["crit"].figures) + len(runs["sat"].figures)
    dom = _render(_chromium(), out)
    m = re.search(r'id="render-status"[^>]*', dom)
    assert m, dom[:500]
    status = m.group(0)
    assert 'data-state="complete"' in status, status
    assert f'data-loaded="{n_figs}"' in status and f'data-total="{n_figs}"' in status
    assert dom.count('data-loaded="ok"') == n_figs
    # the check can fail: a report with one corrupted figure is reported as incomplete
    broken = root / "broken.html"
    page = out.read_text()
    broken.write_text(page.replace("data:image/png;base64,", "data:image/png;base64,AAAA", 1))
    status = re.search(r'id="render-status"[^>]*', _render(_chromium(), broken)).group(0)
    assert 'data-state="incomplete"' in status and f'data-loaded="{n_figs - 1}"' in status
