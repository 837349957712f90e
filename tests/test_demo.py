"""The real ``zoolens demo`` through :func:`zoolens.cli.main`, on a tiny budget and three zoo models."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from zoolens.cli import main
from zoolens.demo import available_models

TINY = ["--criticality-images", "16", "--seeds", "1", "--sat-images", "16", "--steps", "1", "-q"]
MODELS = ["resnet_baseline", "resnet_pgd_eps0.1", "vit_baseline"]
pytestmark = pytest.mark.skipif(not set(MODELS) <= set(available_models()[0]),
                                reason="mini zoo not trained (run `zoolens zoo train fmnist-mini`)")


@pytest.mark.slow
def test_demo_runs_end_to_end_on_a_tiny_budget(tmp_path, capsys):
    out = tmp_path / "demo"
    only = [a for name in MODELS for a in ("--only", name)]
    assert main(["demo", *TINY, *only, "--out", str(out)]) == 0
    assert f"report: {out / 'report.html'}" in capsys.readouterr().out
    page = (out / "report.html").read_text()
    assert "Scorecard" in page and "Only these models of the zoo: " + ", ".join(MODELS) in page
    for kind in ("criticality", "similarity"):
        findings = json.loads((out / kind / "analysis" / "findings.json").read_text())
        assert findings and {"id", "claim", "verdict", "evidence"} <= set(findings[0])
    # --only reached both runs: criticality of the two ResNets, SAT between the three models
    crit = pd.read_parquet(out / "criticality" / "criticality.parquet")
    assert sorted(crit["model"].unique()) == sorted(MODELS[:2])
    sat = pd.read_csv(out / "similarity" / "sat_matrix.csv", index_col=0)
    assert list(sat.index) == MODELS
    timings = json.loads((out / "demo_timings.json").read_text())
    assert timings["settings"]["only"] == MODELS and timings["settings"]["pgd_steps"] == 1


@pytest.mark.parametrize("only,message", [
    (["resnet_baseline", "nope"], "has no model(s) nope"),
    (["vit_baseline", "vgg_baseline"], "include no ResNet"),
    (["resnet_baseline"], "needs two trained models"),
])
def test_demo_only_rejects_a_bad_choice_in_one_line(tmp_path, capsys, only, message):
    args = [a for name in only for a in ("--only", name)]
    assert main(["demo", *TINY, *args, "--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "demo").exists()  # refused before any work
