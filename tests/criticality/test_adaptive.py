"""Adaptive image budgets (--target-se): exact at X = 0, the SE against numpy, the stopping rule, the CLI."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from zoolens.criticality.adaptive import image_order, image_se
from zoolens.criticality.config import CriticalityConfig
from zoolens.criticality.engines import ENGINES
from zoolens.criticality.one_model import criticality_one_model
from zoolens.criticality.strategies import Randomizer
from zoolens.criticality.suffix import swapped_parameters
from zoolens.criticality.tables import ROW_COLUMNS, complete_rows, summarize
from zoolens.data import load_data
from zoolens.errors import ZoolensError
from zoolens.models import discover_layers

from tests.factories import tiny_model

METRICS = ["cosine_distance", "top1_agreement", "accuracy", "l1", "l2", "nonfinite"]
BASE = CriticalityConfig(data="digits", n_images=120, seeds=[0, 1], se_chunk=30, batch_size=32)


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def fixed(model):
    """The fixed-budget run of BASE (X = 0): rows and summary."""
    return criticality_one_model(model, BASE)


def _layers(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.drop_duplicates("layer").set_index("layer")


@pytest.mark.parametrize("engine", ["fast", "naive"])
def test_target_se_zero_equals_the_fixed_budget_engine_call_exactly(model, fixed, engine):
    config = dataclasses.replace(BASE, engine=engine)
    rows, summary = fixed if engine == "fast" else criticality_one_model(model, config)
    # the fixed-budget path as it was: one engine call on the whole subset, rows from its sums
    data = load_data("digits", n=120, seed=0, model=model)
    layers = discover_layers(model.net, model.input_size)
    res = ENGINES[engine](model, layers, data.images, data.labels, Randomizer(model, "init"), [0, 1], batch_size=32)
    want = pd.DataFrame([res.sums[(l.name, s)].result() for l in layers for s in (0, 1)], columns=METRICS)
    pd.testing.assert_frame_equal(rows[METRICS], want, check_exact=True)
    assert (rows["n_images_used"] == 120).all()
    assert summary["image_passes"] == summary["image_passes_fixed"] == 120 * (1 + 2 * 2)
    assert summary["clean_accuracy"] == res.clean_correct / 120
    # and X = 0 spelled out is the default run, to the last bit
    pd.testing.assert_frame_equal(criticality_one_model(model, dataclasses.replace(config, target_se=0.0))[0], rows,
                                  check_exact=True)


def test_image_se_equals_a_naive_loop():
    rng = np.random.default_rng(0)
    values = rng.random((40, 3))
    values[3, 1] = values[7, :] = np.nan  # one non-finite seed of an image; an image with none finite
    means = []
    for row in values:
        finite = [v for v in row if not math.isnan(v)]
        if finite:
            means.append(sum(finite) / len(finite))
    mean = sum(means) / len(means)
    want = math.sqrt(sum((m - mean) ** 2 for m in means) / (len(means) - 1)) / math.sqrt(len(means))
    assert image_se(values) == pytest.approx(want, rel=1e-12)
    one = rng.random(40)  # one seed: the usual standard error of the mean
    assert image_se(one) == pytest.approx(np.std(one, ddof=1) / np.sqrt(40), rel=1e-12)
    assert math.isnan(image_se(values[:1])) and math.isnan(image_se(np.full((5, 2), np.nan)))


def test_the_runs_image_se_is_over_images_of_seed_means(model, fixed):
    rows, _ = fixed
    data = load_data("digits", n=120, seed=0, model=model)
    randomizer = Randomizer(model, "init")
    x = data.float()
    with torch.no_grad():
        p = torch.softmax(model(x).double(), 1)
        for layer in ("conv", "fc"):
            per_seed = []
            for s in (0, 1):
                with swapped_parameters(model.net, layer, randomizer.parameters(layer, s)):
                    q = torch.softmax(model(x).double(), 1)
                per_seed.append((1 - torch.nn.functional.cosine_similarity(p, q, dim=1)).numpy())
            m = np.mean(per_seed, axis=0)  # each image averaged over the seeds
            got = _layers(rows).loc[layer, "image_se"]
            assert got == pytest.approx(np.std(m, ddof=1) / np.sqrt(len(m)), rel=1e-6)


def test_a_large_target_stops_every_layer_after_the_first_chunk(model, fixed):
    rows, summary = criticality_one_model(model, dataclasses.replace(BASE, target_se=10.0))
    assert (rows["n_images_used"] == 30).all()
    # the first chunk for two layers × two seeds, plus the other images' clean pass (labels: clean accuracy)
    assert summary["image_passes"] == 30 * (1 + 2 * 2) + 90 and summary["image_passes_fixed"] == 120 * 5
    assert summary["clean_accuracy"] == fixed[1]["clean_accuracy"]


def test_stopped_layers_meet_the_target_and_equal_their_prefix(model, fixed):
    fixed_rows, fixed_summary = fixed
    se_all = _layers(fixed_rows)["image_se"]
    target = float(se_all.max() * 1.6)  # between the SEs of 30 and 120 images for some layer
    rows, summary = criticality_one_model(model, dataclasses.replace(BASE, target_se=target))
    per = _layers(rows)
    assert (per["n_images_used"] % 30 == 0).all() and per["n_images_used"].between(30, 120).all()
    assert ((per["image_se"] <= target) | (per["n_images_used"] == 120)).all()
    assert per["n_images_used"].nunique() > 1 or per["n_images_used"].iloc[0] < 120  # it did stop something early
    assert summary["clean_accuracy"] == fixed_summary["clean_accuracy"]
    # a layer's rows equal one engine call on its prefix of the seeded order (chunks merge exactly but for rounding)
    data = load_data("digits", n=120, seed=0, model=model)
    order = torch.from_numpy(image_order(120, 0))
    layers = {l.name: l for l in discover_layers(model.net, model.input_size)}
    for name, k in per["n_images_used"].items():
        idx = order[:k]
        res = ENGINES["fast"](model, [layers[name]], data.images[idx], data.labels[idx], Randomizer(model, "init"),
                              [0, 1], batch_size=32)
        got = rows[rows["layer"] == name][METRICS].to_numpy(float)
        want = np.array([[res.sums[(name, s)].result()[c] for c in METRICS] for s in (0, 1)])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_a_smaller_target_never_uses_fewer_images(model, fixed):
    used = []
    for target in (0.002, 0.0017, 0.0014):  # conv/fc: 60/30, 60/60, 90/120 images (of 120)
        rows, _ = criticality_one_model(model, dataclasses.replace(BASE, target_se=target))
        used.append(_layers(rows)["n_images_used"])
    used.append(_layers(fixed[0])["n_images_used"])  # X = 0
    for bigger, smaller in zip(used, used[1:]):
        assert (smaller >= bigger).all()
    assert (used[-1] == 120).all() and (used[0] < 120).all()


def test_layer_slices_equal_the_whole_adaptive_run(model):
    config = dataclasses.replace(BASE, target_se=0.0014)  # conv stops at 90 images, fc uses all 120
    whole, _ = criticality_one_model(model, config)
    part, _ = criticality_one_model(model, config, layer_slice=(0, 1))
    assert (part["n_images_used"] < 120).all()
    pd.testing.assert_frame_equal(part.reset_index(drop=True),
                                  whole[whole["layer"] == "conv"].reset_index(drop=True), check_exact=True)


def test_target_se_is_recorded_only_when_used_so_old_runs_resume():
    old = CriticalityConfig().result_spec()
    assert "target_se" not in old and "se_chunk" not in old
    assert CriticalityConfig(target_se=0.01).result_spec()["se_chunk"] == 100
    from zoolens.runtime.spec import resolve_study  # a study's [criticality] section takes it, recorded when used

    models = {"refs": ["py:tests.factories:tiny_a"]}
    assert "target_se" not in resolve_study({"models": models, "criticality": {}})["criticality"]
    assert resolve_study({"models": models, "criticality": {"target_se": 0.01}})["criticality"]["target_se"] == 0.01
    with pytest.raises(ZoolensError, match=r"\[criticality\] target_se must be ≥ 0"):
        resolve_study({"models": models, "criticality": {"target_se": -0.1}})
    # parts written before the columns existed used every image
    rows = pd.DataFrame({"model": ["m", "m"], "layer": ["a", "a"], "label": "a", "layer_index": 0,
                         "module_type": "Conv2d", "n_params": 9, "seed": [0, 1], "cosine_distance": [0.1, 0.2],
                         "top1_agreement": 1.0, "accuracy": 0.5, "l1": 0.1, "l2": 0.1, "nonfinite": 0})
    done = complete_rows(rows, pd.Series({"m": 500}))
    assert list(done.columns) == ROW_COLUMNS and (done["n_images_used"] == 500).all() and done["image_se"].isna().all()
    assert summarize(rows)["n_images_used"].isna().all()


def test_cli_reports_the_budget_and_refuses_a_negative_target(tmp_path, capsys, monkeypatch):
    from zoolens.cli import main

    monkeypatch.setenv("COLUMNS", "200")  # one line per model, unwrapped
    args = ["criticality", "-m", "py:tests.factories:tiny_a", "--data", "digits", "-n", "60", "--seeds", "2",
            "--se-chunk", "20", "--out", str(tmp_path / "run")]
    assert main([*args, "--target-se", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "target_se (--target-se) must be ≥ 0" in err and "\n" not in err
    assert main([*args, "--target-se", "1"]) == 0
    out = capsys.readouterr().out
    assert "images per layer 20 / 20 / 20 (min / median / max) of 60" in out and "image passes" in out
    models = pd.read_csv(tmp_path / "run" / "models.csv")
    assert models.loc[0, "image_passes"] == 20 * (1 + 2 * 2) + 40 and models.loc[0, "image_passes_fixed"] == 300
    summary = pd.read_csv(tmp_path / "run" / "criticality_summary.csv")
    assert (summary["n_images_used"] == 20).all() and summary["image_se"].notna().all()
    spec = json.loads((tmp_path / "run" / "criticality_spec.json").read_text())
    assert spec["target_se"] == 1.0 and spec["se_chunk"] == 20
