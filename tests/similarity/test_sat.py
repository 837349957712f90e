"""SAT runs end to end on tiny models trained here on scikit-learn's digits (fast, offline).

Models: two 1×8×8 MLPs (different seeds) and a 3×12×12 CNN (mixed resolution and
channels). Attacks are short PGD runs; the mechanics, not the attack strength, are
under test here (see similarity/test_sat_zoo.py for the mini-zoo checks).
"""

from __future__ import annotations

import math
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zoolens.data import load_data
from zoolens.errors import ZoolensError
from zoolens.models.wrapper import PreprocessConfig, WrappedModel
from zoolens.similarity import AttackConfig, add_model, predict, quantize, run_attack, run_sat, to_input

ATTACK = AttackConfig("pgd", eps=8 / 255, alpha=2 / 255, steps=5, random_start=True, seed=1)
N_IMAGES = 120


def _prep(c: int, hw: int) -> PreprocessConfig:
    return PreprocessConfig(input_size=(c, hw, hw), interpolation="bilinear", crop_pct=1.0,
                            mean=(0.5,) * c, std=(0.5,) * c)


def _build(kind: str) -> nn.Module:
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 6 * 6, 10))


def _train(kind: str, seed: int, c: int, hw: int) -> nn.Module:
    torch.manual_seed(seed)
    net = _build(kind)
    ds = load_data("digits", n=600, seed=1, model=_prep(c, hw))
    x, y = (ds.images.float() / 255 - 0.5) / 0.5, ds.labels.long()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(40):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return net.eval()


@pytest.fixture(scope="session")
def tiny_states():
    return {"mlp0": ("mlp", 1, 8, _train("mlp", 0, 1, 8).state_dict()),
            "mlp1": ("mlp", 1, 8, _train("mlp", 1, 1, 8).state_dict()),
            "cnn12": ("cnn", 3, 12, _train("cnn", 2, 3, 12).state_dict())}


def _wrap(tiny_states, name: str) -> WrappedModel:
    kind, c, hw, state = tiny_states[name]
    net = _build(kind)
    net.load_state_dict(state)
    return WrappedModel(net, name=name, preprocess=_prep(c, hw), num_classes=10).eval()


@pytest.fixture
def tiny(tiny_states):
    return {n: _wrap(tiny_states, n) for n in tiny_states}


def _run(models, out, **kw):
    return run_sat(models, data="digits", n_images=N_IMAGES, attack=ATTACK, out=out, batch_size=64,
                   n_resamples=200, **kw)


def test_run_writes_all_tables_and_sat_diagonal_is_white_box(tiny, tmp_path):
    res = _run(list(tiny.values()), tmp_path / "run")
    out = tmp_path / "run"
    for f in ("clean.parquet", "attack.csv", "transfer.parquet", "transfer.csv", "transfer_images.parquet",
              "sat_matrix.csv", "sat_ci.csv", "manifest.json"):
        assert (out / f).is_file(), f
    sat = pd.read_csv(out / "sat_matrix.csv", index_col=0)
    assert list(sat.index) == list(sat.columns) == ["mlp0", "mlp1", "cnn12"]
    np.testing.assert_allclose(sat.to_numpy(), sat.to_numpy().T)
    assert len(res.transfer) == 9 and (res.transfer.n_both_correct > 0).all()
    # SAT(A, A) = ln(100 × white-box success rate), recomputed here independently of the run
    model = tiny["mlp0"]
    ds = load_data("digits", n=N_IMAGES, model=model)
    ok = predict(model, ds.images) == ds.labels
    x, y = ds.images[ok], ds.labels[ok]
    adv = quantize(run_attack(model, x, y, ATTACK, batch_size=64), x, ATTACK.eps)
    success = float((predict(model, adv) != y).double().mean())
    assert success > 0
    expected = math.log(max(1e-2, 100 * success))
    assert sat.loc["mlp0", "mlp0"] == pytest.approx(expected, abs=1e-9)
    attack = pd.read_csv(out / "attack.csv").set_index("model")
    assert attack.loc["mlp0", "success_rate"] == pytest.approx(success)
    assert attack.loc["mlp0", "clean_accuracy"] == pytest.approx(float(ok.double().mean()))
    # per-image outcomes add up to the pair counts; CIs bracket the estimate
    x_ab = res.transfer_images[res.transfer_images.both_correct]
    per = x_ab.groupby(["source", "target"]).fooled.agg(["size", "sum"])
    t = res.transfer.set_index(["source", "target"])
    assert (per["size"] == t.n_both_correct.loc[per.index]).all() and (per["sum"] == t.n_fooled.loc[per.index]).all()
    assert ((res.sat_ci.ci_low <= res.sat_ci.sat + 1e-12) & (res.sat_ci.sat <= res.sat_ci.ci_high + 1e-12)).all()


