"""SAT (Eq. 1 of the SAT paper) against hand computations: pure functions, no models."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from zoolens.similarity.attack_registry import AttackConfig, parse_fraction, quantize
from zoolens.similarity.sat import (EPS_S, bootstrap_sat, sat_ci_table, sat_from_counts, sat_from_outcomes,
                                    sat_matrix_from_transfer)


def _tables():
    """A correct on images {0,1,2,3}, B on {1,2,3,4}: X_AB = {1,2,3}; C correct on nothing A/B share."""
    images = pd.DataFrame([
        # A's adversarials shown to B on X_AB: 2 of 3 fool B
        ("A", "B", 1, True), ("A", "B", 2, False), ("A", "B", 3, True),
        # B's adversarials shown to A on X_AB: 1 of 3 fools A
        ("B", "A", 1, False), ("B", "A", 2, False), ("B", "A", 3, True),
        # white-box: A fooled on 3 of its 4 correct images, B on all 4
        ("A", "A", 0, True), ("A", "A", 1, True), ("A", "A", 2, False), ("A", "A", 3, True),
        ("B", "B", 1, True), ("B", "B", 2, True), ("B", "B", 3, True), ("B", "B", 4, True),
    ], columns=["source", "target", "image", "fooled"])
    transfer = (images.groupby(["source", "target"], sort=False)
                .agg(n_both_correct=("fooled", "size"), n_fooled=("fooled", "sum")).reset_index())
    # C: measured against A in both directions, but X_AC is empty
    extra = pd.DataFrame([("A", "C", 0, 0), ("C", "A", 0, 0), ("C", "C", 0, 0)], columns=transfer.columns)
    return images, pd.concat([transfer, extra], ignore_index=True)


def test_sat_by_hand():
    # (1/(2·3)) · (2 + 1) · 100 = 50
    assert sat_from_outcomes([1, 0, 1], [0, 0, 1]) == pytest.approx(math.log(50.0))
    assert sat_from_counts(2, 1, 3) == pytest.approx(math.log(50.0))
    # the floor: nothing transfers → ln ε_s; empty X_AB → ln ε_s
    assert sat_from_outcomes([0, 0, 0], [0, 0, 0]) == pytest.approx(math.log(EPS_S))
    assert sat_from_outcomes([], []) == pytest.approx(math.log(EPS_S))
    assert sat_from_counts(0, 0, 0, eps_s=1e-3) == pytest.approx(math.log(1e-3))
    # an inner value below ε_s is floored, one above is not
    assert sat_from_counts(1, 0, 10_000, eps_s=0.1) == pytest.approx(math.log(0.1))
    assert sat_from_counts(1, 0, 10_000, eps_s=1e-3) == pytest.approx(math.log(0.005))
    # oracle adversary: ln 100 ≈ 4.605 (the paper's diagonal)
    assert sat_from_outcomes([1, 1], [1, 1]) == pytest.approx(math.log(100.0))
    # one-sided (App. G.1): 100 × mean of the one direction
    assert sat_from_outcomes([1, 0, 1, 1], None) == pytest.approx(math.log(75.0))
    assert math.isnan(sat_from_outcomes(None, None))
    with pytest.raises(ValueError):
        sat_from_outcomes([1, 0], [1, 0, 1])


def test_sat_matrix_from_transfer_is_symmetric_and_matches_hand_values():
    _, transfer = _tables()
    sat = sat_matrix_from_transfer(transfer, ["A", "B", "C"])
    assert list(sat.index) == ["A", "B", "C"] and list(sat.columns) == ["A", "B", "C"]
    np.testing.assert_allclose(sat.to_numpy(), sat.to_numpy().T)
    assert sat.loc["A", "B"] == pytest.approx(math.log(100 * 3 / 6))
    assert sat.loc["A", "A"] == pytest.approx(math.log(75.0))  # white-box success 3/4
    assert sat.loc["B", "B"] == pytest.approx(math.log(100.0))
    assert sat.loc["A", "C"] == pytest.approx(math.log(EPS_S))  # empty X_AC
    assert math.isnan(sat.loc["B", "C"])  # never measured
    # one direction only: 100 × n_fooled / |X_AB|
    one = sat_matrix_from_transfer(transfer[~((transfer.source == "B") & (transfer.target == "A"))], ["A", "B"])
    assert one.loc["A", "B"] == one.loc["B", "A"] == pytest.approx(math.log(100 * 2 / 3))


def test_sat_ci_table_and_bootstrap():
    images, transfer = _tables()
    ci = sat_ci_table(images, transfer, ["A", "B", "C"], n_resamples=500, seed=3)
    assert list(ci.columns)[:6] == ["model_a", "model_b", "sat", "ci_low", "ci_high", "n_both_correct"]
    ab = ci[(ci.model_a == "A") & (ci.model_b == "B")].iloc[0]
    assert ab.n_both_correct == 3 and ab.n_directions == 2
    assert ab.ci_low <= ab.sat <= ab.ci_high and ab.ci_low < ab.ci_high
    ac = ci[(ci.model_a == "A") & (ci.model_b == "C")].iloc[0]
    assert ac.sat == ac.ci_low == ac.ci_high == pytest.approx(math.log(EPS_S))
    # seeded: same seed → same table; other seed → (almost surely) other bounds on a bigger sample
    again = sat_ci_table(images, transfer, ["A", "B", "C"], n_resamples=500, seed=3)
    pd.testing.assert_frame_equal(ci, again)


def test_bootstrap_vectorised_equals_naive_loop():
    rng = np.random.default_rng(0)
    ab, ba = rng.random(57) < 0.4, rng.random(57) < 0.7
    lo, hi = bootstrap_sat(ab, ba, n_resamples=200, seed=11)
    # naive twin: one resample at a time from the same stream
    g = np.random.default_rng(11)
    vals = []
    for _ in range(200):
        idx = g.integers(0, 57, size=57)
        vals.append(sat_from_outcomes(ab[idx], ba[idx]))
    assert lo == pytest.approx(np.quantile(vals, 0.025)) and hi == pytest.approx(np.quantile(vals, 0.975))


def test_attack_config_key_and_fractions():
    a = AttackConfig("pgd", eps=parse_fraction("8/255"), alpha=parse_fraction("2/255"), steps=50)
    assert a.key() == AttackConfig("pgd", eps=8 / 255, alpha=2 / 255, steps=50).key()
    assert a.key() != AttackConfig("pgd", eps=8 / 255, alpha=2 / 255, steps=10).key()
    assert a.key() != AttackConfig("pgd", eps=8 / 255, alpha=2 / 255, steps=50, precision="fp32").key()
    # FGSM ignores alpha/steps: equivalent configs share one cache entry
    assert AttackConfig("fgsm", alpha=0.1, steps=7).key() == AttackConfig("fgsm").key()
    from zoolens.errors import ZoolensError

    with pytest.raises(ZoolensError):
        parse_fraction("8/zero")
    with pytest.raises(ZoolensError):
        AttackConfig("cw")


def test_quantize_stays_in_the_eps_ball():
    import torch

    clean = torch.tensor([[0, 10, 250, 128]], dtype=torch.uint8)
    eps = 2.6 / 255  # not on the 1/255 grid: plain rounding would leave the ball
    adv = (clean.float() / 255 + torch.tensor([[eps, -eps, eps, 0.4 / 255]])).clamp(0, 1)
    q = quantize(adv, clean, eps)
    assert q.tolist() == [[2, 8, 252, 128]]
    assert ((q.float() - clean.float()).abs() <= eps * 255 + 1e-6).all()
