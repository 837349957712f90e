"""Inter-boundary distance along shared directions (Tramèr et al. 2017, Sec. 5).

Tramèr, Papernot, Goodfellow, Boneh & McDaniel, "The space of transferable adversarial
examples", arXiv:1704.03453 (2017), Sec. 5 "Decision boundary similarity": for an input x
and a unit direction u, the distance of model f to its decision boundary is

    d_f(x, u) = min { ε > 0 : f(x + ε u) ≠ f(x) },

and the inter-boundary distance of models A and B is |d_A(x, u) − d_B(x, u)|, averaged over
inputs both classify correctly. The SAT paper (Sec. 3, Fig. 10, App. A.2) compares it and
notes that it "often failed to converge": here a search that finds no boundary within the
range is counted (``n_unconverged``) and the input is left out of that pair, never hidden.

Directions:

* ``legitimate`` — towards a seeded image x' of another class, u = (x' − x)/‖x' − x‖ (range: up to x');
* ``random`` — a seeded Gaussian direction of unit L2 norm (range: ``max_distance``);
* ``adversarial`` — the source model A's own steepest ascent of its cross-entropy at x (Tramèr's
  fast gradient method in L2: u_A = ∇ₓL_A / ‖∇ₓL_A‖₂; range: ``max_distance``).

The first two are model-independent, so each model's distances are computed once, alone. The
adversarial one is specific to its source: for the ordered pair A → B the gap is
|d_A(x, u_A) − d_B(x, u_A)|, so each target searches along every source's directions (a second
stage, as SAT's evaluation). Where A's gradient is exactly zero (a saturated or constant model)
the direction is zero and the search finds no boundary: counted as unconverged, not dropped.

Distances are L2 norms in [0, 1] pixel space at one shared resolution (the data's native size);
models with other input sizes see the same directions resized (linear, so the search is along
the same line; the adversarial direction is the gradient with respect to that native-size step,
i.e. taken through the resize).

The search: a batched scan of ``steps`` points over the range, then ``refine`` bisection
steps between the last point with the original prediction and the first without it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from zoolens.errors import ZoolensError
from zoolens.inference import batched_logits

#: Model-independent directions (computed per model) and the source-specific one (per ordered pair).
SHARED = ("legitimate", "random")
ADVERSARIAL = "adversarial"
DIRECTIONS = (*SHARED, ADVERSARIAL)


def shared_directions(images: torch.Tensor, labels: np.ndarray, seed: int, max_distance: float
                      ) -> dict[str, tuple[torch.Tensor, np.ndarray]]:
    """Per direction kind: (n × C × H × W) steps D at the shared resolution and the range in L2 units.

    The point at search parameter t ∈ [0, 1] is x + t·D, so the L2 distance is t·‖D‖.
    """
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    labels = np.asarray(labels)
    n = x.shape[0]
    if len(np.unique(labels)) < 2:
        raise ZoolensError("the legitimate direction needs images of 2 classes", "use more images (--n-images)")
    rng = np.random.default_rng(seed)
    partner = np.empty(n, dtype=np.int64)
    for i in range(n):
        partner[i] = rng.choice(np.flatnonzero(labels != labels[i]))
    legit = x[torch.from_numpy(partner)] - x
    gen = torch.Generator().manual_seed(int(seed))
    r = torch.randn(x.shape, generator=gen)
    r = r / r.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))
    return {"legitimate": (legit, legit.flatten(1).norm(dim=1).double().numpy()),
            "random": (r * float(max_distance), np.full(n, float(max_distance)))}


def _resize(d: torch.Tensor, hw: tuple[int, int], channels: int) -> torch.Tensor:
    if tuple(d.shape[-2:]) != tuple(hw):
        d = F.interpolate(d, size=hw, mode="bilinear", align_corners=False)
    if d.shape[1] != channels:
        d = d.mean(1, keepdim=True).expand(-1, channels, -1, -1)
    return d


def adversarial_directions(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                           native_shape: tuple[int, ...], *, batch_size: int = 256) -> torch.Tensor:
    """Unit-L2 steepest-ascent directions of ``model``'s cross-entropy, at the native resolution.

    Parameters
    ----------
    images:
        (n × C × H × W) at the model's input size (uint8 or [0, 1] floats).
    labels:
        The true classes (Tramèr et al.: the loss at the true label).
    native_shape:
        (C₀, H₀, W₀) of the shared geometry; the gradient is taken with respect to a step δ of
        that shape, fed to the model through the same resize :func:`boundary_distances` applies.

    Returns
    -------
    torch.Tensor
        (n × C₀ × H₀ × W₀) float32, each of L2 norm 1, or all zeros where the gradient is exactly 0.
    """
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    was_training = model.training
    model.eval()
    p = next(model.parameters(), None)
    dev = p.device if p is not None else torch.device("cpu")
    out = []
    try:
        for s in range(0, x.shape[0], max(1, batch_size)):
            xb = x[s:s + batch_size].to(dev)
            delta = torch.zeros((len(xb), *native_shape), device=dev, requires_grad=True)
            with torch.enable_grad():
                logits = model(xb + _resize(delta, tuple(xb.shape[-2:]), xb.shape[1]))
                loss = F.cross_entropy(logits.float(), labels[s:s + batch_size].long().to(dev), reduction="sum")
                (g,) = torch.autograd.grad(loss, delta)
            g = g.detach().double().cpu()
            norm = g.flatten(1).norm(dim=1).view(-1, *([1] * (g.dim() - 1)))
            out.append(torch.where(norm > 0, g / norm.clamp(min=1e-300), torch.zeros_like(g)).float())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.zeros((0, *native_shape))


def boundary_distances(model: torch.nn.Module, images: torch.Tensor, steps_dir: torch.Tensor, lengths: np.ndarray,
                       *, scan: int = 32, refine: int = 10, batch_size: int = 256, name: str | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """d_f(x, u) for every image along its direction; NaN where no boundary lies in range.

    Parameters
    ----------
    images:
        (n × C × H × W) at the model's input size.
    steps_dir, lengths:
        One kind of :func:`shared_directions` (resized to the model here).

    Returns
    -------
    (distances, clean predictions), each of length n.
    """
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    d = _resize(steps_dir.float(), tuple(x.shape[-2:]), x.shape[1])
    pred0 = batched_logits(model, x, batch_size=batch_size, name=name).argmax(1)
    n = x.shape[0]
    ts = torch.linspace(0, 1, scan + 1)[1:]
    first = torch.full((n,), -1, dtype=torch.long)
    per = max(1, batch_size // scan)
    for s in range(0, n, per):
        xb, db = x[s:s + per], d[s:s + per]
        pts = (xb[:, None] + ts.view(1, -1, *([1] * (x.dim() - 1))) * db[:, None]).flatten(0, 1)
        p = batched_logits(model, pts, batch_size=batch_size, name=name).argmax(1).view(len(xb), scan)
        changed = p != pred0[s:s + per, None]
        hit = changed.any(1)
        first[s:s + per] = torch.where(hit, changed.float().argmax(1), torch.full_like(hit, -1, dtype=torch.long))
    found = first >= 0
    hi = torch.where(found, ts[first.clamp(min=0)], torch.ones(n))
    lo = torch.where(found & (first > 0), ts[(first - 1).clamp(min=0)], torch.zeros(n))
    idx = torch.nonzero(found).flatten()
    for _ in range(refine if len(idx) else 0):
        mid = (lo[idx] + hi[idx]) / 2
        pts = x[idx] + mid.view(-1, *([1] * (x.dim() - 1))) * d[idx]
        same = batched_logits(model, pts, batch_size=batch_size, name=name).argmax(1) == pred0[idx]
        lo[idx] = torch.where(same, mid, lo[idx])
        hi[idx] = torch.where(same, hi[idx], mid)
    dist = np.where(found.numpy(), hi.double().numpy() * np.asarray(lengths, dtype=np.float64), np.nan)
    return dist, pred0.numpy()


def boundary_gaps(dist_a: np.ndarray, dist_b: np.ndarray, correct_a: np.ndarray, correct_b: np.ndarray
                  ) -> tuple[np.ndarray, int]:
    """|d_A − d_B| on the inputs both classify correctly where both searches converged; and how many did not."""
    da, db = np.asarray(dist_a, dtype=np.float64), np.asarray(dist_b, dtype=np.float64)
    both = np.asarray(correct_a, dtype=bool) & np.asarray(correct_b, dtype=bool)
    converged = np.isfinite(da) & np.isfinite(db)
    return np.abs(da[both & converged] - db[both & converged]), int((both & ~converged).sum())


def inter_boundary(dist_a: np.ndarray, dist_b: np.ndarray, correct_a: np.ndarray, correct_b: np.ndarray
                   ) -> dict[str, float]:
    """Mean |d_A − d_B| over inputs both classify correctly and both searches converged, with the counts."""
    gap, unconverged = boundary_gaps(dist_a, dist_b, correct_a, correct_b)
    return {"tramer": float(gap.mean()) if len(gap) else float("nan"), "tramer_n": int(len(gap)),
            "tramer_unconverged": unconverged}


__all__ = ["ADVERSARIAL", "DIRECTIONS", "SHARED", "adversarial_directions", "boundary_distances", "boundary_gaps", "inter_boundary",
           "shared_directions"]
