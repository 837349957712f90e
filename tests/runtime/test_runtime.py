"""Runtime: work units, crash safety (kill -9 of the driver), failing units, locking, study files, planning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from zoolens.criticality import criticality
from zoolens.errors import ZoolensError
from zoolens.runtime import RunDir
from zoolens.runtime.units import UnitsFailed, read_unit_log

from tests.factories import BROKEN_MARKER

from tests.paths import ROOT


# -------------------------------------------------------------------- tests
KILL_REFS = ["py:tests.factories:tiny_a", "py:tests.factories:slow_a", "py:tests.factories:slow_b"]
KILL_KW = dict(data="digits", n_images=32, seeds=1, randomize="zero", engine="naive", batch_size=32,
               layers_per_unit=1)


def _executed(out: Path) -> list[str]:
    manifest = json.loads((out / "manifest.json").read_text())
    return manifest["runs"]["criticality"]["units"]["executed"]


@pytest.mark.slow
def test_kill_9_of_the_driver_then_rerun_runs_only_missing_units(tmp_path):
    out = tmp_path / "killed"
    code = f"from zoolens.criticality import criticality; criticality({KILL_REFS!r}, out={str(out)!r}, **{KILL_KW!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True,
                            env={**os.environ, "ZOOLENS_TEST_DELAY": "0.4"},  # slow_a/b: 0.4 s per forward there
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parts = out / "parts" / "criticality_models"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not (parts.is_dir() and any(parts.glob("*.parquet"))):
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-500:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "criticality.parquet").exists()
    done_before = len(list(parts.glob("*.parquet")))
    for f in (out / "parts").rglob("*.parquet"):  # every visible part is whole (temp files are never named .parquet)
        pd.read_parquet(f)
    resumed = criticality(KILL_REFS, out=out, **KILL_KW)
    executed = _executed(out)
    total = 6  # 3 models × 2 layers, one layer per unit
    assert 0 < len(executed) == total - done_before < total
    full = criticality(KILL_REFS, out=tmp_path / "full", **KILL_KW)
    pd.testing.assert_frame_equal(full, resumed)
    assert len(resumed) == total and not resumed.duplicated(["model", "layer", "seed"]).any()
    for name in ("criticality_summary.csv", "models.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "full" / name), pd.read_csv(out / name))
    # a rerun of a finished run executes nothing
    criticality(KILL_REFS, out=out, **KILL_KW)
    assert _executed(out) == []


def test_layer_slices_equal_whole_model_units(tmp_path):
    kw = dict(data="digits", n_images=40, seeds=2, randomize="init")
    refs = ["py:tests.factories:tiny_a", "py:tests.factories:tiny_b"]
    whole = criticality(refs, out=tmp_path / "whole", **kw)
    sliced = criticality(refs, out=tmp_path / "sliced", layers_per_unit=1, **kw)
    pd.testing.assert_frame_equal(whole, sliced)
    assert len(_executed(tmp_path / "sliced")) == 4 and len(_executed(tmp_path / "whole")) == 2


def test_failing_unit_is_reported_others_complete_and_rerun_retries_only_it(tmp_path, monkeypatch):
    marker = tmp_path / "broken"
    marker.touch()
    monkeypatch.setenv(BROKEN_MARKER, str(marker))
    refs = ["py:tests.factories:tiny_a", "py:tests.factories:broken", "py:tests.factories:tiny_b"]
    kw = dict(data="digits", n_images=30, seeds=1, out=tmp_path / "run")
    with pytest.raises(UnitsFailed) as info:
        criticality(refs, **kw)
    err = info.value
    assert list(err.failures) == ["criticality:py:tests.factories:broken"]
    assert "corrupt" in str(err) and "\n" not in str(err) and err.exit_code == 2
    log = read_unit_log(tmp_path / "run")
    assert sorted((r["unit"], r["ok"]) for r in log) == sorted(
        [("criticality:py:tests.factories:tiny_a", True), ("criticality:py:tests.factories:tiny_b", True),
         ("criticality:py:tests.factories:broken", False)])
    assert not (tmp_path / "run" / "criticality.parquet").exists()
    marker.unlink()
    table = criticality(refs, **kw)
    assert _executed(tmp_path / "run") == ["criticality:py:tests.factories:broken"]
    assert list(table["model"].unique()) == [r for r in refs]


def test_second_concurrent_run_is_refused(tmp_path):
    from dataclasses import asdict

    from zoolens.criticality.config import CriticalityConfig

    holder = RunDir(tmp_path, CriticalityConfig(data="digits", n_images=20, seeds=[0]).result_spec(), kind="criticality")
    with holder.open():
        with pytest.raises(ZoolensError, match="another zoolens run is writing to"):
            criticality("py:tests.factories:tiny_a", data="digits", n_images=20, seeds=1, out=tmp_path)
    criticality("py:tests.factories:tiny_a", data="digits", n_images=20, seeds=1, out=tmp_path)


STUDY = """
[study]
name = "tiny"
out = "{out}"

