"""Tramèr et al. 2017 boundary distances: the search finds a known boundary, the adversarial direction is the
loss gradient, and non-convergence is counted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from zoolens.similarity.measures.tramer import (adversarial_directions, boundary_distances, inter_boundary,
                                                shared_directions)


class _Threshold(nn.Module):
    """Class 1 where the mean pixel exceeds ``t``: the boundary along any direction is known exactly."""

    def __init__(self, t):
        super().__init__()
        self.t = t
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        m = x.flatten(1).mean(1, keepdim=True)
        return torch.cat([self.t - m, m - self.t], 1) + 0 * self.w


def test_the_search_finds_a_known_boundary_and_reports_where_none_lies():
    x = torch.full((3, 1, 4, 4), 0.2)
    d = torch.zeros_like(x)
    d[0] += 0.5   # mean rises 0.5 over t ∈ [0, 1]: crosses 0.45 at t = 0.5
    d[1] += 0.1   # never reaches 0.45
    d[2] += 1.0   # crosses at t = 0.25
    lengths = d.flatten(1).norm(dim=1).numpy()
    dist, pred = boundary_distances(_Threshold(0.45), x, d, lengths, scan=8, refine=20, batch_size=16)
    assert pred.tolist() == [0, 0, 0]
    assert dist[0] == pytest.approx(0.5 * lengths[0], rel=1e-4)
    assert math.isnan(dist[1])
    assert dist[2] == pytest.approx(0.25 * lengths[2], rel=1e-4)


def test_shared_directions_are_seeded_and_sized():
    images = (torch.rand(6, 1, 5, 5, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    labels = np.array([0, 1, 2, 0, 1, 2])
    d1, d2 = shared_directions(images, labels, 3, 2.0), shared_directions(images, labels, 3, 2.0)
    for kind in ("legitimate", "random"):
        assert torch.equal(d1[kind][0], d2[kind][0])
    assert np.allclose(d1["random"][1], 2.0)
    assert np.allclose(d1["random"][0].flatten(1).norm(dim=1).numpy(), 2.0, atol=1e-5)


def test_inter_boundary_counts_unconverged_inputs():
    r = inter_boundary(np.array([1.0, np.nan, 2.0, 5.0]), np.array([1.5, 1.0, 1.0, 1.0]),
                       np.array([1, 1, 1, 0], bool), np.array([1, 1, 1, 1], bool))
    assert r == {"tramer": pytest.approx(0.75), "tramer_n": 2, "tramer_unconverged": 1}


class _Linear(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_the_adversarial_direction_is_the_normalised_cross_entropy_gradient():
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(16, 3, generator=gen)
    x = torch.rand(5, 1, 4, 4, generator=gen)
    y = torch.tensor([0, 1, 2, 0, 1])
    u = adversarial_directions(_Linear(w), x, y, (1, 4, 4), batch_size=2)
    # analytic: ∇ₓ CE = W (softmax(xW) − onehot(y))
    g = (torch.softmax(x.flatten(1) @ w, 1) - torch.nn.functional.one_hot(y, 3).float()) @ w.T
    g = g / g.norm(dim=1, keepdim=True)
    assert torch.allclose(u.flatten(1), g, atol=1e-5)
    assert torch.allclose(u.flatten(1).norm(dim=1), torch.ones(5), atol=1e-6)


def test_the_adversarial_direction_goes_through_the_resize_and_is_zero_without_gradient():
    x = torch.full((2, 1, 4, 4), 0.2)
    u = adversarial_directions(_Threshold(0.45), x, torch.tensor([0, 0]), (1, 2, 2))
    # the threshold model's loss rises with the mean pixel: a uniform step at the native 2×2 size
    assert u.shape == (2, 1, 2, 2) and torch.allclose(u, torch.full_like(u, 0.5), atol=1e-6)
    # along it the boundary (mean 0.45, from 0.2) lies at a per-pixel step of 0.25: L2 0.25·√4 at 2×2
    steps = u * 2.0
    dist, _ = boundary_distances(_Threshold(0.45), x, steps, np.full(2, 2.0), scan=16, refine=20)
    assert dist == pytest.approx([0.5, 0.5], rel=1e-4)
    flat = adversarial_directions(_Linear(torch.zeros(16, 2)), x, torch.tensor([0, 1]), (1, 4, 4))
    assert torch.equal(flat, torch.zeros_like(flat))
    nothing, _ = boundary_distances(_Linear(torch.zeros(16, 2)), x, flat, np.full(2, 2.0), scan=4, refine=2)
    assert np.isnan(nothing).all()


def test_the_pair_table_pools_both_sources_adversarial_gaps():
    from zoolens.similarity.measures.pairs import pair_table

    img, lab = [0, 1, 2], [1, 1, 1]
    preds = {m: pd.DataFrame({"image": img, "label": lab, "pred": p}) for m, p in
             (("a", [1, 1, 1]), ("b", [1, 1, 0]))}  # image 2: b is wrong, left out of every gap

    def own(dist_adv, pred):
        return pd.DataFrame({"image": img * 3, "direction": ["legitimate"] * 3 + ["random"] * 3 + ["adversarial"] * 3,
                             "distance": [1.0] * 6 + dist_adv, "pred": pred * 3, "label": lab * 3})

    tramer = {"a": own([1.0, 2.0, 3.0], [1, 1, 1]), "b": own([0.5, np.nan, 9.0], [1, 1, 0])}
    adv = {("a", "b"): pd.DataFrame({"image": img, "distance": [1.5, 1.0, 0.0]}),   # b along a's directions
           ("b", "a"): pd.DataFrame({"image": img, "distance": [2.5, 4.0, 0.0]})}   # a along b's directions
    row = pair_table(["a", "b"], ["tramer"], preds, tramer=tramer, adversarial=adv).iloc[0]
    # a → b: |1.0 − 1.5|, |2.0 − 1.0|; b → a: |0.5 − 2.5| (b's own search on image 1 found nothing)
    assert row["tramer_adversarial_ab"] == pytest.approx(0.75)
    assert row["tramer_adversarial_ba"] == pytest.approx(2.0)
    assert row["tramer_adversarial"] == pytest.approx((0.5 + 1.0 + 2.0) / 3)
    assert row["tramer_adversarial_n"] == 3 and row["tramer_adversarial_unconverged"] == 1