def test_clean_parquet_stores_the_models_clean_logits(tiny, tmp_path):
    """Ensembles average these logits: they must equal a direct forward pass of each model."""
    _run(list(tiny.values()), tmp_path / "run")
    clean = pd.read_parquet(tmp_path / "run" / "clean.parquet")
    for name, model in tiny.items():
        rows = clean[clean.model == name]
        ds = load_data("digits", n=N_IMAGES, model=model)
        assert np.array_equal(rows["image"].to_numpy(), ds.indices)
        with torch.no_grad():
            direct = model(ds.float()).numpy()
        stored = np.stack(rows["logits"].to_numpy())
        np.testing.assert_allclose(stored, direct, rtol=1e-5, atol=1e-5)
        assert np.array_equal(stored.argmax(1), rows["pred"].to_numpy())


def test_mixed_resolution_and_channels_are_resized(tiny, tmp_path):
    res = _run([tiny["mlp0"], tiny["cnn12"]], tmp_path / "run")
    imgs = res.transfer_images
    pair = imgs[(imgs.source == "mlp0") & (imgs.target == "cnn12")].sort_values("image")
    assert len(pair) > 0
    # recompute by hand: mlp0's cached 1×8×8 adversarials → 3×12×12 bilinear-antialiased → cnn12
    from zoolens.similarity.cache import load_adv

    attack = pd.read_parquet(next((tmp_path / "run" / "parts" / "attack").glob("mlp0-*.parquet")))
    ids, adv = load_adv(tmp_path / "run" / attack.adv_file.iloc[0])
    assert adv.dtype == torch.uint8 and tuple(adv.shape[1:]) == (1, 8, 8)
    sel = np.isin(ids, pair.image.to_numpy())
    manual = F.interpolate((adv[torch.from_numpy(sel)].float() / 255).repeat(1, 3, 1, 1), size=(12, 12),
                           mode="bilinear", antialias=True, align_corners=False)
    np.testing.assert_allclose(to_input(adv[torch.from_numpy(sel)], (3, 12, 12)).numpy(),
                               manual.clamp(0, 1).numpy(), atol=1e-6)
    labels = res.clean[res.clean.model == "cnn12"].set_index("image").label.loc[ids[sel]].to_numpy()
    pred = predict(tiny["cnn12"], manual.clamp(0, 1)).numpy()
    assert (pred == pair.adv_pred.to_numpy()).all() and ((pred != labels) == pair.fooled.to_numpy()).all()
    # 3 → 1 channel (luma) the other way round
    back = to_input(torch.ones(2, 3, 12, 12) * torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1), (1, 8, 8))
    assert back.shape == (2, 1, 8, 8) and torch.allclose(back, torch.full_like(back, 0.299), atol=1e-6)


@pytest.mark.slow
def test_incremental_full_add_equals_scratch_and_one_sided_directions(tiny, tiny_states, tmp_path):
    scratch = _run(list(tiny.values()), tmp_path / "scratch")
    _run([tiny["mlp0"], tiny["mlp1"]], tmp_path / "inc")
    inc = add_model(_wrap(tiny_states, "cnn12"), tmp_path / "inc", "full", models=[tiny["mlp0"], tiny["mlp1"]])
    pd.testing.assert_frame_equal(scratch.sat, inc.sat)
    pd.testing.assert_frame_equal(scratch.sat_ci, inc.sat_ci)
    pd.testing.assert_frame_equal(scratch.transfer, inc.transfer)
    # one-sided source: the newcomer is attacked, the others are shown its adversarials only
    _run([tiny["mlp0"], tiny["mlp1"]], tmp_path / "src")
    src = add_model(_wrap(tiny_states, "cnn12"), tmp_path / "src", "source", models=[tiny["mlp0"], tiny["mlp1"]])
    pairs = set(zip(src.transfer.source, src.transfer.target))
    assert ("cnn12", "mlp0") in pairs and ("mlp0", "cnn12") not in pairs and ("cnn12", "cnn12") in pairs
    row = scratch.transfer.set_index(["source", "target"]).loc[("cnn12", "mlp0")]
    assert src.sat.loc["cnn12", "mlp0"] == pytest.approx(math.log(max(1e-2, 100 * row.n_fooled / row.n_both_correct)))
    # one-sided target: the newcomer is only shown the cached adversarials (never attacked)
    _run([tiny["mlp0"], tiny["mlp1"]], tmp_path / "tgt")
    tgt = add_model(_wrap(tiny_states, "cnn12"), tmp_path / "tgt", "target", models=[tiny["mlp0"], tiny["mlp1"]])
    pairs = set(zip(tgt.transfer.source, tgt.transfer.target))
    assert ("mlp0", "cnn12") in pairs and ("cnn12", "mlp0") not in pairs and "cnn12" not in set(tgt.attack.model)
    row = scratch.transfer.set_index(["source", "target"]).loc[("mlp0", "cnn12")]
    assert tgt.sat.loc["mlp0", "cnn12"] == pytest.approx(math.log(max(1e-2, 100 * row.n_fooled / row.n_both_correct)))


