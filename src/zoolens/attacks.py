"""White-box L∞ attacks in [0,1] pixel space: PGD (Madry et al. 2018) and FGSM (Goodfellow et al. 2015).

Both take a model that maps [0,1] images to logits (a :class:`~zoolens.models.wrapper.WrappedModel`
normalizes internally, so perturbations live in pixel space, never on normalized
tensors), run it in eval mode, and return adversarial images that are projected onto
the ε-ball around the input and clipped to [0,1]. The SAT paper (Eq. 1) uses
untargeted PGD with 50 iterations and ε = 8/255.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoolens.inference import frozen


def _as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(255.0) if images.dtype == torch.uint8 else images.float()


def _device_of(model: nn.Module, fallback: torch.device) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else fallback


def pgd_attack(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float,
    alpha: float,
    steps: int,
    random_start: bool = True,
    generator: torch.Generator | None = None,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Untargeted L∞ projected gradient descent (Madry et al. 2018, "Towards Deep Learning
    Models Resistant to Adversarial Attacks", Eq. 2 / Sec. 2.1).

    x⁰ = x + U(−ε, ε) (if ``random_start``), x^{t+1} = Π_{B∞(x,ε) ∩ [0,1]^d}(x^t + α·sign(∇ₓ CE(f(x^t), y))).

    Parameters
    ----------
    model:
        Maps [0,1] images (B, C, H, W) to logits. Run in ``eval()`` mode during the
        attack (BatchNorm uses running statistics, dropout is off); its previous mode
        is restored afterwards. Parameter ``.grad`` fields are not touched.
    images:
        (B, C, H, W) float in [0,1] or uint8 (divided by 255).
    labels:
        (B,) int64 true labels; the attack maximizes cross-entropy on them.
    eps, alpha, steps:
        L∞ budget, step size and number of iterations (all in [0,1] pixel units).
    random_start:
        Start from a uniform draw in the ε-ball (Madry et al.); ``False`` starts at x.
    generator:
        Seeded ``torch.Generator`` for the random start; same seed → same result.
        Drawn on the CPU, so results do not depend on the device's RNG.
    batch_size:
        Process ``images`` in chunks of this size (default: all at once).

    Returns
    -------
    torch.Tensor
        Adversarial images, float32, same shape and device as ``images``, with
        ``|x_adv − x|∞ ≤ eps`` and values in [0,1].
    """
    x_all = _as_float(images)
    n = x_all.shape[0]
    if n == 0:
        return x_all.clone()
    bs = int(batch_size or n)
    device = _device_of(model, x_all.device)
    out = []
    with frozen(model):  # only the input gradient is needed (see zoolens.inference.frozen)
        for start in range(0, n, bs):
            x = x_all[start:start + bs].to(device)
            y = labels[start:start + bs].to(device)
            if random_start and eps > 0:
                noise = torch.rand(x.shape, generator=generator, dtype=torch.float32).to(device)
                x_adv = (x + (noise * 2 - 1) * eps).clamp_(0.0, 1.0)
            else:
                x_adv = x.clone()
            for _ in range(int(steps)):
                x_adv.requires_grad_(True)
                with torch.enable_grad():
                    loss = F.cross_entropy(model(x_adv), y, reduction="sum")
                    (grad,) = torch.autograd.grad(loss, x_adv)
                with torch.no_grad():
                    x_adv = x_adv.detach() + alpha * grad.sign()
                    x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp_(0.0, 1.0)
            out.append(x_adv.detach().to(x_all.device))
    return torch.cat(out, dim=0)


def fgsm_attack(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al. 2015): one step x + ε·sign(∇ₓ CE), clipped to [0,1].

    Equivalent to :func:`pgd_attack` with ``steps=1``, ``alpha=eps`` and no random start.
    """
    return pgd_attack(model, images, labels, eps=eps, alpha=eps, steps=1, random_start=False,
                      batch_size=batch_size)


__all__ = ["fgsm_attack", "pgd_attack"]
