"""Seeded, class-stratified subsets of a labelled source."""

from __future__ import annotations

import numpy as np

from zoolens.errors import ZoolensError


def stratified_subset(labels: np.ndarray, n: int | None, seed: int = 0) -> np.ndarray:
    """Indices of a seeded subset of ``n`` items with class proportions preserved.

    Each class c gets ``floor(n · p_c)`` items, and the remaining ones go to the
    classes with the largest remainders (ties: lower class id). Within a class the
    items are a seeded random draw. Returns sorted indices (so decoding reads files
    in order); ``n=None`` returns all indices.

    Raises :class:`ZoolensError` if ``n`` exceeds the number of items.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ZoolensError(f"the subset seed must be an integer ≥ 0, got {seed!r}",
                           "use a seed ≥ 0, e.g. 0 (--seed, or seed=)")
    labels = np.asarray(labels)
    total = len(labels)
    if n is None or n == total:
        return np.arange(total)
    if n <= 0:
        raise ZoolensError(f"n must be positive, got {n}", "ask for N ≥ 1 images (--n-images N, or n=N)")
    if n > total:
        raise ZoolensError(f"asked for {n} images but the source holds only {total}",
                           f"ask for {total} images or fewer (--n-images, or n=)")
    classes, counts = np.unique(labels, return_counts=True)
    exact = n * counts / total
    take = np.floor(exact).astype(int)
    order = sorted(range(len(classes)), key=lambda i: (-(exact[i] - take[i]), classes[i]))
    for i in order[: n - int(take.sum())]:
        take[i] += 1
    rng = np.random.default_rng(seed)
    chosen = []
    for cls, k in zip(classes, take):
        members = np.flatnonzero(labels == cls)
        chosen.append(rng.choice(members, size=int(k), replace=False) if k else members[:0])
    return np.sort(np.concatenate(chosen))
