"""Stability and cost of SAT against the number of images (SAT paper, App. A.1, Table A.1).

The paper computes the similarity of one pair (ImageNet ConvNeXt-T vs Swin-T) on ten
different image sets of each size and reports the standard deviation over the ten, "as
the percentage degree without the logarithmic function", i.e. the inner term of Eq. 1::

    S(A,B) = 100 · 1/(2|X_AB|) Σ_{x∈X_AB} [1(A(x_B) ≠ y) + 1(B(x_A) ≠ y)]

Table A.1 (SAT side): std 1.88 / 0.91 / 0.77 at 500 / 2,500 / 5,000 images (1 %, 5 %
and 10 % of the 50K validation set), cost 1.0 / 5.2 / 10.2 relative to 50K forward passes.

Here the images of one finished SAT run are split, per size n, into 10 disjoint seeded
samples of n images each (so 10·n ≤ the run's images); S is computed on each sample's
share of X_AB from the per-image outcomes the run stored (``transfer_images``), and the
table reports the sample standard deviation (``ddof=1``) over the samples. The samples
are drawn from the image ids only, so every pair is measured on the same ten samples.

Cost (App. A.1): "[5,000 (sampled images) × 50 (PGD steps) + 5,000 (test to the other
model)] × 2 (two models)", forward and backward costed the same, so for one pair::

    cost(n) = 2 · (n · steps + n)   passes,   relative cost = cost(n) / N_ref

with N_ref the reference number of forward passes (the paper: 50K, the whole ImageNet
validation set; here by default the run's own image count, so a 1 % sample of a run
costs 1.02 exactly as in the paper). This is the paper's count; our pipeline attacks only
the correctly classified images, so it spends somewhat less.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from zoolens.similarity.sat import x_ab_rows

#: Table A.1 of the SAT paper, SAT side (ImageNet ConvNeXt-T vs Swin-T, 10 image sets per size).
PAPER_TABLE_A1 = pd.DataFrame({"n_images": [500, 2500, 5000], "fraction": [0.01, 0.05, 0.1],
                               "std": [1.88, 0.91, 0.77], "relative_cost": [1.0, 5.2, 10.2]})

#: Default sample sizes as fractions of the run's images (the paper's 1 %, 5 %, 10 %, plus 2 %).
DEFAULT_FRACTIONS = (0.01, 0.02, 0.05, 0.1)

#: Number of disjoint samples per size (the paper's ten).
N_SAMPLES = 10


def default_sizes(n_total: int, fractions: Sequence[float] = DEFAULT_FRACTIONS, *, n_samples: int = N_SAMPLES,
                  minimum: int = 10) -> list[int]:
    """Sample sizes ``round(f · n_total)`` that leave room for ``n_samples`` disjoint samples (at least ``minimum``)."""
    sizes = sorted({int(round(f * n_total)) for f in fractions})
    return [n for n in sizes if n >= minimum and n * n_samples <= n_total]


def pair_cost(n: int, steps: int) -> int:
    """Forward+backward passes of SAT for one pair on ``n`` images (App. A.1): 2 · (n · steps + n)."""
    return 2 * (int(n) * int(steps) + int(n))


def disjoint_samples(images: np.ndarray, n: int, n_samples: int = N_SAMPLES, seed: int = 0) -> np.ndarray:
    """``n_samples`` disjoint samples of ``n`` image ids each, as an (n_samples, n) array.

    One seeded permutation per (seed, n) of the sorted ids; its first ``n_samples · n``
    entries, cut into consecutive blocks. Raises ``ValueError`` if there are too few images.
    """
    ids = np.sort(np.asarray(images, dtype=np.int64))
    if n < 1 or n * n_samples > ids.size:
        raise ValueError(f"{n_samples} disjoint samples of {n} images need {n * n_samples}, the run has {ids.size}")
    rng = np.random.default_rng([int(seed), int(n)])
    return rng.permutation(ids)[: n * n_samples].reshape(n_samples, n)


def pair_outcomes(transfer_images: pd.DataFrame, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """(image ids of X_AB, number of fooled directions per image: 0, 1 or 2) of the unordered pair (a, b).

    Both directions must be present and cover the same images (as Eq. 1 needs).
    """
    transfer_images = x_ab_rows(transfer_images)
    sel = transfer_images[((transfer_images["source"] == a) & (transfer_images["target"] == b))
                          | ((transfer_images["source"] == b) & (transfer_images["target"] == a))]
    return _outcomes(dict(tuple(sel.groupby(["source", "target"], sort=False))), a, b)


def _outcomes(groups: dict, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    if (a, b) not in groups or (b, a) not in groups:
        raise ValueError(f"({a}, {b}) lacks per-image outcomes in both directions (one-sided or not measured)")
    ab, ba = groups[(a, b)].sort_values("image"), groups[(b, a)].sort_values("image")
    if not np.array_equal(ab["image"].to_numpy(), ba["image"].to_numpy()):
        raise ValueError(f"the two directions of ({a}, {b}) cover different images")
    fooled = ab["fooled"].to_numpy(dtype=np.int64) + ba["fooled"].to_numpy(dtype=np.int64)
    return ab["image"].to_numpy(dtype=np.int64), fooled


def inner_sat(both_images: np.ndarray, fooled: np.ndarray, sample: np.ndarray) -> tuple[float, int]:
    """(S in percent, |X_AB ∩ sample|) of one sample: the inner term of Eq. 1, no log; NaN if X_AB ∩ sample is empty."""
    keep = np.isin(both_images, sample)
    k = int(keep.sum())
    return (100.0 * fooled[keep].sum() / (2 * k) if k else float("nan")), k


def sat_stability(transfer_images: pd.DataFrame, images: np.ndarray, pairs: Sequence[tuple[str, str]], *,
                  steps: int, sizes: Sequence[int] | None = None, n_samples: int = N_SAMPLES, seed: int = 0,
                  n_reference: int | None = None) -> pd.DataFrame:
    """Standard deviation of SAT (percent, no log) over disjoint image samples, and its cost (Table A.1).

    Parameters
    ----------
    transfer_images:
        Per-image outcomes of a SAT run: ``source, target, image, fooled`` (and ``both_correct``;
        only the X_AB rows are used).
    images:
        Every image id of the run's evaluation set (the pool the samples are drawn from).
    pairs:
        Unordered pairs (a, b), a ≠ b, measured in both directions.
    steps:
        Attack iterations (PGD steps) of the run, for the cost.
    sizes:
        Sample sizes n (default :func:`default_sizes`); each needs ``n_samples · n`` images.
    n_samples:
        Disjoint samples per size (the paper: 10).
    seed:
        Seeds the samples (one permutation per size; the same samples for every pair).
    n_reference:
        N_ref of the relative cost (default: the number of images of the run).

    Returns
    -------
    pandas.DataFrame
        One row per (pair, n): ``model_a, model_b, n_images, n_samples, n_valid`` (samples with a
        non-empty X_AB), ``mean_both_correct`` (mean |X_AB ∩ sample|), ``mean, std`` (of S over the
        samples, percent; std with ddof=1), ``full`` (S on all images), ``cost_passes``
        (2·(n·steps + n)) and ``relative_cost`` (cost_passes / N_ref).
    """
    pool = np.unique(np.asarray(images, dtype=np.int64))
    sizes = list(sizes) if sizes is not None else default_sizes(pool.size, n_samples=n_samples)
    n_ref = int(n_reference) if n_reference else pool.size
    samples = {n: disjoint_samples(pool, n, n_samples, seed) for n in sizes}
    transfer_images = x_ab_rows(transfer_images)  # format 2 also stores images only the source gets right
    groups = dict(tuple(transfer_images.groupby(["source", "target"], sort=False))) if len(transfer_images) else {}
    rows = []
    for a, b in pairs:
        both, fooled = _outcomes(groups, a, b)
        full = 100.0 * fooled.sum() / (2 * both.size) if both.size else float("nan")
        for n in sizes:
            vals, ks = zip(*(inner_sat(both, fooled, s) for s in samples[n]))
            v = np.asarray(vals, dtype=float)
            ok = np.isfinite(v)
            rows.append({"model_a": a, "model_b": b, "n_images": n, "n_samples": n_samples, "n_valid": int(ok.sum()),
                         "mean_both_correct": float(np.mean(ks)), "mean": float(v[ok].mean()) if ok.any() else np.nan,
                         "std": float(v[ok].std(ddof=1)) if ok.sum() > 1 else np.nan, "full": full,
                         "cost_passes": pair_cost(n, steps), "relative_cost": pair_cost(n, steps) / n_ref})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "n_images", "n_samples", "n_valid", "mean_both_correct",
                                       "mean", "std", "full", "cost_passes", "relative_cost"])


def two_sided_pairs(transfer_images: pd.DataFrame, models: Sequence[str]) -> list[tuple[str, str]]:
    """Every unordered pair (a, b), a ≠ b, of ``models`` (in that order) with X_AB outcomes in both directions."""
    transfer_images = x_ab_rows(transfer_images)  # a pair with an empty X_AB has nothing to resample
    have = set(map(tuple, transfer_images[["source", "target"]].drop_duplicates().to_numpy().tolist())) \
        if len(transfer_images) else set()
    models = list(models)
    return [(a, b) for i, a in enumerate(models) for b in models[i + 1:] if (a, b) in have and (b, a) in have]


def pair_label(a: str, b: str) -> str:
    """A stable short label for a pair in figures."""
    return f"{a} vs {b}"


__all__ = ["DEFAULT_FRACTIONS", "N_SAMPLES", "PAPER_TABLE_A1", "default_sizes", "disjoint_samples", "inner_sat",
           "pair_cost", "pair_label", "pair_outcomes", "sat_stability", "two_sided_pairs"]
