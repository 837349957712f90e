"""Error consistency (Geirhos et al. 2020) and disagreement: vectorised forms equal the per-image loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zoolens.similarity.measures.agreement import (disagreement, disagreement_matrix, error_consistency,
                                                   error_consistency_matrix, error_consistency_naive)


def test_matrix_equals_pairwise_and_naive():
    rng = np.random.default_rng(0)
    correct = rng.random((5, 80)) < np.array([[0.9], [0.7], [0.5], [0.2], [0.95]])
    m = error_consistency_matrix(correct)
    for i in range(5):
        for j in range(5):
            want = error_consistency_naive(correct[i], correct[j])
            assert m["error_consistency"][i, j] == pytest.approx(want, abs=1e-12)
            assert error_consistency(correct[i], correct[j])["error_consistency"] == pytest.approx(want, abs=1e-12)


def test_known_values():
    a = np.array([1, 1, 0, 0], bool)
    assert error_consistency(a, a)["error_consistency"] == 1.0
    assert error_consistency(a, ~a)["error_consistency"] == -1.0
    r = error_consistency(a, np.array([1, 0, 1, 0], bool))  # independent: c_obs = c_exp = 0.5
    assert (r["c_obs"], r["c_exp"], r["error_consistency"]) == (0.5, 0.5, 0.0)


def test_c_exp_of_one_is_undefined_not_zero():
    ones = np.ones(10, bool)
    assert math.isnan(error_consistency(ones, ones)["error_consistency"])
    assert math.isnan(error_consistency(~ones, ~ones)["error_consistency"])
    assert math.isnan(error_consistency_naive(ones, ones))
    assert math.isnan(error_consistency_matrix(np.stack([ones, ones]))["error_consistency"][0, 1])
    # one always right, the other not: c_exp < 1, κ defined (0: no consistency beyond chance)
    assert error_consistency(ones, np.array([1, 0] * 5, bool))["error_consistency"] == 0.0


def test_disagreement_matrix_equals_pairwise():
    rng = np.random.default_rng(1)
    preds = rng.integers(0, 10, size=(4, 50))
    d = disagreement_matrix(preds)
    for i in range(4):
        for j in range(4):
            assert d[i, j] == pytest.approx(disagreement(preds[i], preds[j]), abs=1e-12)
    assert np.all(np.diag(d) == 0)
