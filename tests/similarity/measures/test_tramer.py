"""Tramèr et al. 2017 boundary distances: the search finds a known boundary, and non-convergence is counted."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from zoolens.similarity.measures.tramer import boundary_distances, inter_boundary, shared_directions


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
