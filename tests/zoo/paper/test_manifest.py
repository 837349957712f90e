"""Manifests of zoo:paper-r50 and zoo:paper-sat69 against the papers' tables and the installed timm."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from zoolens.zoo import get_zoo, zoo_model_names
from zoolens.zoo.paper.r50 import r50_entries
from zoolens.zoo.paper.remap import REMAPS
from zoolens.zoo.paper.sat69 import COMPONENT_COLUMNS, PINNED_OVER_DEFAULT, RENAMES, registry_report

from tests.paths import SHARED


def test_r50_manifest_has_the_50_models_with_required_fields():
    df = get_zoo("paper-r50").manifest()
    assert len(df) == 50 and df["name"].is_unique
    for e in r50_entries():
        assert e["source_kind"] in {"torchvision", "timm", "file"}
        if e["source_kind"] == "file":
            assert e["files"] and e["remap"] in REMAPS
            for f in e["files"]:
                assert f["filename"] and (f["url"] is None or f["url"].startswith("https://"))
                assert f["sha256"] is None or re.fullmatch(r"[0-9a-f]{64}", f["sha256"])
        else:
            assert e["ref"] and not e["files"]


@pytest.mark.skipif(not (SHARED / "r50_training_zoo.csv").is_file(), reason="paper tables not present")
def test_r50_manifest_matches_the_paper_table():
    paper = pd.read_csv(SHARED / "r50_training_zoo.csv")
    df = get_zoo("paper-r50").manifest()
    assert list(df["name"]) == list(paper["name"])
    assert (df["published_top1"].round(2) == paper["imagenet_top1"].round(2)).all()
    assert list(df["category"]) == list(paper["category"])


def test_r50_library_refs_exist_offline():
    import timm
    import torchvision

    pretrained = set(timm.list_pretrained("resnet50*"))
    for e in r50_entries():
        if e["source_kind"] == "timm":
            assert e["ref"][len("timm:"):] in pretrained, e["ref"]
        elif e["source_kind"] == "torchvision":
            arch, _, tag = e["ref"][3:].partition(":")
            torchvision.models.get_model_weights(arch)[tag]  # KeyError if renamed


def test_sat69_manifest_keeps_the_component_columns():
    df = get_zoo("paper-sat69").manifest()
    assert len(df) == 69 and df["name"].is_unique
    assert set(COMPONENT_COLUMNS) <= set(df.columns) and "cluster" in df
    if (SHARED / "sat69_models.csv").is_file():
        paper = pd.read_csv(SHARED / "sat69_models.csv", dtype=str, keep_default_na=False)
        assert list(df["name"]) == list(paper["timm_name"])
        for col in COMPONENT_COLUMNS:
            assert list(df[col].astype(str)) == list(paper[col]), col
    assert zoo_model_names("paper-sat69")[0] == df["name"].iloc[0]


def test_every_sat69_entry_resolves_to_a_timm_architecture_with_weights():
    rep = registry_report()
    assert rep["arch_is_model"].all(), rep.loc[~rep["arch_is_model"], "name"].tolist()
    assert rep["tag_is_pretrained"].all(), rep.loc[~rep["tag_is_pretrained"], "name"].tolist()
    # The paper's input resolution is the pinned weights' default resolution (the substitute aside).
    same = rep[rep["status"] != "substitute"]
    assert (same["timm_resolution"] == same["paper_resolution"]).all()
    # The rename table lists exactly the 0.6.7 names that no longer have weights under that name.
    assert set(rep.loc[~rep["old_name_has_weights"], "name"]) == set(RENAMES)


def test_pinned_tags_differ_from_todays_default_for_the_documented_reason():
    import timm

    for name in PINNED_OVER_DEFAULT:
        assert timm.models.get_pretrained_cfg(name).tag != get_zoo("paper-sat69").manifest().set_index("name").loc[name, "pretrained_tag"]