[models]
refs = ["py:tests.factories:digits_linear", "py:tests.factories:digits_features"]

[data]
source = "digits"
n_images = 40

[criticality]
seeds = 2

[similarity]
steps = 2
batch_size = 64
"""


def test_run_study_file_equals_api_calls_and_records_resolved_spec(tmp_path):
    from typer.testing import CliRunner

    from zoolens.cli import app  # the real app: its `run` registration is what users get
    from zoolens.similarity import AttackConfig, run_sat

    study = tmp_path / "study.toml"
    study.write_text(STUDY.format(out=tmp_path / "out"))
    res = CliRunner().invoke(app, ["run", str(study), "--quiet"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    refs = ["py:tests.factories:digits_linear", "py:tests.factories:digits_features"]
    crit = criticality(refs, data="digits", n_images=40, seeds=2, out=tmp_path / "api_crit")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "criticality" / "criticality.parquet"), crit)
    sat = run_sat(refs, data="digits", n_images=40, attack=AttackConfig("pgd", steps=2), batch_size=64,
                  out=tmp_path / "api_sat")
    got = pd.read_csv(tmp_path / "out" / "similarity" / "sat_matrix.csv", index_col=0)
    np.testing.assert_allclose(got.to_numpy(), sat.sat.to_numpy(), rtol=0, atol=1e-9)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    resolved = manifest["runs"]["study"]["resolved_spec"]
    assert resolved["criticality"]["engine"] == "fast" and resolved["similarity"]["eps"] == 8 / 255  # normalized from "8/255"
    assert resolved["executor"]["kind"] == "local" and resolved["models"] == refs


def test_bad_study_file_is_one_line_error(tmp_path):
    from zoolens.runtime.spec import load_study, resolve_study

    study = tmp_path / "s.toml"
    study.write_text("[models]\nrefs = ['py:x:y']\n[criticality]\nseedz = 3\n")
    with pytest.raises(ZoolensError, match=r"unknown key\(s\) seedz in \[criticality\]"):
        resolve_study(load_study(study))


def test_plan_counts_flops_from_the_architecture(tmp_path):
    from zoolens.runtime.plan import arch_info, plan_study
    from zoolens.runtime.spec import load_study, resolve_study

    info = arch_info("py:tests.factories:tiny_a")
    # conv 1→4, 3×3 on 8×8: 2·4·9·64 FLOPs; fc 256→10: 2·256·10 (BatchNorm/ReLU are not counted)
    assert info.forward_flops == 2 * 4 * 9 * 64 + 2 * 256 * 10
    assert info.layer_names == ["conv", "fc"] and info.suffix_flops == [info.forward_flops, 2 * 256 * 10]
    r50 = arch_info("timm:resnet50@/does/not/exist.pth")  # no weights needed
    assert r50.n_layers == 54 and 8.0e9 < r50.forward_flops < 8.4e9 and r50.input_size == (3, 224, 224)

    study = tmp_path / "s.toml"
    study.write_text(STUDY.format(out=tmp_path / "o").replace(
        'refs = ["py:tests.factories:digits_linear", "py:tests.factories:digits_features"]',
        'refs = ["py:tests.factories:tiny_a", "timm:resnet50@/nowhere.pth"]'))
    plan = plan_study(resolve_study(load_study(study)), throughput_tflops=10.0,
                      device_flops={"device": "cpu", "conv": 1e10, "matmul": 1e10}, measure=False)
    by = {u.unit: u for u in plan.units}
    u = by["criticality:py:tests.factories:tiny_a"]
    assert u.forward_passes == 40 * (1 + 2 * 2) and u.flops == u.forward_passes * info.forward_flops
    assert u.flops_fast == 40 * (info.forward_flops + 2 * sum(info.suffix_flops))
    a = by["sat:attack:timm:resnet50@/nowhere.pth"]
    assert a.backward_passes == 40 * 2 and a.flops == 40 * r50.forward_flops * (2 + 3 * 2)
    e = by["sat:eval:timm:resnet50@/nowhere.pth"]
    assert e.forward_passes == 40 * 2
    t = plan.totals()
    assert t["similarity"]["seconds_at_throughput"] == pytest.approx(t["similarity"]["flops"] / 1e13)
    assert t["criticality"]["units"] == 2 and t["similarity"]["units"] == 4
