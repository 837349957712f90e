"""Epoch checkpoints (``zoolens zoo train --save-every N``): the final weights do not change, every
checkpoint has a sidecar and loads as ``zoo:ZOO/NAME@FILE``."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from zoolens.errors import ZoolensError
from zoolens.io import sha256_file
from zoolens.models.loader import load_model
from zoolens.models.refs import display_name
from zoolens.zoo.augment import load_split
from zoolens.zoo.checkpoints import CheckpointPlan, checkpoint_of_ref, checkpoint_path
from zoolens.zoo.mini import recipe_for
from zoolens.zoo.train_zoo import train_zoo

ZOO = "fmnist-mini"


@pytest.fixture(scope="module")
def tiny_data():
    x, y = load_split("train")
    return x[:256], y[:256]


@pytest.fixture(scope="module")
def tiny_test():
    """What the manifest's accuracy is measured on (nothing here checks it): 256 test images, not 10,000."""
    x, y = load_split("test")
    return x[:256], y[:256]


@pytest.mark.parametrize("name", ["resnet_baseline", "resnet_improved"])  # plain and EMA weights
def test_checkpoints_leave_the_final_weights_bitwise_unchanged(name, tiny_data, tiny_test, tmp_path):
    recipe = replace(recipe_for(ZOO, name), epochs=3, batch_size=64, warmup_steps=2, probe_steps=2)
    plain = train_zoo(ZOO, [recipe], tmp_path / "plain", train_data=tiny_data, test_data=tiny_test)[0]
    saved = train_zoo(ZOO, [recipe], tmp_path / "ckpt", train_data=tiny_data, test_data=tiny_test, save_every=2)[0]
    assert saved["sha256"] == plain["sha256"] and saved["probe_sha256"] == plain["probe_sha256"]
    assert not (tmp_path / "plain" / "checkpoints").exists()
    files = sorted((tmp_path / "ckpt" / "checkpoints" / name).glob("*.safetensors"))
    assert [f.stem for f in files] == ["epoch_000", "epoch_002", "epoch_003"]  # 0, every 2nd, the last
    final = load_file(str(tmp_path / "ckpt" / "weights" / f"{name}.safetensors"))
    last = load_file(str(files[-1]))
    assert set(last) == set(final) and all(torch.equal(last[k], final[k]) for k in final)
    side = json.loads(files[-1].with_suffix(".json").read_text())
    assert side["epoch"] == 3 and side["final"] and side["step"] == 12 and side["model"] == name
    assert side["sha256"] == sha256_file(files[-1]) and side["recipe"]["epochs"] == 3
    first = json.loads(files[0].with_suffix(".json").read_text())
    assert first["epoch"] == 0 and first["step"] == 0 and not first["final"]


def test_checkpoint_loads_as_a_zoo_reference(tiny_data, tiny_test, tmp_path):
    recipe = replace(recipe_for(ZOO, "resnet_baseline"), epochs=1, batch_size=128, warmup_steps=1)
    train_zoo(ZOO, [recipe], tmp_path, train_data=tiny_data, test_data=tiny_test, save_every=1)
    path = checkpoint_path(tmp_path, "resnet_baseline", 1)
    ref = f"zoo:{ZOO}/resnet_baseline@{path}"
    assert display_name(ref) == "resnet_baseline@epoch_001"
    model = load_model(ref)
    state = load_file(str(path))
    assert all(torch.equal(model.net.state_dict()[k], state[k]) for k in state)
    assert model.info["epoch"] == 1 and checkpoint_of_ref(ref)["final"] is True
    assert checkpoint_of_ref(f"zoo:{ZOO}/resnet_baseline") is None
    with pytest.raises(ZoolensError, match="does not exist"):
        load_model(f"zoo:{ZOO}/resnet_baseline@{tmp_path}/missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ZoolensError, match="not a readable safetensors"):
        load_model(f"zoo:{ZOO}/resnet_baseline@{bad}")
    with pytest.raises(ZoolensError, match="do not match architecture"):
        load_model(f"zoo:{ZOO}/vit_baseline@{path}")  # a ResNet checkpoint is not a ViT


def test_plan_is_picklable_and_save_every_is_checked(tmp_path):
    plan = CheckpointPlan(ZOO, tmp_path, 3)
    assert pickle.loads(pickle.dumps(plan)) == plan  # parallel workers receive it
    assert [e for e in range(9) if plan.wants(e, 8)] == [0, 3, 6, 8]
    with pytest.raises(ZoolensError, match="save_every"):
        train_zoo(ZOO, [recipe_for(ZOO, "resnet_baseline")], tmp_path, save_every=0)
