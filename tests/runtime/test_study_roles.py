"""Study files that declare one-sided newcomers (``[models] one_sided``, App. G.1 of the SAT paper)."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from zoolens.cli import main
from zoolens.errors import ZoolensError
from zoolens.runtime import spec as study_spec
from zoolens.runtime.spec import resolve_study

BASE = [f"py:tests.factories:{m}" for m in ("digits_linear", "digits_features", "digits_features2")]
NEWCOMER = "py:tests.factories:digits_features3"


def _raw(one_sided=None, *, sections=("similarity",)) -> dict:
    raw = {"study": {"name": "roles", "out": "runs/roles"}, "models": {"refs": [*BASE, NEWCOMER]},
           "data": {"source": "digits", "n_images": 60}, **{s: {} for s in sections}}
    if one_sided is not None:
        raw["models"]["one_sided"] = one_sided
    return raw


def test_without_one_sided_the_resolved_spec_is_unchanged():
    plain = resolve_study(_raw(sections=("criticality", "similarity")))
    assert "one_sided" not in plain
    # an empty table, or only `full` (the default role), is the same study
    assert resolve_study(_raw({}, sections=("criticality", "similarity"))) == plain
    assert resolve_study(_raw({NEWCOMER: "full"}, sections=("criticality", "similarity"))) == plain


def test_one_sided_is_recorded_by_reference():
    got = resolve_study(_raw({NEWCOMER: "source", BASE[0]: "full"}))
    assert got["one_sided"] == {NEWCOMER: "source"}
    assert {k: v for k, v in got.items() if k != "one_sided"} == resolve_study(_raw())


def test_a_zoo_member_may_be_named_by_its_display_name():
    raw = {"models": {"zoo": "fmnist-mini", "only": ["resnet_baseline", "vit_improved"],
                      "one_sided": {"vit_improved": "target"}}, "similarity": {}}
    assert resolve_study(raw)["one_sided"] == {"zoo:fmnist-mini/vit_improved": "target"}


@pytest.mark.parametrize("one_sided, sections, match", [
    ({NEWCOMER: "sorce"}, ("similarity",), r"unknown role 'sorce' for .* -- use one of full, source, target"),
    ({"py:tests.factories:tiny_a": "source"}, ("similarity",), r"not a model of the study"),
    ({NEWCOMER: 1}, ("similarity",), r"role of .* must be a string, got 1"),
    ("source", ("similarity",), r"\[models\] one_sided must be a table, got 'source'"),
    ([NEWCOMER], ("similarity",), r"\[models\] one_sided must be a table"),
    ({NEWCOMER: "source"}, ("criticality",), r"no section of the study uses model roles"),
])
def test_bad_one_sided_is_a_one_line_error(one_sided, sections, match):
    with pytest.raises(ZoolensError, match=match) as exc:
        resolve_study(_raw(one_sided, sections=sections))
    assert "\n" not in str(exc.value)


def test_roles_reach_only_the_experiments_that_take_them(tmp_path, monkeypatch):
    seen: dict[str, object] = {}

    def fake_run_experiment(exp, models, config, *, context=None, **kw):
        seen[exp.name] = copy.deepcopy(context)
        return None

    monkeypatch.setattr(study_spec, "run_experiment", fake_run_experiment)
    monkeypatch.setattr(study_spec, "preflight_study", lambda spec: None)
    spec = resolve_study(_raw({NEWCOMER: "source"}, sections=("criticality", "similarity")))
    spec["study"]["out"] = str(tmp_path / "out")
    study_spec.run_study(spec)
    assert seen == {"criticality": None, "similarity": {"roles": {NEWCOMER: "source"}}}


STUDY = """
[study]
name = "newcomer"
out = "{out}"

[models]
refs = {refs}
one_sided = {{ "{newcomer}" = "{role}" }}

[data]
source = "digits"
n_images = 60

[similarity]
steps = 2
batch_size = 64
n_resamples = 20
"""


def _study(tmp_path, role: str, name: str = "study.toml"):
    path = tmp_path / name
    path.write_text(STUDY.format(out=tmp_path / "out", refs=json.dumps([*BASE, NEWCOMER]), newcomer=NEWCOMER,
                                 role=role))
    return path


def test_a_typo_in_a_role_is_exit_2_one_line_and_writes_nothing(tmp_path, capsys):
    capsys.readouterr()
    assert main(["run", str(_study(tmp_path, "sorce"))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown role 'sorce'" in err[0] and "source" in err[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # a 4-model SAT run (PGD-2 on 60 digits), its analysis, and a refused rerun
def test_a_study_with_a_source_newcomer_runs_and_analyze_places_it(tmp_path, capsys):
    assert main(["run", str(_study(tmp_path, "source")), "--quiet"]) == 0
    sat = tmp_path / "out" / "similarity"
    manifest = json.loads((sat / "manifest.json").read_text())
    roles = {m["model"]: m["role"] for m in manifest["runs"]["similarity"]["models"]}
    assert roles == {**{m: "full" for m in BASE}, NEWCOMER: "source"}
    study = json.loads((tmp_path / "out" / "study.json").read_text())
    assert study["one_sided"] == {NEWCOMER: "source"}
    assert main(["analyze", str(sat), "--no-ensembles", "--k", "2"]) == 0
    placed = pd.read_csv(sat / "analysis" / "sat_newcomer_placement.csv")
    assert placed["newcomer"].tolist() == [NEWCOMER] and placed["role"].tolist() == ["source"]
    clusters = pd.read_csv(sat / "analysis" / "sat_clusters.csv")
    assert sorted(clusters["model"]) == sorted(BASE)  # the newcomer is placed, not clustered
    # another role is another study: refused like any other setting change, the results kept
    capsys.readouterr()
    assert main(["run", str(_study(tmp_path, "target", "other.toml")), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "one_sided" in err[0]
    assert (sat / "sat_matrix.csv").is_file()
