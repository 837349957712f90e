"""2-D maps and distances of the spectral features (SAT paper Fig. 1 and Fig. 4)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist, squareform
from sklearn.manifold import TSNE


def feature_distances(features: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances between rows of the spectral features (SAT paper Fig. 4)."""
    f = np.asarray(features, dtype=float)
    if len(f) < 2:
        return np.zeros((len(f), len(f)))
    return squareform(pdist(f))


def tsne_perplexity(n: int) -> float:
    """Perplexity adapted to small N: min(30, max(2, (N − 1) / 3)) (t-SNE needs perplexity < N)."""
    return float(min(30.0, max(2.0, (n - 1) / 3.0), max(n - 1.0, 1.0) - 1e-6))


def tsne_map(features: np.ndarray, *, seed: int = 0, perplexity: float | None = None) -> np.ndarray:
    """t-SNE coordinates (N, 2) of the spectral features (SAT paper Fig. 1).

    Parameters
    ----------
    features:
        (N, K) spectral features (:func:`zoolens.analysis.clustering.spectral_features`).
    seed:
        Random state of t-SNE.
    perplexity:
        Default :func:`tsne_perplexity` (N).

    Returns
    -------
    numpy.ndarray
        (N, 2); for N < 4 the first two (zero-padded) feature columns instead.
    """
    f = np.asarray(features, dtype=float)
    n = len(f)
    if n < 4:
        out = np.zeros((n, 2))
        out[:, :min(2, f.shape[1])] = f[:, :2]
        return out
    p = tsne_perplexity(n) if perplexity is None else perplexity
    return TSNE(n_components=2, perplexity=p, init="pca" if f.shape[1] >= 2 else "random", random_state=seed,
                max_iter=1000).fit_transform(f)


__all__ = ["feature_distances", "tsne_map", "tsne_perplexity"]
