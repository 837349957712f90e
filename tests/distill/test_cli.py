"""``zoolens distill`` through the CLI: the table, resuming without retraining, one-line errors before any write."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from zoolens.cli import main
from zoolens.cli.distill import parse_teachers
from zoolens.distill.config import TEACHER_PRESET
from zoolens.distill.experiment import TABLE_COLUMNS
from zoolens.runtime.units import read_unit_log

TEACHERS = "zoo:fmnist-mini/resnet_baseline,zoo:fmnist-mini/mixer_baseline"
TINY = ["--epochs", "1", "--max-steps", "2", "--test-images", "100", "-n", "30", "--steps", "2",
        "--n-resamples", "20", "-q"]


def test_teachers_parse_as_repeats_or_comma_lists_and_default_to_the_preset():
    assert parse_teachers(None) == list(TEACHER_PRESET)
    assert parse_teachers(["a,b", " c "]) == ["a", "b", "c"]


@pytest.mark.parametrize("teachers,message", [
    ("zoo:fmnist-mini/resnet_baselin", "has no model 'resnet_baselin'"),
    ("zoo:fmnist-mini/resnet_baseline,zoo:fmnist-mini/resnet_baseline", "listed twice"),
])
def test_a_bad_teacher_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, teachers, message):
    out = tmp_path / "run"
    assert main(["distill", "--teachers", teachers, "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.slow  # trains two students (2 steps each), SAT on 30 images, three runs and an analysis (16-40 s on 2 cores)
def test_a_tiny_run_writes_the_table_and_resumes_without_retraining(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["distill", "--teachers", TEACHERS, "--out", str(out), *TINY]
    assert main(args) == 0
    table = pd.read_parquet(out / "distill.parquet")
    assert list(table.columns) == TABLE_COLUMNS
    assert table["teacher"].tolist() == ["resnet_baseline", "mixer_baseline"]
    assert table["transformer"].tolist() == [False, False] and table["family"].tolist() == ["resnet", "mixer"]
    assert (table["steps"] == 2).all() and table["sat"].between(table["sat_ci_low"], table["sat_ci_high"]).all()
    assert table["teacher_acc"].gt(50).all()  # trained teachers, scored on 100 test images
    assert (out / "distill.csv").is_file() and all((out / w).is_file() for w in table["student_weights"])
    manifest = json.loads((out / "manifest.json").read_text())["runs"]["distill"]
    assert manifest["student"]["name"] == "vit_student" and manifest["student"]["epochs"] == 1

    def ran(unit: str) -> int:
        return sum(r["unit"] == unit for r in read_unit_log(out))

    assert main(args) == 0  # resume: nothing is computed again
    assert all(ran(u) == 1 for u in ("distill:resnet_baseline", "distill:mixer_baseline", "sat:attack:vit_baseline"))
    # as after a Ctrl-C during the second teacher: only that unit runs again, and trains the same student
    from zoolens.runtime.rundir import RunDir

    RunDir(out).part_path("distill", "mixer_baseline").unlink()
    assert main(args) == 0
    assert ran("distill:mixer_baseline") == 2 and ran("distill:resnet_baseline") == 1
    again = pd.read_parquet(out / "distill.parquet")
    pd.testing.assert_frame_equal(again.drop(columns=["wall_time_s"]), table.drop(columns=["wall_time_s"]))
    capsys.readouterr()
    assert main(["analyze", str(out), "-q"]) == 0
    found = json.loads((out / "analysis" / "findings.json").read_text())
    assert {f["id"]: f["verdict"] for f in found}["sat.distill_all"] == "not testable"  # 2 teachers < 4
