"""Layer criticality: fast == naive, strategies, metrics, non-finite handling, resume, labels."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from zoolens.criticality import criticality, summarize
from zoolens.criticality.labels import paper_labels
from zoolens.criticality.metrics import MetricSums, clean_probabilities
from zoolens.models import discover_layers, load_model
from zoolens.models.reinit import Reinitializer
from zoolens.models.wrapper import PreprocessConfig, WrappedModel

from tests.factories import assert_same_criticality as _assert_same
from tests.factories import timm_small as _timm_small
from tests.factories import tiny_model

METRICS = ["cosine_distance", "top1_agreement", "accuracy", "l1", "l2", "nonfinite"]


@pytest.mark.parametrize("name,size,kw", [  # resnet18 stays in `make test-quick`; the bigger three are slow
    ("resnet18", 64, {}), pytest.param("vit_tiny_patch16_224", 32, {"img_size": 32}, marks=pytest.mark.slow),
    pytest.param("convnext_atto", 64, {}, marks=pytest.mark.slow),
    pytest.param("efficientnet_b0", 32, {}, marks=pytest.mark.slow)])
def test_fast_equals_naive_on_timm_models(name, size, kw):
    from zoolens.criticality.config import CriticalityConfig
    from zoolens.criticality.one_model import criticality_one_model

    model = _timm_small(name, size, **kw)
    settings = CriticalityConfig(data="digits", n_images=6, seeds=[0, 1], batch_size=6)
    naive, _ = criticality_one_model(model, dataclasses.replace(settings, engine="naive"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fast engine must not fall back to naive for these
        fast, summary = criticality_one_model(model, dataclasses.replace(settings, engine="fast"))
    assert summary["engine"] == "fast"
    _assert_same(naive, fast)
    assert len(fast) == 2 * len(discover_layers(model.net, model.input_size))
    assert (fast["cosine_distance"] > 1e-6).sum() >= 3  # the comparison is not between no-ops


@pytest.mark.parametrize("name", ["resnet_baseline", "vit_baseline", "convnext_baseline"])
def test_fast_equals_naive_on_mini_zoo_families(name):
    kw = dict(data="fashion-mnist", n_images=40, seeds=3, batch_size=16)
    naive = criticality(f"zoo:fmnist-mini/{name}", engine="naive", **kw)
    fast = criticality(f"zoo:fmnist-mini/{name}", engine="fast", **kw)
    _assert_same(naive, fast)
    assert fast["accuracy"].notna().all() and (fast["cosine_distance"] > 1e-4).any()


def _run_one(model, **kw):
    from zoolens.criticality.config import CriticalityConfig
    from zoolens.criticality.one_model import criticality_one_model

    return criticality_one_model(model, CriticalityConfig(data="digits", n_images=200, **kw))


def test_zero_strategy_matches_a_hand_written_loop():
    from zoolens.criticality.config import CriticalityConfig
    from zoolens.criticality.one_model import criticality_one_model
    from zoolens.data import load_data

    model = tiny_model()
    # naive and the plain suffix replay compute the very same ops; 'fast' folds Conv-BN (float rounding)
    for engine, tol in (("naive", 1e-9), ("suffix", 1e-9), ("fast", 1e-6)):
        rows, summary = criticality_one_model(model, CriticalityConfig(data="digits", n_images=200, randomize="zero",
                                                                       engine=engine))
        data = load_data("digits", n=200, model=model)
        x = data.float()
        with torch.no_grad():
            p = torch.softmax(model(x).double(), 1)
            for layer in ("conv", "fc"):
                module = getattr(model.net, layer)
                saved = {k: v.clone() for k, v in module.named_parameters()}
                for v in module.parameters():
                    v.zero_()
                q = torch.softmax(model(x).double(), 1)
                for k, v in module.named_parameters():
                    v.copy_(saved[k])
                cos = (p * q).sum(1) / (p.norm(dim=1) * q.norm(dim=1))
                row = rows[rows["layer"] == layer].iloc[0]
                assert row["cosine_distance"] == pytest.approx(float((1 - cos).mean()), abs=tol)
                assert row["l1"] == pytest.approx(float((p - q).abs().sum(1).mean()), abs=tol)
                assert row["l2"] == pytest.approx(float((p - q).norm(dim=1).mean()), abs=tol)
                assert row["top1_agreement"] == pytest.approx(float((p.argmax(1) == q.argmax(1)).double().mean()))
                assert row["accuracy"] == pytest.approx(float((q.argmax(1) == data.labels).double().mean()))
        assert list(rows["seed"]) == [0, 0]  # deterministic strategy: one seed
        assert list(rows["layer"]) == ["conv", "fc"]  # BatchNorm is not a layer by default


def test_init_strategy_redraws_from_the_architecture_and_leaves_the_model_intact():
    from zoolens.criticality.config import CriticalityConfig
    from zoolens.criticality.one_model import criticality_one_model

    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rows, _ = criticality_one_model(model, CriticalityConfig(data="digits", n_images=100, seeds=[0, 1]))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    conv = rows[rows["layer"] == "conv"]["cosine_distance"].to_numpy()
    assert conv[0] != conv[1] and (conv > 0).all()  # different seeds, different draws
    again, _ = criticality_one_model(model, CriticalityConfig(data="digits", n_images=100, seeds=[0, 1]))
    pd.testing.assert_frame_equal(rows, again)  # same seeds, same draws


def test_nonfinite_outputs_are_counted_and_excluded(tmp_path):
    from safetensors.torch import save_file

    from zoolens.criticality.config import CriticalityConfig
    from zoolens.criticality.one_model import criticality_one_model

    model = tiny_model()
    huge = {k: v.clone() for k, v in model.net.state_dict().items()}
    huge["fc.weight"] = torch.full_like(huge["fc.weight"], 3e38)  # overflows to inf/nan for most images
    save_file(huge, str(tmp_path / "huge.safetensors"))
    settings = CriticalityConfig(data="digits", n_images=100, randomize=f"checkpoint:{tmp_path / 'huge.safetensors'}")
    with pytest.warns(UserWarning, match="non-finite outputs"):
        rows, _ = criticality_one_model(model, settings)
    fc = rows[rows["layer"] == "fc"].iloc[0]
    conv = rows[rows["layer"] == "conv"].iloc[0]
    assert fc["nonfinite"] > 0 and conv["nonfinite"] == 0
    assert conv["cosine_distance"] == pytest.approx(0.0, abs=1e-12)  # checkpoint holds the same conv
    if fc["nonfinite"] < 100:
        assert np.isfinite(fc["cosine_distance"])
    else:
        assert np.isnan(fc["cosine_distance"])


def test_metric_sums_skip_nonfinite_rows():
    p = clean_probabilities(torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    logits = torch.tensor([[2.0, 0.0], [float("nan"), 1.0], [1.0, 1.0]])
    s = MetricSums()
    s.update(p, logits, torch.tensor([0, 1, 1]))
    r = s.result()
    assert r["nonfinite"] == 1 and r["cosine_distance"] == pytest.approx(0.0, abs=1e-12)
    assert r["top1_agreement"] == 1.0 and r["accuracy"] == 0.5


def test_resume_after_interruption_gives_identical_tables(tmp_path, monkeypatch):
    import zoolens.criticality.experiment as run_mod

    kw = dict(data="digits", n_images=60, seeds=2, randomize="init")
    refs = ["py:tests.factories:tiny_a", "py:tests.factories:tiny_b"]
    full = criticality(refs, out=tmp_path / "full", **kw)
    calls = {"n": 0}
    original = run_mod.criticality_one_model

    def crash_on_second(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*a, **k)

    monkeypatch.setattr(run_mod, "criticality_one_model", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        criticality(refs, out=tmp_path / "resumed", **kw)
    assert not (tmp_path / "resumed" / "criticality.parquet").exists()
    calls["n"] = 10  # second call: count how many models are computed again
    computed = []
    monkeypatch.setattr(run_mod, "criticality_one_model", lambda *a, **k: computed.append(1) or original(*a, **k))
    resumed = criticality(refs, out=tmp_path / "resumed", **kw)
    assert len(computed) == 1
    pd.testing.assert_frame_equal(full, resumed)
    for name in ("criticality_summary.csv", "models.csv"):
        a = pd.read_csv(tmp_path / "full" / name)
        b = pd.read_csv(tmp_path / "resumed" / name)
        pd.testing.assert_frame_equal(a, b)
    assert pd.read_parquet(tmp_path / "resumed" / "criticality.parquet").equals(full)


def test_rundir_refuses_other_settings(tmp_path):
    from zoolens.errors import ZoolensError

    criticality("py:tests.factories:tiny_a", data="digits", n_images=20, seeds=1, out=tmp_path)
    with pytest.raises(ZoolensError, match="other settings"):
        criticality("py:tests.factories:tiny_a", data="digits", n_images=30, seeds=1, out=tmp_path)


def test_summary_mean_sem_and_roles():
    rows = pd.DataFrame({"model": "m", "layer": ["a"] * 3 + ["b"] * 3, "label": ["a"] * 3 + ["b"] * 3,
                         "layer_index": [0] * 3 + [1] * 3, "module_type": "Conv2d", "n_params": 9,
                         "seed": [0, 1, 2] * 2, "cosine_distance": [0.01, 0.02, 0.03, 0.6, 0.7, 0.8]})
    s = summarize(rows)
    assert s["criticality_mean"].tolist() == pytest.approx([0.02, 0.7])
    assert s["criticality_sem"].tolist() == pytest.approx([0.01 / np.sqrt(3), 0.1 / np.sqrt(3)])
    assert s["role"].tolist() == ["auxiliary", "critical"]


def test_paper_labels_for_resnets():
    names = ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.0.downsample.0", "layer3.5.conv2", "fc"]
    assert paper_labels(names) == ["[0.0] conv", "[1.0] conv1", "[1.0] conv2", "[1.0] downsample",
                                   "[3.5] conv2", "[Head] fc"]
    assert paper_labels(["", "patch_embed.proj", "head"]) == ["<root>", "patch_embed.proj", "head"]
    m = load_model("timm:resnet50@init:0")
    labels = paper_labels([l.name for l in discover_layers(m.net, (3, 64, 64))])
    assert len(labels) == 54 and labels[0] == "[0.0] conv" and labels[-1] == "[Head] fc"
    assert "[1.0] downsample" in labels and "[3.5] conv3" in labels
