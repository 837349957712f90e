"""The shipped ``fmnist-mini`` zoo: manifest, weights integrity, loading, re-initialization, reproducibility.

Reproducibility is checked bitwise in two ways: ``tests/zoo/test_train.py`` retrains
the cheapest model in full and compares the weights file's SHA-256 with the
manifest; here the first ``probe_steps`` optimizer steps of eight more recipes
(learning-rate schedule, data order, augmentation, mixup, PGD adversarial crafting
and EMA bookkeeping all as in the full run) are re-run from the config stored in the
manifest and a digest of the raw weights is compared with the one recorded during
the shipped training run. Each check runs only on a CPU with the kernels the model was
trained with (most of the zoo: AVX-512; the ViT variants: AVX2), so every CPU checks some.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from zoolens.errors import ZoolensError
from zoolens.zoo import list_zoos, load_zoo_model, zoo_manifest, zoo_model_names
from zoolens.zoo.architectures import COMPONENT_COLUMNS, FAMILIES
from zoolens.zoo.recipes import CATEGORIES, Recipe
from zoolens.zoo.mini import manifest_rows, recipe_for, zoo_dir

ZOO = "fmnist-mini"
ROWS = manifest_rows(ZOO)
NAMES = [r["name"] for r in ROWS]
pytestmark = pytest.mark.skipif(not ROWS, reason="zoo not trained yet (run `zoolens zoo train fmnist-mini`)")


def test_list_zoos_and_names() -> None:
    assert {"fmnist-mini", "paper-r50", "paper-sat69"} <= set(list_zoos())
    assert NAMES == zoo_model_names(ZOO), "every recipe must be trained and shipped"


def test_unknown_zoo_and_model_are_one_line_errors() -> None:
    with pytest.raises(ZoolensError, match="valid zoos: fmnist-mini"):
        zoo_manifest("nope")
    with pytest.raises(ZoolensError) as info:
        load_zoo_model(ZOO, "resnet_nope")
    assert "resnet_baseline" in str(info.value) and "\n" not in str(info.value)


def test_manifest_covers_both_studies() -> None:
    df = zoo_manifest(ZOO)
    assert len(df) >= 18
    assert set(df["family"]) >= {"resnet", "vgg", "vit", "mixer", "convnext"}
    assert set(df["category"]) == set(CATEGORIES)
    resnet = df[df["family"] == "resnet"]
    assert (resnet["category"] == "adversarial_training").sum() >= 3
    for fam, group in df.groupby("family"):
        assert {"baseline", "seed"} <= set(group["category"]), fam
    assert len(set(df["input_size"])) >= 2, "at least one family must use another input resolution"
    for row in ROWS:
        assert tuple(row["components"]) == COMPONENT_COLUMNS
        assert row["components"]["input_resolution"] == row["input_size"][-1]
        assert Recipe.from_config(row["config"]).config() == row["config"]
        # Shipped weights were trained with the recipe the code defines now (no stale rows).
        assert json.loads(json.dumps(recipe_for(ZOO, row["name"]).config())) == row["config"], row["name"]
        for key in ("seed", "accuracy", "params", "sha256", "train_wall_time_s"):
            assert row[key] is not None, (row["name"], key)
    # Components differ across families along several axes.
    vecs = {f: tuple(FAMILIES[f].components.values()) for f in FAMILIES}
    assert len(set(vecs.values())) == len(vecs)


def test_shipped_weights_match_sha256() -> None:
    total = 0
    for row in ROWS:
        path = zoo_dir(ZOO) / row["weights"]
        data = Path(path).read_bytes()
        total += len(data)
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["name"]
    assert total <= 25 * 2**20


@pytest.mark.parametrize("name", NAMES)
def test_load_every_model(name: str) -> None:
    model = load_zoo_model(ZOO, name)
    row = next(r for r in ROWS if r["name"] == name)
    assert model.name == f"zoo:{ZOO}/{name}"
    assert list(model.input_size) == row["input_size"]
    assert not model.training
    x = torch.rand(3, *model.input_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(x)
    assert out.shape == (3, 10) and torch.isfinite(out).all()
    assert sum(p.numel() for p in model.net.parameters()) == row["params"]
    # Re-initializer: the architecture's own init, same shapes, seeded, different from trained.
    reinit = model.reinitializer
    assert reinit is not None and reinit.exact
    layer = next(n for n, m in model.net.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    fresh = reinit.fresh_parameters(model.net, layer, seed=0)
    again = reinit.fresh_parameters(model.net, layer, seed=0)
    other = reinit.fresh_parameters(model.net, layer, seed=1)
    own = dict(model.net.get_submodule(layer).named_parameters(recurse=False))
    assert set(fresh) == set(own)
    for k, p in own.items():
        assert fresh[k].shape == p.shape
        assert torch.equal(fresh[k], again[k])
    assert not torch.equal(fresh["weight"], own["weight"])
    assert not torch.equal(fresh["weight"], other["weight"])


def test_loading_rejects_mismatched_weights(tmp_path, monkeypatch) -> None:
    from safetensors.torch import save_file

    import zoolens.zoo.mini as mini

    src = zoo_dir(ZOO)
    (tmp_path / "weights").mkdir()
    (tmp_path / "manifest.json").write_text((src / "manifest.json").read_text())
    save_file({"fc.weight": torch.zeros(3, 3)}, str(tmp_path / "weights" / "resnet_baseline.safetensors"))
    monkeypatch.setitem(mini.ZOO_DIRS, ZOO, tmp_path)
    with pytest.raises(ZoolensError, match="do not match"):
        load_zoo_model(ZOO, "resnet_baseline")


@pytest.mark.parametrize("name", ["resnet_baseline", "resnet_pgd_eps0.05", "resnet_mixup_cutmix",
                                  "resnet_strong_aug", "resnet_improved", "mixer_baseline", "vit_label_smoothing",
                                  "vit_improved"])
def test_first_steps_reproduce_bitwise(name: str, train_data) -> None:
    """Retrain ``probe_steps`` steps from the manifest config; the weights digest must match exactly."""
    from zoolens.zoo.train import train_recipe

    row = next(r for r in ROWS if r["name"] == name)
    if row["torch_version"] != torch.__version__:
        pytest.skip(f"weights were trained with torch {row['torch_version']}; bitwise equality needs the same build")
    if row.get("cpu_capability") != torch.backends.cpu.get_cpu_capability():
        # Same-machine determinism is still checked by test_parallel_training_equals_sequential.
        pytest.skip(f"weights were trained with {row.get('cpu_capability')} CPU kernels, this CPU runs "
                    f"{torch.backends.cpu.get_cpu_capability()}; bitwise equality needs the same kernels")
    recipe = Recipe.from_config(row["config"])
    res = train_recipe(recipe, train_data, max_steps=row["probe_steps"])
    assert res.steps == row["probe_steps"]
    assert res.probe_digest == row["probe_sha256"]


@pytest.fixture(scope="module")
def train_data():
    from zoolens.zoo.augment import load_split

    return load_split("train")


def test_cli_list_formats() -> None:
    from typer.testing import CliRunner

    from zoolens.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["zoo", "list", ZOO, "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["name"] for r in rows] == NAMES
    assert {"name", "family", "method", "category", "accuracy", "params", "input_size"} <= set(rows[0])
    res = runner.invoke(app, ["zoo", "list", ZOO, "--format", "csv"])
    assert res.exit_code == 0 and res.stdout.splitlines()[0].startswith("name,family,method,category")
    res = runner.invoke(app, ["zoo", "train", ZOO, "--only", "nope"])
    assert isinstance(res.exception, ZoolensError) and "valid names" in str(res.exception)
