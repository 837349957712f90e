"""Stability of SAT against the number of images (SAT paper App. A.1, Table A.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zoolens.analysis import sat_stability as st


def _outcomes(seed: int = 0, n_images: int = 1000, p_both: float = 0.8, rates=(0.3, 0.6)) -> pd.DataFrame:
    """Per-image outcomes of two pairs (a,b) and (a,c), both directions, on a random X_AB each."""
    rng = np.random.default_rng(seed)
    rows = []
    for other, rate in zip(("b", "c"), rates):
        both = np.flatnonzero(rng.random(n_images) < p_both)
        for s, t in (("a", other), (other, "a")):
            fooled = rng.random(both.size) < rate
            rows += [{"source": s, "target": t, "image": int(i), "fooled": bool(f)} for i, f in zip(both, fooled)]
    return pd.DataFrame(rows)


def test_std_equals_a_naive_loop_over_disjoint_samples():
    ti = _outcomes()
    images = np.arange(1000)
    table = st.sat_stability(ti, images, [("a", "b"), ("a", "c")], steps=50, sizes=[20, 50], seed=3)
    assert list(table["n_images"]) == [20, 50, 20, 50]
    for r in table.itertuples(index=False):
        samples = st.disjoint_samples(images, r.n_images, 10, seed=3)
        assert samples.shape == (10, r.n_images) and np.unique(samples).size == 10 * r.n_images  # disjoint
        vals = []
        for s in samples:  # naive twin: loop over images
            num = den = 0
            for i in s:
                ab = ti[(ti.source == r.model_a) & (ti.target == r.model_b) & (ti.image == i)]
                ba = ti[(ti.source == r.model_b) & (ti.target == r.model_a) & (ti.image == i)]
                if len(ab):
                    num += int(ab.fooled.iloc[0]) + int(ba.fooled.iloc[0])
                    den += 2
            vals.append(100.0 * num / den)
        assert r.mean == pytest.approx(np.mean(vals))
        assert r.std == pytest.approx(np.std(vals, ddof=1))
        assert r.n_valid == 10


def test_std_shrinks_with_more_images_and_samples_are_shared_by_pairs():
    ti = _outcomes(n_images=5000)
    t = st.sat_stability(ti, np.arange(5000), [("a", "b")], steps=10, seed=0)
    assert list(t["n_images"]) == [50, 100, 250, 500]  # 1 %, 2 %, 5 %, 10 %
    assert t["std"].iloc[-1] < t["std"].iloc[0]
    assert t["full"].nunique() == 1 and 25 < t["full"].iloc[0] < 35
    s1 = st.disjoint_samples(np.arange(5000), 50, seed=0)
    assert np.array_equal(s1, st.disjoint_samples(np.arange(5000)[::-1], 50, seed=0))  # order of ids irrelevant


def test_cost_is_the_papers_count():
    # App. A.1: [5,000 × 50 + 5,000] × 2 passes, relative to 50K forward passes: 10.2 (Table A.1)
    assert st.pair_cost(5000, 50) == 510_000
    assert st.pair_cost(5000, 50) / 50_000 == pytest.approx(10.2)
    assert st.pair_cost(500, 50) / 50_000 == pytest.approx(1.02)
    ti = _outcomes()
    t = st.sat_stability(ti, np.arange(1000), [("a", "b")], steps=50, sizes=[10], n_reference=50_000)
    assert t["cost_passes"].iloc[0] == 2 * (10 * 50 + 10)
    assert t["relative_cost"].iloc[0] == pytest.approx(1020 / 50_000)


def test_sizes_pairs_and_errors():
    assert st.default_sizes(2000) == [20, 40, 100, 200]
    assert st.default_sizes(99) == []
    ti = _outcomes()
    assert st.two_sided_pairs(ti, ["a", "b", "c"]) == [("a", "b"), ("a", "c")]
    one_sided = ti[~((ti.source == "b") & (ti.target == "a"))]
    assert st.two_sided_pairs(one_sided, ["a", "b", "c"]) == [("a", "c")]
    with pytest.raises(ValueError, match="both directions"):
        st.sat_stability(one_sided, np.arange(1000), [("a", "b")], steps=1, sizes=[10])
    with pytest.raises(ValueError, match="disjoint samples"):
        st.disjoint_samples(np.arange(50), 10)
    both, fooled = st.pair_outcomes(ti, "a", "b")
    assert both.size == fooled.size and set(np.unique(fooled)) <= {0, 1, 2}
    value, k = st.inner_sat(both, fooled, np.array([-1, -2]))
    assert k == 0 and np.isnan(value)


def test_format2_rows_outside_x_ab_change_nothing():
    # table format 2 also stores the images only the source gets right (both_correct False);
    # Eq. 1 and the stability table use X_AB alone, so adding those rows changes no number
    ti = _outcomes(seed=5).assign(both_correct=True)
    rng = np.random.default_rng(9)
    extra = pd.DataFrame({"source": "a", "target": "b", "image": np.arange(1000, 1200),
                          "fooled": rng.random(200) < 0.9, "both_correct": False})
    images = np.arange(1200)
    kw = dict(steps=10, sizes=[20, 50], seed=1)
    with_extra = st.sat_stability(pd.concat([ti, extra], ignore_index=True), images, [("a", "b"), ("a", "c")], **kw)
    plain = st.sat_stability(ti.drop(columns="both_correct"), images, [("a", "b"), ("a", "c")], **kw)
    pd.testing.assert_frame_equal(with_extra, plain)
    assert st.two_sided_pairs(extra, ["a", "b"]) == []  # no X_AB rows: nothing to resample
