"""Linear CKA: the streamed form equals the naive Gram formula, its invariances, and its degenerate inputs."""

from __future__ import annotations

import numpy as np
import pytest

from zoolens.errors import ZoolensError
from zoolens.similarity.measures.cka import linear_cka, linear_cka_naive


def _feats(seed=0, n=60, p=7, q=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    y = x[:, :q] @ rng.normal(size=(q, q)) + 0.5 * rng.normal(size=(n, q))
    return x, y


@pytest.mark.parametrize("batch", [1, 7, 60, 1000])
def test_streamed_equals_the_naive_gram_formula_for_any_batch_size(batch):
    x, y = _feats()
    assert linear_cka(x, y, batch_size=batch) == pytest.approx(linear_cka_naive(x, y), abs=1e-10)


def test_invariances_orthogonal_isotropic_scaling_and_self():
    x, y = _feats(1)
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(7, 7)))
    base = linear_cka(x, y)
    assert linear_cka(x @ q, y) == pytest.approx(base, abs=1e-10)
    assert linear_cka(3.5 * x + 100.0, y) == pytest.approx(base, abs=1e-10)  # scaling and a constant offset
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 <= base <= 1.0


def test_large_offsets_do_not_cancel_catastrophically():
    x, y = _feats(3)
    assert linear_cka(x.astype(np.float32) + 1e4, y, batch_size=8) == pytest.approx(
        linear_cka_naive(x.astype(np.float32).astype(np.float64), y), abs=1e-6)


def test_a_constant_column_among_varying_ones_gives_a_number():
    x, y = _feats(4)
    x[:, 2] = 5.0
    y[:, 0] = 0.0
    v = linear_cka(x, y, batch_size=9)
    assert np.isfinite(v) and v == pytest.approx(linear_cka_naive(x, y), abs=1e-10)


def test_constant_features_raise_a_clear_error_naming_the_model():
    x, _ = _feats(5)
    with pytest.raises(ZoolensError, match="model dead .*constant"):
        linear_cka(x, np.full((60, 4), 0.3, dtype=np.float32), names=("ok", "dead"))
    with pytest.raises(ZoolensError, match="at least 2 images"):
        linear_cka(x[:1], x[:1])
    with pytest.raises(ZoolensError, match="NaN"):
        linear_cka(np.full((4, 2), np.nan), x[:4])
