"""The tables of a SAT run against naive recomputations from its per-image table: both success-rate
conventions (issue 16 item 7), the predictions that same misclassification needs (item 5), and the
refusal to resume a run written in an older table format."""

from __future__ import annotations

import json
import math

import numpy as np
import torch
import pandas as pd
import pytest

from zoolens.errors import ZoolensError
from zoolens.similarity import AttackConfig, run_sat
from zoolens.similarity.sat import sat_from_counts

MODELS = ["py:tests.factories:digits_linear", "py:tests.factories:digits_features",
          "py:tests.factories:digits_features2"]
ATTACK = AttackConfig("pgd", eps=8 / 255, alpha=2 / 255, steps=5, seed=3)


def _run(out, models=MODELS, **kw):
    return run_sat(models, data="digits", n_images=150, attack=ATTACK, out=out, batch_size=64, n_resamples=50, **kw)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sat")
    return _run(out), out


def test_both_success_rate_conventions_match_a_naive_count(run):
    res, _ = run
    img, clean = res.transfer_images, res.clean
    ok = {m: set(g["image"][g["pred"] == g["label"]]) for m, g in clean.groupby("model")}
    for r in res.transfer.itertuples():
        g = img[(img.source == r.source) & (img.target == r.target)]
        # the source attacked exactly its correctly classified images; X_ST = those the target gets right too
        assert set(g.image) == ok[r.source]
        x_st = ok[r.source] & ok[r.target]
        assert set(g.image[g.both_correct]) == x_st and r.n_both_correct == len(x_st)
        fooled = int(g[g.image.isin(x_st)].fooled.sum())
        assert r.n_fooled == fooled and r.rate == pytest.approx(fooled / len(x_st))
        # over all images: the attacked ones by their outcome, the others (source wrong) shown clean
        t = clean[clean.model == r.target].set_index("image")
        outcome = dict(zip(g.image, g.fooled))
        wrong = [outcome[i] if i in outcome else t.at[i, "pred"] != t.at[i, "label"] for i in t.index]
        assert r.n_images == len(t) == 150 and r.n_fooled_all == sum(wrong)
        assert r.rate_all_images == pytest.approx(sum(wrong) / len(t))
    # SAT still reads Eq. 1's convention (X_AB) only
    t = res.transfer.set_index(["source", "target"])
    a, b = list(res.sat.index)[:2]
    expect = sat_from_counts(t.at[(a, b), "n_fooled"], t.at[(b, a), "n_fooled"], t.at[(a, b), "n_both_correct"])
    assert res.sat.loc[a, b] == pytest.approx(expect)
    assert (res.transfer.rate_all_images >= 0).all() and (res.transfer.rate_all_images <= 1).all()


def test_adversarial_predictions_and_the_sources_own_class(run):
    res, out = run
    img = res.transfer_images
    assert {"adv_pred", "source_pred", "both_correct"} <= set(img.columns)
    labels = res.clean.drop_duplicates("image").set_index("image").label
    assert (img.fooled == (img.adv_pred.to_numpy() != labels.loc[img.image].to_numpy())).all()
    diag = img[img.source == img.target]
    assert (diag.adv_pred == diag.source_pred).all()
    white = pd.read_csv(out / "attack.csv").set_index("model")
    for m, g in diag.groupby("source"):
        assert int(g.fooled.sum()) == white.at[m, "n_fooled"]  # the white-box check saw the same classes
    first = res.sat.index[0]
    own = diag[diag.source == first].set_index("image")
    for r in img[img.source == first].head(40).itertuples():
        assert r.source_pred == own.at[r.image, "adv_pred"]


def test_a_run_in_an_older_table_format_is_refused_on_resume(tmp_path):
    out = tmp_path / "old"
    _run(out, MODELS[:2])
    spec_file = out / "similarity_spec.json"
    spec = json.loads(spec_file.read_text())
    spec.pop("table_format")
    spec_file.write_text(json.dumps(spec))  # what a run written before table_format 2 holds
    with pytest.raises(ZoolensError, match=r"table format 1 .*format 2.*new --out"):
        _run(out, MODELS[:2])


def test_same_seed_apgd_is_reproducible_and_in_the_ball():
    from zoolens import load_model
    from zoolens.data import load_data
    from zoolens.similarity import predict, run_attack

    m = load_model(MODELS[0])
    ds = load_data("digits", n=60, model=m)
    cfg = AttackConfig("apgd", eps=8 / 255, steps=5, seed=2)
    assert cfg.normalized().alpha == pytest.approx(16 / 255) and cfg.normalized().random_start
    a1 = run_attack(m, ds.images, ds.labels, cfg, batch_size=32)
    a2 = run_attack(m, ds.images[:32], ds.labels[:32], cfg, batch_size=32)
    assert np.array_equal(a1[:32].numpy(), a2.numpy())
    assert float((a1 - ds.images.float() / 255).abs().max()) <= 8 / 255 + 1e-6
    assert a1.min() >= 0 and a1.max() <= 1
    ok = predict(m, ds.images) == ds.labels
    assert math.isfinite(float((predict(m, a1)[ok] != ds.labels[ok]).double().mean()))
    assert (predict(m, a1)[ok] != ds.labels[ok]).any()


def test_autoattack_is_apgd_ce_then_apgd_dlr_on_the_images_ce_left_right():
    from zoolens import load_model
    from zoolens.data import load_data
    from zoolens.similarity import predict, run_attack

    m = load_model(MODELS[0])
    ds = load_data("digits", n=48, model=m)
    kw = dict(eps=4 / 255, steps=3, seed=5)
    ce = run_attack(m, ds.images, ds.labels, AttackConfig("apgd", **kw), batch_size=48)
    aa = run_attack(m, ds.images, ds.labels, AttackConfig("autoattack", **kw), batch_size=48)
    dlr = run_attack(m, ds.images, ds.labels, AttackConfig("apgd-dlr", **kw), batch_size=48)
    assert float((aa - ds.images.float() / 255).abs().max()) <= 4 / 255 + 1e-6
    fooled_ce = predict(m, ce) != ds.labels
    # where APGD-CE fooled, AutoAttack keeps its image; elsewhere it tried APGD-DLR as well
    assert torch.equal(aa[fooled_ce], ce[fooled_ce])
    assert not torch.equal(aa[~fooled_ce], ce[~fooled_ce]) or bool(fooled_ce.all())
    fooled_aa = predict(m, aa) != ds.labels
    assert bool((fooled_aa | ~fooled_ce).all()) and fooled_aa.sum() >= fooled_ce.sum()
    assert float((dlr - ds.images.float() / 255).abs().max()) <= 4 / 255 + 1e-6
    assert AttackConfig("autoattack", **kw).key() != AttackConfig("apgd", **kw).key()
