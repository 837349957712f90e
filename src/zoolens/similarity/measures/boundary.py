"""Decision-boundary similarity on planes through image triplets (Somepalli et al. 2022).

Somepalli, Fowl, Bansal, Yeh-Chiang, Dar, Baraniuk, Goldblum & Goldstein, "Can neural nets
learn the same model twice? Investigating reproducibility and double descent from the
decision boundary perspective", CVPR 2022 (Sec. 3-4; the SAT paper compares it in Sec. 3,
Fig. 10, App. A.1 and Table A.2).

* A triplet is three images of three distinct classes (seeded draw).
* Its plane is spanned from x₁ by a = (x₂ − x₁)/‖x₂ − x₁‖ and b⊥ (x₃ − x₁ made orthogonal to a);
  the triangle's corners have plane coordinates (0, 0), (‖x₂ − x₁‖, 0), (a·(x₃ − x₁), ‖b⊥‖).
* An R × R grid spans the triangle's bounding box widened by ``margin`` of its side on
  each end (the authors' ``range_l = range_r = 0.1``); the paper's 2,500 points are R = 50.
* Each model predicts the class of every grid point; the similarity of two models is the
  fraction of grid points with the same prediction, averaged over triplets.

Grid points are written as affine combinations x₁ + c₂(x₂ − x₁) + c₃(x₃ − x₁) whose
coefficients come from the images at one shared resolution, so models with different input
sizes see the same relative points of the same planes (resizing is linear). Points are not
clipped to [0, 1]: the margin lies slightly outside the image cube, as in the authors' code
(which works in normalized space).
"""

from __future__ import annotations

import numpy as np
import torch

from zoolens.errors import ZoolensError
from zoolens.inference import batched_logits

DEFAULT_MARGIN = 0.1


def draw_triplets(labels: np.ndarray, n_triplets: int, seed: int) -> np.ndarray:
    """(T × 3) image positions, each row three images of three distinct classes (seeded)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) < 3:
        raise ZoolensError(f"decision-boundary planes need images of 3 classes, got {len(classes)}",
                           "use more images (--n-images) or another data source")
    rng = np.random.default_rng(seed)
    by_class = {int(c): np.flatnonzero(labels == c) for c in classes}
    out = np.empty((n_triplets, 3), dtype=np.int64)
    for t in range(n_triplets):
        cs = rng.choice(classes, size=3, replace=False)
        out[t] = [rng.choice(by_class[int(c)]) for c in cs]
    return out


def plane_coefficients(x1: torch.Tensor, x2: torch.Tensor, x3: torch.Tensor, resolution: int,
                       margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """(R² × 2) coefficients (c₂, c₃) of the grid points x₁ + c₂(x₂ − x₁) + c₃(x₃ − x₁), row-major in (α, β)."""
    a = (x2 - x1).double().flatten()
    b = (x3 - x1).double().flatten()
    na = float(a.norm())
    if na == 0:
        raise ZoolensError("two images of a triplet are identical (no plane)", "use another seed (--plane-seed)")
    first = float(a @ b) / na
    second = float((b - first * a / na).norm())
    if second <= 1e-6 * na:  # float32 images: anything below is rounding
        raise ZoolensError("the three images of a triplet are collinear (no plane)", "use another seed (--plane-seed)")
    xs, ys = np.array([0.0, na, first]), np.array([0.0, 0.0, second])
    lx, ly = xs.max() - xs.min(), ys.max() - ys.min()
    alpha = np.linspace(xs.min() - margin * lx, xs.max() + margin * lx, resolution)
    beta = np.linspace(ys.min() - margin * ly, ys.max() + margin * ly, resolution)
    al, be = (g.ravel() for g in np.meshgrid(alpha, beta, indexing="ij"))
    c3 = be / second
    c2 = (al - be * first / second) / na
    return np.stack([c2, c3], axis=1)


def triplet_coefficients(images: torch.Tensor, triplets: np.ndarray, resolution: int,
                         margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """(T × R² × 2) grid coefficients of every triplet, from ``images`` (uint8 or float, one resolution)."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    return np.stack([plane_coefficients(x[i], x[j], x[k], resolution, margin) for i, j, k in triplets])


def _points(x: torch.Tensor, triplets: np.ndarray, coefs: np.ndarray, flat: np.ndarray) -> torch.Tensor:
    t, p = np.divmod(flat, coefs.shape[1])
    c = torch.from_numpy(coefs[t, p]).float()
    tri = torch.from_numpy(triplets[t])
    x1, x2, x3 = x[tri[:, 0]], x[tri[:, 1]], x[tri[:, 2]]
    shape = (-1,) + (1,) * (x.dim() - 1)
    return x1 + c[:, 0].view(shape) * (x2 - x1) + c[:, 1].view(shape) * (x3 - x1)


def plane_predictions(model: torch.nn.Module, images: torch.Tensor, triplets: np.ndarray, coefs: np.ndarray, *,
                      batch_size: int = 256, name: str | None = None, progress=None) -> np.ndarray:
    """(T × R²) top-1 predictions of ``model`` on every grid point, built batch by batch.

    ``images`` are the eval images at the model's input size; memory is one batch of
    points, whatever T·R² is.
    """
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    total = coefs.shape[0] * coefs.shape[1]
    out = np.empty(total, dtype=np.int64)
    step = max(1, int(batch_size))
    starts = range(0, total, step)
    for start in (progress(starts) if progress else starts):
        flat = np.arange(start, min(total, start + step))
        pts = _points(x, triplets, coefs, flat)
        out[flat] = batched_logits(model, pts, batch_size=step, name=name).argmax(1).numpy()
    return out.reshape(coefs.shape[0], coefs.shape[1])


def plane_predictions_naive(model: torch.nn.Module, images: torch.Tensor, triplets: np.ndarray,
                            coefs: np.ndarray) -> np.ndarray:
    """One forward pass per grid point (the reference twin of :func:`plane_predictions`)."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    out = np.empty(coefs.shape[:2], dtype=np.int64)
    model.eval()
    with torch.inference_mode():
        for t, (i, j, k) in enumerate(triplets):
            for p, (c2, c3) in enumerate(coefs[t]):
                pt = x[i] + float(c2) * (x[j] - x[i]) + float(c3) * (x[k] - x[i])
                out[t, p] = int(model(pt[None]).argmax(1))
    return out


def somepalli_similarity(preds_a: np.ndarray, preds_b: np.ndarray) -> dict[str, float]:
    """Fraction of grid points with the same prediction, mean and std over triplets (Table A.1 reports the std)."""
    a, b = np.asarray(preds_a), np.asarray(preds_b)
    if a.shape != b.shape or a.ndim != 2 or not a.size:
        raise ZoolensError(f"grid predictions of shapes {a.shape} and {b.shape}",
                           "compare models on the same triplets and grid")
    per_triplet = (a == b).mean(1)
    return {"somepalli": float(per_triplet.mean()),
            "somepalli_std": float(per_triplet.std(ddof=1)) if len(per_triplet) > 1 else float("nan")}


__all__ = ["DEFAULT_MARGIN", "draw_triplets", "plane_coefficients", "plane_predictions", "plane_predictions_naive",
           "somepalli_similarity", "triplet_coefficients"]
