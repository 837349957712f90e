"""Somepalli et al. 2022 planes: the geometry, the batched predictions against the per-point twin, the score."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoolens.errors import ZoolensError
from zoolens.similarity.measures.boundary import (draw_triplets, plane_coefficients, plane_predictions,
                                                  plane_predictions_naive, somepalli_similarity, triplet_coefficients)
from tests.factories import tiny_model


def test_triplets_are_seeded_and_of_three_distinct_classes():
    labels = np.repeat(np.arange(5), 4)
    t = draw_triplets(labels, 20, seed=3)
    assert t.shape == (20, 3)
    assert all(len(set(labels[row])) == 3 for row in t)
    assert np.array_equal(t, draw_triplets(labels, 20, seed=3))
    with pytest.raises(ZoolensError, match="3 classes"):
        draw_triplets(np.array([0, 1, 0, 1]), 2, seed=0)


def test_the_grid_spans_the_triangle_with_its_margin():
    g = torch.Generator().manual_seed(0)
    x1, x2, x3 = (torch.rand(1, 6, 6, generator=g) for _ in range(3))
    c = plane_coefficients(x1, x2, x3, resolution=41, margin=0.0)
    pts = (x1 + torch.from_numpy(c[:, :1]).double().view(-1, 1, 1, 1) * (x2 - x1)
           + torch.from_numpy(c[:, 1:]).double().view(-1, 1, 1, 1) * (x3 - x1)).flatten(1).view(41, 41, -1)
    # a square lattice in an orthonormal frame of the plane: equal, orthogonal steps along both axes
    da, db = pts[1:, :, :] - pts[:-1, :, :], pts[:, 1:, :] - pts[:, :-1, :]
    assert torch.allclose(da, da[0, 0].expand_as(da), atol=1e-9) and torch.allclose(db, db[0, 0].expand_as(db), atol=1e-9)
    assert abs(float(da[0, 0] @ db[0, 0])) < 1e-9
    # without margin the box is the triangle's: x1 (0,0), x2 (1,0), x3 (0,1) inside, the β range is exactly [0, 1]
    assert c[:, 1].min() == pytest.approx(0) and c[:, 1].max() == pytest.approx(1)
    assert c[:, 0].min() <= 1e-9 and c[:, 0].max() >= 1 - 1e-9
    assert plane_coefficients(x1, x2, x3, 5, 0.1).shape == (25, 2)
    with pytest.raises(ZoolensError, match="identical"):
        plane_coefficients(x1, x1, x3, 5)
    with pytest.raises(ZoolensError, match="collinear"):
        plane_coefficients(x1, x2, 2 * x2 - x1, 5)


def test_batched_predictions_equal_the_per_point_twin():
    model = tiny_model(0)
    g = torch.Generator().manual_seed(1)
    images = (torch.rand(9, 1, 8, 8, generator=g) * 255).to(torch.uint8)
    triplets = draw_triplets(np.arange(9) % 3, 2, seed=0)
    coefs = triplet_coefficients(images, triplets, resolution=6)
    fast = plane_predictions(model, images, triplets, coefs, batch_size=7)
    assert fast.shape == (2, 36)
    assert np.array_equal(fast, plane_predictions_naive(model, images, triplets, coefs))


def test_similarity_is_the_mean_fraction_of_equal_points():
    a = np.array([[1, 1, 2, 2], [0, 0, 0, 0]])
    b = np.array([[1, 1, 2, 3], [0, 1, 1, 1]])
    r = somepalli_similarity(a, b)
    assert r["somepalli"] == pytest.approx((0.75 + 0.25) / 2)
    assert r["somepalli_std"] == pytest.approx(np.std([0.75, 0.25], ddof=1))
    assert somepalli_similarity(a, a)["somepalli"] == 1.0
