"""Linear CKA (Kornblith et al. 2019, "Similarity of Neural Network Representations Revisited", Eq. 3-5).

    CKA(X, Y) = ‖Xcᵀ Yc‖²_F / (‖Xcᵀ Xc‖_F · ‖Ycᵀ Yc‖_F)

for feature matrices X (n × p) and Y (n × q) of the same n images, Xc, Yc column-centred.
It equals the HSIC form tr(K H L H) / sqrt(tr(K H K H) tr(L H L H)) with linear Gram
matrices K = XXᵀ, L = YYᵀ and H = I − 11ᵀ/n (the "naive" formula, O(n²) memory), but is
computed here from cross-products accumulated over minibatches, so memory is O(p² + q² + pq),
flat in n. Written here (not taken from a library): the CKA packages on PyPI (e.g.
``cka-pytorch``) are single-author projects that keep all features in memory; this is
about 30 lines.

Numerics: sums are accumulated in float64 around a shift (the first minibatch's mean),
which centring cancels exactly, so large feature offsets do not cancel catastrophically.
Constant features (zero total variance) make CKA undefined and raise a clear error;
constant *columns* among varying ones are harmless (they add zero rows/columns).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from zoolens.errors import ZoolensError


class CrossMoments:
    """Running sums of one pair of feature streams: n, Σx, Σy, XᵀX, YᵀY, XᵀY (float64, shifted)."""

    def __init__(self) -> None:
        self.n = 0
        self.shift_x: np.ndarray | None = None
        self.shift_y: np.ndarray | None = None

    def update(self, x: np.ndarray, y: np.ndarray) -> None:
        """Add a minibatch: ``x`` (b × p) and ``y`` (b × q) rows are the same b images."""
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if x.shape[0] != y.shape[0]:
            raise ZoolensError(f"feature batches of {x.shape[0]} and {y.shape[0]} images",
                               "give both models' features of the same images")
        if x.shape[0] == 0:
            return
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ZoolensError("features contain NaN or inf", "check the model's weights and preprocessing")
        if self.shift_x is None:
            self.shift_x, self.shift_y = x.mean(0), y.mean(0)
            p, q = x.shape[1], y.shape[1]
            self.sx, self.sy = np.zeros(p), np.zeros(q)
            self.xx, self.yy, self.xy = np.zeros((p, p)), np.zeros((q, q)), np.zeros((p, q))
        x = x - self.shift_x
        y = y - self.shift_y
        self.n += x.shape[0]
        self.sx += x.sum(0)
        self.sy += y.sum(0)
        self.xx += x.T @ x
        self.yy += y.T @ y
        self.xy += x.T @ y

    def centred(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(XcᵀXc, YcᵀYc, XcᵀYc): e.g. XcᵀYc = XᵀY − n·μx μyᵀ (in the shifted frame)."""
        mx, my = self.sx / self.n, self.sy / self.n
        return (self.xx - self.n * np.outer(mx, mx), self.yy - self.n * np.outer(my, my),
                self.xy - self.n * np.outer(mx, my))


def cka_from_moments(m: CrossMoments, names: tuple[str, str] = ("A", "B")) -> float:
    """Linear CKA from accumulated moments; raises for no images or constant features."""
    if m.n < 2:
        raise ZoolensError(f"linear CKA needs at least 2 images, got {m.n}", "use more images (--n-images)")
    cxx, cyy, cxy = m.centred()
    nx, ny = np.linalg.norm(cxx), np.linalg.norm(cyy)
    checks = ((names[0], nx, np.trace(cxx), m.shift_x), (names[1], ny, np.trace(cyy), m.shift_y))
    for name, norm, trace, shift in checks:
        # variance at the level of float32 rounding of the values themselves: the features do not vary
        noise = len(shift) * (1e-6 * float(np.abs(shift).max())) ** 2
        if not norm > 0 or not trace / m.n > noise:
            raise ZoolensError(f"the penultimate features of model {name} are constant over the images "
                               "(linear CKA undefined)", "check the model (dead features?) or use more varied images")
    value = float(np.sum(cxy * cxy) / (nx * ny))
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else math.nan


def linear_cka(x: np.ndarray | Iterable[tuple[np.ndarray, np.ndarray]], y: np.ndarray | None = None, *,
               batch_size: int = 1024, names: tuple[str, str] = ("A", "B")) -> float:
    """Linear CKA of two feature matrices (or of a stream of ``(x_batch, y_batch)`` pairs).

    Parameters
    ----------
    x, y:
        (n × p) and (n × q) features of the same n images (rows), e.g. memory-mapped
        ``.npy`` files; or ``x`` an iterable of batch pairs and ``y`` None.
    batch_size:
        Rows per accumulation step (the result does not depend on it, up to rounding).
    names:
        The two models' names, for the error on constant features.

    Returns
    -------
    float
        In [0, 1]; 1 for representations equal up to an orthogonal transform and isotropic scaling.
    """
    m = CrossMoments()
    if y is None:
        for bx, by in x:  # type: ignore[union-attr]
            m.update(bx, by)
    else:
        if len(x) != len(y):  # type: ignore[arg-type]
            raise ZoolensError(f"features of {len(x)} and {len(y)} images", "give features of the same images")
        for start in range(0, len(x), max(1, int(batch_size))):  # type: ignore[arg-type]
            m.update(x[start:start + batch_size], y[start:start + batch_size])  # type: ignore[index]
    return cka_from_moments(m, names)


def linear_cka_naive(x: np.ndarray, y: np.ndarray) -> float:
    """The HSIC form with n × n centred Gram matrices (Kornblith et al. 2019, Eq. 4): the reference twin."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    n = x.shape[0]
    h = np.eye(n) - np.full((n, n), 1.0 / n)
    k, l_ = h @ (x @ x.T) @ h, h @ (y @ y.T) @ h
    return float(np.sum(k * l_) / math.sqrt(np.sum(k * k) * np.sum(l_ * l_)))


__all__ = ["CrossMoments", "cka_from_moments", "linear_cka", "linear_cka_naive"]
