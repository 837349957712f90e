"""Training the zoo: a full retrain reproduces a shipped model bit for bit, and
parallel training (``--jobs``) gives the same weights as sequential training."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from zoolens.zoo.augment import load_split
from zoolens.zoo.mini import manifest_rows, recipe_for
from zoolens.io import sha256_file as file_sha256
from zoolens.zoo.train_zoo import train_zoo

ZOO = "fmnist-mini"
ROWS = manifest_rows(ZOO)
pytestmark = [pytest.mark.skipif(not ROWS, reason="zoo not trained yet (run `zoolens zoo train fmnist-mini`)"),
              pytest.mark.slow]  # both tests train models


def test_full_retrain_reproduces_shipped_weights(tmp_path) -> None:
    """`zoolens zoo train --only NAME` from scratch: same weights file (SHA-256) and accuracy as shipped.

    The cheapest model (by recorded training time) keeps the suite fast; every recipe
    runs the same training code, and the first steps of the others are checked in zoo/test_zoo.py.
    """
    from typer.testing import CliRunner

    from zoolens.cli import app

    row = min(ROWS, key=lambda r: r["train_wall_time_s"])
    if row["torch_version"] != torch.__version__:
        pytest.skip(f"weights were trained with torch {row['torch_version']}; bitwise equality needs the same build")
    if row.get("cpu_capability") != torch.backends.cpu.get_cpu_capability():
        # Same-machine determinism is still checked by test_parallel_training_equals_sequential.
        pytest.skip(f"weights were trained with {row.get('cpu_capability')} CPU kernels, this CPU runs "
                    f"{torch.backends.cpu.get_cpu_capability()}; bitwise equality needs the same kernels")
    res = CliRunner().invoke(app, ["zoo", "train", ZOO, "--only", row["name"], "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    new = json.loads((tmp_path / "manifest.json").read_text())["models"]
    assert [r["name"] for r in new] == [row["name"]]
    assert new[0]["accuracy"] == row["accuracy"]
    assert new[0]["probe_sha256"] == row["probe_sha256"]
    assert file_sha256(tmp_path / "weights" / f"{row['name']}.safetensors") == row["sha256"]


def test_parallel_training_equals_sequential(tmp_path) -> None:
    """Two models trained in two worker processes get exactly the weights of a sequential run."""
    recipes = [replace(recipe_for(ZOO, "resnet_baseline"), probe_steps=3),
               replace(recipe_for(ZOO, "vit_seed1"), probe_steps=3)]
    x, y = load_split("test")
    test = x[:1000], y[:1000]  # the accuracy compared below: measured on 1,000 test images, not 10,000
    seq = train_zoo(ZOO, recipes, tmp_path / "seq", jobs=1, max_steps=4, test_data=test)
    par = train_zoo(ZOO, recipes, tmp_path / "par", jobs=2, max_steps=4, test_data=test)
    key = lambda rows: {r["name"]: (r["sha256"], r["probe_sha256"], r["accuracy"], r["train_steps"]) for r in rows}  # noqa: E731
    assert key(par) == key(seq)
    assert all(r["train_steps"] == 4 for r in seq)
    manifest = json.loads((tmp_path / "par" / "manifest.json").read_text())["models"]
    assert [r["name"] for r in manifest] == ["resnet_baseline", "vit_seed1"]  # recipe order, not finish order
