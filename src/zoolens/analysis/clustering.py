"""Spectral clustering of the SAT graph (SAT paper Sec. 4.1 and App. D.3).

The graph's adjacency is the SAT matrix. We use the normalized Laplacian
L = I − D^{-1/2} A D^{-1/2} and its K eigenvectors of the *smallest* eigenvalues
(equivalently the largest of the normalized affinity D^{-1/2} A D^{-1/2}, as in
Ng, Jordan & Weiss — the paper's "largest eigenvectors" read literally on L would
pick the least smooth directions), rows normalized to unit length, then K-means
with 100 restarts keeping the run with the best objective (lowest inertia).

SAT is a log-percentage and can be negative (log ε_s when nothing transfers); an
adjacency must be non-negative, so negative entries are clipped to 0 and the
diagonal (self-similarity) is set to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans


def affinity_from_sat(sat: np.ndarray | pd.DataFrame) -> np.ndarray:
    """A symmetric, non-negative adjacency with a zero diagonal from a SAT matrix.

    Parameters
    ----------
    sat:
        Square SAT matrix (NaN = unmeasured pair, treated as 0 affinity).

    Returns
    -------
    numpy.ndarray
        ``max(0, (S + Sᵀ)/2)`` with NaN → 0 and the diagonal zeroed.
    """
    a = np.asarray(sat, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"SAT matrix must be square, got shape {a.shape}")
    a = np.where(np.isfinite(a), a, 0.0)
    a = np.clip((a + a.T) / 2.0, 0.0, None)
    np.fill_diagonal(a, 0.0)
    return a


def normalized_laplacian(adjacency: np.ndarray) -> np.ndarray:
    """L = I − D^{-1/2} A D^{-1/2} with D_ii = Σ_j A_ij (isolated nodes get D^{-1/2} = 0).

    Parameters
    ----------
    adjacency:
        Symmetric non-negative matrix A.

    Returns
    -------
    numpy.ndarray
        The symmetric normalized Laplacian (SAT paper App. D.3).
    """
    a = np.asarray(adjacency, dtype=float)
    d = a.sum(axis=1)
    inv = np.zeros_like(d)
    inv[d > 0] = 1.0 / np.sqrt(d[d > 0])
    return np.eye(len(a)) - inv[:, None] * a * inv[None, :]


def laplacian_spectrum(adjacency: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of the normalized Laplacian."""
    vals, vecs = np.linalg.eigh(normalized_laplacian(adjacency))
    return vals, vecs


def spectral_features(adjacency: np.ndarray, k: int) -> np.ndarray:
    """The K eigenvectors of the K smallest Laplacian eigenvalues, rows normalized to unit length.

    Eigenvector signs are fixed (largest-magnitude entry positive) so the features
    are deterministic.
    """
    n = len(adjacency)
    if not 1 <= k <= n:
        raise ValueError(f"K must be in 1..{n}, got {k}")
    _, vecs = laplacian_spectrum(adjacency)
    u = vecs[:, :k].copy()
    for j in range(k):
        if u[np.argmax(np.abs(u[:, j])), j] < 0:
            u[:, j] *= -1
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    return u / np.where(norms > 0, norms, 1.0)


def choose_k_eigengap(adjacency: np.ndarray, k_min: int = 2, k_max: int | None = None) -> tuple[int, np.ndarray]:
    """K by the eigengap heuristic: the K maximizing λ_{K+1} − λ_K (ascending Laplacian eigenvalues).

    Parameters
    ----------
    adjacency:
        Symmetric non-negative matrix.
    k_min, k_max:
        Range of K considered (default ``k_max = min(10, n − 1)``; the paper uses K = 10 for 69 models).

    Returns
    -------
    (K, gaps)
        The chosen K and the gaps λ_{k+1} − λ_k for k = 1..n−1.
    """
    vals, _ = laplacian_spectrum(adjacency)
    n = len(vals)
    gaps = np.diff(vals)  # gaps[k-1] = λ_{k+1} − λ_k
    if n < 3:
        return max(1, min(k_min, n)), gaps
    k_max = min(n - 1, 10) if k_max is None else min(k_max, n - 1)
    k_min = max(1, min(k_min, k_max))
    ks = np.arange(k_min, k_max + 1)
    return int(ks[np.argmax(gaps[ks - 1])]), gaps


@dataclass
class SpectralResult:
    """Result of :func:`spectral_clustering`."""

    labels: np.ndarray  # cluster id per model, 0..K-1, ordered by first appearance
    features: np.ndarray  # (n, K) spectral features
    k: int
    k_source: str  # "given" or "eigengap"
    eigenvalues: np.ndarray
    inertia: float


def spectral_clustering(sat: np.ndarray | pd.DataFrame, k: int | None = None, *, n_init: int = 100,
                        seed: int = 0, k_max: int | None = None) -> SpectralResult:
    """Cluster models by their SAT graph (SAT paper Sec. 4.1, App. D.3).

    Parameters
    ----------
    sat:
        Square SAT matrix.
    k:
        Number of clusters; ``None`` chooses it by the eigengap (:func:`choose_k_eigengap`).
    n_init:
        K-means restarts; the run with the lowest inertia is kept (paper: 100).
    seed:
        K-means random state.

    Returns
    -------
    SpectralResult
        Labels are renumbered 0..K−1 in order of first appearance, so results are
        comparable across runs.
    """
    a = affinity_from_sat(sat)
    n = len(a)
    source = "given"
    if k is None:
        k, _ = choose_k_eigengap(a, k_max=k_max)
        source = "eigengap"
    k = int(min(max(k, 1), n))
    feats = spectral_features(a, k)
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(feats)
    raw = km.labels_
    remap: dict[int, int] = {}
    for lab in raw:
        remap.setdefault(int(lab), len(remap))
    labels = np.array([remap[int(lab)] for lab in raw])
    vals, _ = laplacian_spectrum(a)
    return SpectralResult(labels=labels, features=feats, k=k, k_source=source, eigenvalues=vals,
                          inertia=float(km.inertia_))


def cluster_order(labels: np.ndarray, sat: np.ndarray | None = None) -> np.ndarray:
    """A model order grouping clusters together (clusters by first appearance; inside a cluster
    by decreasing mean SAT to the cluster when ``sat`` is given), for heatmaps (Fig. D.1)."""
    labels = np.asarray(labels)
    order = []
    for c in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == c)
        if sat is not None and len(idx) > 1:
            s = np.asarray(sat, dtype=float)[np.ix_(idx, idx)]
            idx = idx[np.argsort(-np.nanmean(s, axis=1), kind="stable")]
        order.extend(idx.tolist())
    return np.array(order, dtype=int)


__all__ = ["SpectralResult", "affinity_from_sat", "choose_k_eigengap", "cluster_order", "laplacian_spectrum",
           "normalized_laplacian", "spectral_clustering", "spectral_features"]