def test_resume_recomputes_only_the_deleted_unit(tiny, tmp_path, monkeypatch):
    out = tmp_path / "run"
    first = _run(list(tiny.values()), out)
    parts = sorted((out / "parts").rglob("*.parquet"))
    victim = next(p for p in parts if p.parent.name == "pair" and p.name.startswith("mlp1"))
    before = {p: p.stat().st_mtime_ns for p in parts if p != victim}
    victim.unlink()
    import zoolens.similarity.units as run_mod

    attacked = []
    monkeypatch.setattr(run_mod, "run_attack", lambda *a, **k: attacked.append(1) or run_attack(*a, **k))
    second = _run(list(tiny.values()), out)
    assert victim.is_file() and not attacked
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    for a, b in ((first.sat, second.sat), (first.transfer, second.transfer), (first.sat_ci, second.sat_ci),
                 (first.transfer_images, second.transfer_images), (first.attack, second.attack)):
        pd.testing.assert_frame_equal(a, b)
    # deleting an attack unit redoes that attack (deterministic: identical tables) and nothing else
    atk = next((out / "parts" / "attack").glob("cnn12-*.parquet"))
    atk.unlink()
    third = _run(list(tiny.values()), out)
    assert len(attacked) >= 1 and atk.is_file()
    pd.testing.assert_frame_equal(first.sat, third.sat)
    # other settings in the same directory are refused instead of mixed
    with pytest.raises(ZoolensError, match="other settings"):
        run_sat(list(tiny.values()), data="digits", n_images=N_IMAGES, attack=AttackConfig(steps=6), out=out,
                batch_size=64)


def test_bad_inputs_fail_with_names(tiny, tmp_path):
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 7))
    seven = WrappedModel(net, name="seven-classes", preprocess=_prep(1, 8), num_classes=7)
    with pytest.raises(ZoolensError, match="seven-classes has 7 classes but digits has 10"):
        _run([tiny["mlp0"], seven], tmp_path / "a")

    class NaNNet(nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], 10), float("nan"))

    nan = WrappedModel(NaNNet(), name="nan-model", preprocess=_prep(1, 8), num_classes=10)
    with pytest.raises(ZoolensError, match="nan-model produced non-finite logits"):
        _run([nan], tmp_path / "b")


def test_cli_similarity_with_py_refs_and_add(tiny_states, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from zoolens.cli import app

    for name, (_, _, _, state) in tiny_states.items():
        torch.save(state, tmp_path / f"{name}.pt")
    (tmp_path / "sat_tiny_models.py").write_text(textwrap.dedent(f"""
        import torch
        from torch import nn
        DIR = {str(tmp_path)!r}
        def _load(net, name, c, hw):
            net.load_state_dict(torch.load(f"{{DIR}}/{{name}}.pt", weights_only=True))
            net.pretrained_cfg = {{"input_size": (c, hw, hw), "crop_pct": 1.0, "interpolation": "bilinear",
                                  "mean": (0.5,) * c, "std": (0.5,) * c}}
            return net.eval()
        def mlp0():
            return _load(nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)), "mlp0", 1, 8)
        def mlp1():
            return _load(nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)), "mlp1", 1, 8)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "cli"
    r = CliRunner().invoke(app, ["similarity", "--model", "py:sat_tiny_models:mlp0", "--data", "digits",
                                 "--n-images", "60", "--steps", "3", "--eps", "8/255", "--alpha", "2/255",
                                 "--batch-size", "32", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["similarity", "--add", "py:sat_tiny_models:mlp1", "--to", str(out),
                                 "--one-sided", "source", "--quiet"])
    assert r.exit_code == 0, r.output
    sat = pd.read_csv(out / "sat_matrix.csv", index_col=0)
    assert list(sat.index) == ["py:sat_tiny_models:mlp0", "py:sat_tiny_models:mlp1"]
    r = CliRunner().invoke(app, ["similarity", "--model", "py:sat_tiny_models:mlp0", "--eps", "8/x",
                                 "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and isinstance(r.exception, ZoolensError)
    sys.modules.pop("sat_tiny_models", None)
