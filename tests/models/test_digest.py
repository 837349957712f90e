"""A weights digest keys every unit: a resumed run after a retrain or a replaced checkpoint
recomputes exactly the affected units and keeps the rest."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch

from zoolens.models.digest import module_digest, weights_digest


def _save(path, seed: int) -> None:
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    net = timm.create_model("test_resnet", num_classes=10)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))


def test_digest_follows_the_weights(tmp_path, monkeypatch):
    a = tmp_path / "w.safetensors"
    _save(a, 0)
    d0 = weights_digest(f"timm:test_resnet@{a}")
    assert d0 == weights_digest(f"timm:test_resnet@{a}") and len(d0) == 16
    _save(a, 1)
    assert weights_digest(f"timm:test_resnet@{a}") != d0  # same path, other bytes
    assert weights_digest("timm:resnet18@init:0") != weights_digest("timm:resnet18@init:1")
    assert weights_digest("zoo:fmnist-mini/resnet_baseline") != weights_digest("zoo:fmnist-mini/resnet_seed1")
    mod = tmp_path / "zl_digest_factory.py"
    mod.write_text("import torch\ndef net():\n    return torch.nn.Linear(4, 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    d_py = weights_digest("py:zl_digest_factory:net")
    mod.write_text("import torch\ndef net():\n    return torch.nn.Linear(4, 30)\n")  # the factory's code changed
    assert weights_digest("py:zl_digest_factory:net") != d_py
    net = torch.nn.Linear(3, 2)
    d = module_digest(net)
    with torch.no_grad():
        net.weight[0, 0] += 1
    assert module_digest(net) != d


def test_criticality_resume_recomputes_only_the_model_whose_weights_changed(tmp_path, monkeypatch):
    import zoolens.criticality.experiment as run_mod
    from zoolens.criticality import criticality

    fa, fb = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    _save(fa, 0)
    _save(fb, 1)
    refs = [f"timm:test_resnet@{fa}", f"timm:test_resnet@{fb}"]
    kw = dict(data="digits", n_images=8, seeds=[0], layers=r"^(fc|stem\.conv1|stem\.conv)$|conv1$")
    first = criticality(refs, out=tmp_path / "run", **kw)
    _save(fb, 2)  # "retrained": same path, new weights
    computed = []
    original = run_mod.criticality_one_model
    monkeypatch.setattr(run_mod, "criticality_one_model",
                        lambda model, *a, **k: computed.append(model.name) or original(model, *a, **k))
    with pytest.warns(UserWarning, match="weights of 1 unit"):
        resumed = criticality(refs, out=tmp_path / "run", **kw)
    assert computed == [refs[1]]  # the unchanged model is kept, the changed one recomputed
    fresh = criticality(refs, out=tmp_path / "fresh", **kw)
    pd.testing.assert_frame_equal(resumed, fresh)
    a_rows = first["model"] == refs[0]
    pd.testing.assert_frame_equal(first[a_rows].reset_index(drop=True),
                                  resumed[resumed["model"] == refs[0]].reset_index(drop=True))
    assert not first[~a_rows]["cosine_distance"].reset_index(drop=True).equals(
        resumed[resumed["model"] == refs[1]]["cosine_distance"].reset_index(drop=True))
    models = pd.read_csv(tmp_path / "run" / "models.csv")
    assert models["weights_digest"].tolist() == [weights_digest(r) for r in refs]
    computed.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # nothing changed: no recompute, no warning
        criticality(refs, out=tmp_path / "run", **kw)
    assert computed == []


def _mlp(seed: int):
    from zoolens.models.wrapper import PreprocessConfig, WrappedModel

    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    prep = PreprocessConfig(input_size=(1, 8, 8), interpolation="bilinear", crop_pct=1.0, mean=(0.5,), std=(0.5,))
    return WrappedModel(net, name=f"mlp{seed}", preprocess=prep, num_classes=10).eval()


def test_sat_resume_recomputes_only_what_involves_the_changed_model(tmp_path, monkeypatch):
    import zoolens.similarity.units as run_mod
    from zoolens.similarity import AttackConfig, run_sat

    kw = dict(data="digits", n_images=40, attack=AttackConfig("fgsm", eps=8 / 255), batch_size=64, n_resamples=20)
    models = [_mlp(0), _mlp(1), _mlp(2)]
    run_sat(models, out=tmp_path / "run", **kw)
    pairs = tmp_path / "run" / "parts" / "pair"
    kept = {p.name: p.stat().st_mtime_ns for p in pairs.glob("*.parquet") if "mlp2" not in p.name}
    with torch.no_grad():  # "retrain" mlp2 in place: same name, new weights
        models[2].net[1].weight.mul_(-1.0)
    attacked = []
    original = run_mod.run_attack
    monkeypatch.setattr(run_mod, "run_attack", lambda m, *a, **k: attacked.append(m.name) or original(m, *a, **k))
    with pytest.warns(UserWarning, match="weights of mlp2 changed"):
        resumed = run_sat(models, out=tmp_path / "run", **kw)
    assert attacked == ["mlp2"]  # only the changed model is attacked again
    assert {p.name: p.stat().st_mtime_ns for p in pairs.glob("*.parquet") if "mlp2" not in p.name} == kept
    fresh = run_sat(models, out=tmp_path / "fresh", **kw)
    pd.testing.assert_frame_equal(resumed.sat, fresh.sat)
    pd.testing.assert_frame_equal(resumed.transfer, fresh.transfer)
