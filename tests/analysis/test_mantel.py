"""The Mantel test: exact p-values against a naive enumeration, invariants, missing pairs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from zoolens.analysis.mantel import mantel


def _sym(rng, n):
    m = rng.normal(size=(n, n))
    m = m + m.T
    np.fill_diagonal(m, np.nan)
    return m


def _naive(a, b, method):
    """Every relabelling of the models, one at a time, with scipy's correlation."""
    n = len(a)
    iu = np.triu_indices(n, 1)
    corr = spearmanr if method == "spearman" else pearsonr
    r = corr(a[iu], b[iu])[0]
    hits = 0
    perms = list(itertools.permutations(range(n)))
    for p in perms:
        bp = b[np.ix_(p, p)]
        hits += abs(corr(a[iu], bp[iu])[0]) >= abs(r) - 1e-12
    return r, hits / len(perms)


@pytest.mark.parametrize("method", ["spearman", "pearson"])
@pytest.mark.parametrize("seed", [0, 1])
def test_exact_p_equals_naive_enumeration(method, seed):
    rng = np.random.default_rng(seed)
    a = _sym(rng, 5)
    b = 0.6 * a + _sym(rng, 5)
    res = mantel(a, b, method=method)
    r, p = _naive(a, b, method)
    assert res.exact and res.permutations == math.factorial(5)
    assert res.r == pytest.approx(r, abs=1e-12) and res.p == pytest.approx(p, abs=1e-12)


def test_random_permutations_estimate_the_exact_p():
    rng = np.random.default_rng(3)
    a = _sym(rng, 7)
    b = 0.3 * a + _sym(rng, 7)
    exact = mantel(a, b)  # 7 models: all 5,040 relabellings
    assert exact.exact and exact.permutations == 5040 and 0 < exact.p <= 1
    big_a = _sym(rng, 12)
    big_b = 0.8 * big_a + 0.2 * _sym(rng, 12)
    res = mantel(big_a, big_b, permutations=999, seed=0)
    assert not res.exact and res.permutations == 999
    assert res.p == pytest.approx(1 / 1000)  # strongly related: no relabelling reaches the observed r
    assert mantel(big_a, big_b, permutations=999, seed=0) == res  # seeded
    # a weak relation: the drawn p is within sampling error of a long run's
    weak_b = 0.15 * big_a + _sym(rng, 12)
    p_short = mantel(big_a, weak_b, permutations=999, seed=1).p
    p_long = mantel(big_a, weak_b, permutations=20000, seed=2).p
    assert abs(p_short - p_long) < 4 * math.sqrt(p_long * (1 - p_long) / 999) + 1e-3


def test_symmetric_in_its_arguments_and_invariant_to_monotone_maps():
    rng = np.random.default_rng(4)
    a, b = _sym(rng, 9), _sym(rng, 9)
    ab, ba = mantel(a, b, permutations=499), mantel(b, a, permutations=499)
    assert ab.r == pytest.approx(ba.r)
    assert mantel(np.exp(a), b, permutations=499).r == pytest.approx(ab.r)  # Spearman: ranks only


def test_independent_matrices_are_not_significant_but_pair_count_would_be_fooled():
    # one model far off in both matrices: every pair with it is extreme in both, so the
    # pair-level test sees a strong correlation, while over models it is one coincidence
    n = 6
    for seed in range(5):
        rng = np.random.default_rng(seed)
        a, b = _sym(rng, n), _sym(rng, n)
        a[0, 1:] = a[1:, 0] = 20 + rng.normal(size=n - 1)
        b[0, 1:] = b[1:, 0] = 20 + rng.normal(size=n - 1)
        iu = np.triu_indices(n, 1)
        pair_p = spearmanr(a[iu], b[iu])[1]
        res = mantel(a, b)  # exact: only relabellings that keep the odd model in place match it
        assert pair_p < 0.05 and res.p > 0.05 and res.p > 3 * pair_p


def test_missing_pairs_are_left_out_and_too_few_gives_nan():
    rng = np.random.default_rng(8)
    a = _sym(rng, 6)
    b = a.copy()
    b[0, 1] = b[1, 0] = np.nan
    res = mantel(a, b)
    assert res.n_pairs == 14 and res.r > 0.99  # ranks are each matrix's own, over its measured pairs
    tiny = mantel(a[:2, :2], b[:2, :2])
    assert math.isnan(tiny.r) and math.isnan(tiny.p)
    with pytest.raises(ValueError, match="square"):
        mantel(np.zeros((3, 3)), np.zeros((3, 4)))
