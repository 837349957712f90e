"""One adapter for every attack SAT can use, all in [0,1] pixel space.

:class:`AttackConfig` names an attack and its budget (with a stable :meth:`AttackConfig.key`
that keys the adversarial cache); :func:`run_attack` runs it on a
:class:`~zoolens.models.wrapper.WrappedModel` (which normalizes inside, so no attack
ever sees normalized tensors). ``pgd`` and ``fgsm`` are our own
(:mod:`zoolens.attacks`); ``mifgsm`` and ``vmifgsm`` come from torchattack
1.7.2, called with ``normalize=None`` for the same reason; ``apgd`` (APGD-CE, the first
attack of AutoAttack, Croce & Hein 2020) comes from the Adversarial Robustness Toolbox
(ART), run on the same wrapper with ``clip_values=(0, 1)`` and no ART preprocessing;
``apgd-dlr`` is AutoAttack's second member (APGD on the difference-of-logits-ratio loss),
and ``autoattack`` runs the two in AutoAttack's order: APGD-CE, then APGD-DLR on the images
APGD-CE did not fool (the worst case per image; FAB-T and Square are not in it).

The SAT paper (Sec. 3) uses untargeted L∞ PGD, 50 iterations, ε = 8/255 and a
"learning rate" of 0.1. Read in [0,1] pixels, 0.1 > ε, so every step would jump to a
corner of the ε-ball (sign-gradient steps saturate); we default to α = 2/255 (the
usual Madry-style choice of ε/4) and document the reading in ``docs/similarity.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from fractions import Fraction

import torch
from torch import nn

from zoolens.errors import ZoolensError
from zoolens.inference import autocast, frozen
from zoolens.models.fast import fast_twin
from zoolens.attacks import fgsm_attack, pgd_attack

ATTACKS = ("pgd", "fgsm", "mifgsm", "vmifgsm", "apgd", "apgd-dlr", "autoattack")
#: ART's APGD, by loss (AutoAttack's first two members, Croce & Hein 2020).
_APGD_LOSS = {"apgd": "cross_entropy", "apgd-dlr": "difference_logits_ratio"}
PRECISIONS = ("uint8", "fp32")


def parse_fraction(text: str | float | int, *, what: str = "value") -> float:
    """``"8/255"`` → 0.0313…, ``"0.03"`` → 0.03. Raises :class:`ZoolensError` on junk."""
    try:
        value = float(text) if isinstance(text, (int, float)) else float(Fraction(str(text).strip()))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        raise ZoolensError(f"cannot read {what} {str(text)[:40]!r} as a number", "write e.g. 8/255 or 0.0314") from None
    if not math.isfinite(value):
        raise ZoolensError(f"{what} must be a finite number, got {text!r}", "write e.g. 8/255 or 0.0314")
    return value


@dataclass(frozen=True)
class AttackConfig:
    """An attack and its budget, in [0,1] pixel units.

    Parameters
    ----------
    name:
        ``pgd`` | ``fgsm`` | ``mifgsm`` | ``vmifgsm`` | ``apgd``.
    eps:
        L∞ radius (paper: 8/255).
    alpha:
        Step size (ignored by ``fgsm``, which steps by ``eps``, and by ``apgd``, whose step
        size adapts from 2·eps as in AutoAttack).
    steps:
        Iterations (paper: 50; ``fgsm`` always 1).
    random_start:
        PGD only: start from a uniform draw in the ε-ball (Madry et al.).
    seed:
        Seeds the random start (PGD) and the neighbourhood samples (VMI-FGSM).
    precision:
        How adversarial images are stored: ``uint8`` (rounded to the 1/255 grid and
        re-projected into the ε-ball; what a saved PNG would hold) or ``fp32``.
    """

    name: str = "pgd"
    eps: float = 8 / 255
    alpha: float = 2 / 255
    steps: int = 50
    random_start: bool = True
    seed: int = 0
    precision: str = "uint8"

    def __post_init__(self) -> None:
        if self.name not in ATTACKS:
            raise ZoolensError(f"unknown attack {self.name!r}", f"use one of {', '.join(ATTACKS)}")
        if self.precision not in PRECISIONS:
            raise ZoolensError(f"unknown adversarial precision {self.precision!r}", "use uint8 or fp32")
        if not (self.eps >= 0 and self.alpha >= 0 and self.steps >= 1):
            raise ZoolensError(f"bad attack budget eps={self.eps} alpha={self.alpha} steps={self.steps}",
                               "use eps ≥ 0, alpha ≥ 0 and steps ≥ 1")

    def normalized(self) -> "AttackConfig":
        """Drop settings an attack ignores so equivalent configs share one cache key."""
        if self.name == "fgsm":
            return replace(self, alpha=self.eps, steps=1, random_start=False, seed=0)
        if self.name in ("mifgsm", "vmifgsm"):
            return replace(self, random_start=False)
        if self.name in ("apgd", "apgd-dlr", "autoattack"):  # APGD's own step size (from 2ε); one random start
            return replace(self, alpha=2 * self.eps, random_start=True)
        return self

    def key(self) -> str:
        """Stable cache key: readable prefix + digest of all (normalized) settings."""
        cfg = self.normalized()
        blob = json.dumps(asdict(cfg), sort_keys=True, default=repr)
        digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
        return f"{cfg.name}-s{cfg.steps}-{cfg.precision}-{digest}"

    def as_dict(self) -> dict:
        return asdict(self.normalized())


#: Named presets. ``sat-paper``: Sec. 3 of the SAT paper (PGD-50, ε = 8/255, 5,000
#: images) with α = 2/255 standing in for the paper's ambiguous "learning rate 0.1".
PRESETS: dict[str, dict] = {
    "sat-paper": {"attack": AttackConfig("pgd", eps=8 / 255, alpha=2 / 255, steps=50, random_start=True),
                  "n_images": 5000},
}


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _torchattack(cfg: AttackConfig, model: nn.Module, device: torch.device):
    import torchattack

    if cfg.name == "mifgsm":
        return torchattack.MIFGSM(model, normalize=None, device=device, eps=cfg.eps, steps=cfg.steps,
                                  alpha=cfg.alpha)
    return torchattack.VMIFGSM(model, normalize=None, device=device, eps=cfg.eps, steps=cfg.steps,
                               alpha=cfg.alpha)


def _apgd(cfg: AttackConfig, model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device,
          seed: int, loss_type: str = "cross_entropy") -> torch.Tensor:
    """APGD (untargeted, L∞, one restart) of ART on one batch, its numpy RNG seeded and restored.

    ``loss_type``: ``cross_entropy`` (APGD-CE) or ``difference_logits_ratio`` (APGD-DLR, ≥ 3 classes).
    """
    import numpy as np
    from art.attacks.evasion import AutoProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    n_classes = int(getattr(model, "num_classes", 0) or model(x[:1]).shape[1])
    clf = PyTorchClassifier(model=model, loss=nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]),
                            nb_classes=n_classes, clip_values=(0.0, 1.0),
                            device_type="gpu" if device.type == "cuda" else "cpu")
    attack = AutoProjectedGradientDescent(clf, norm=np.inf, eps=cfg.eps, eps_step=2 * cfg.eps, max_iter=cfg.steps,
                                          targeted=False, nb_random_init=1, batch_size=x.shape[0],
                                          loss_type=loss_type, verbose=False)
    state = np.random.get_state()  # ART draws the random start from numpy's global RNG
    try:
        np.random.seed(seed % 2**32)
        adv = attack.generate(x=x.cpu().numpy().astype(np.float32), y=y.cpu().numpy())
    finally:
        np.random.set_state(state)
    return torch.from_numpy(adv).to(x.device)


def _autoattack(cfg: AttackConfig, model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device,
                seed: int) -> torch.Tensor:
    """AutoAttack's order on one batch: APGD-CE, then APGD-DLR only where APGD-CE left the prediction right."""
    with torch.enable_grad():
        adv = _apgd(cfg, model, x, y, device, seed, "cross_entropy")
    adv = torch.min(torch.max(adv, x - cfg.eps), x + cfg.eps).clamp_(0.0, 1.0)
    with torch.inference_mode():
        left = model(adv).argmax(1) == y
    if left.any():
        idx = torch.nonzero(left).flatten()
        with torch.enable_grad():
            second = _apgd(cfg, model, x[idx], y[idx], device, seed + 1_000_003, "difference_logits_ratio")
        adv = adv.clone()
        adv[idx] = torch.min(torch.max(second, x[idx] - cfg.eps), x[idx] + cfg.eps).clamp_(0.0, 1.0)
    return adv


def run_attack(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, cfg: AttackConfig, *,
               batch_size: int = 256, generator: torch.Generator | None = None, offset: int = 0,
               fast: bool = True, compute: str = "fp32") -> torch.Tensor:
    """Untargeted L∞ attack of ``model`` on ``images`` (the x_A of SAT, Eq. 1).

    Parameters
    ----------
    model:
        Maps [0,1] images to logits (normalizes inside). Attacked in eval mode with
        frozen parameters; its mode and ``requires_grad`` flags are restored.
    images:
        (N, C, H, W) uint8 or float in [0,1], at the model's input size.
    labels:
        (N,) int64 true labels.
    cfg:
        The attack (see :class:`AttackConfig`).
    batch_size:
        Images per forward/backward pass.
    generator:
        CPU generator for PGD's random start; default: seeded with ``cfg.seed``.
        VMI-FGSM draws from torch's global RNG, so it runs inside a forked RNG
        seeded with ``cfg.seed`` (same seed → same result, global state untouched);
        APGD (ART) draws from numpy's global RNG, seeded per batch and restored after.
    offset:
        Position of ``images[0]`` in a larger set attacked chunk by chunk (seeds
        VMI-FGSM's and APGD's per-batch RNG so chunked and whole calls agree).
    fast:
        Attack the model's fast twin (:func:`zoolens.models.fast.fast_twin`: Conv-BN folded,
        channels_last; the same function up to float rounding); ``False`` attacks the model as loaded.
    compute:
        ``fp32``, or ``bf16``: forward and backward under ``torch.autocast`` in bfloat16 (the
        matrix units of recent CPUs and GPUs; error bound in ``benchmarks/precision.py``).

    Returns
    -------
    torch.Tensor
        Adversarial images on the CPU, float32 in [0,1] with ``|x_adv − x|∞ ≤ eps``
        (before any storage quantization; see :func:`quantize`).
    """
    cfg = cfg.normalized()
    x_all = images.float().div(255.0) if images.dtype == torch.uint8 else images.float()
    if x_all.shape[0] == 0:
        return x_all.clone()
    if generator is None:
        generator = torch.Generator().manual_seed(int(cfg.seed))
    device = _device_of(model)
    bs = max(1, int(batch_size))
    out = []
    with frozen(model), autocast(device, compute):
        net = fast_twin(model) if fast else model
        for start in range(0, x_all.shape[0], bs):
            x = x_all[start:start + bs].to(device)
            y = labels[start:start + bs].to(device)
            if cfg.name == "pgd":
                adv = pgd_attack(net, x, y, eps=cfg.eps, alpha=cfg.alpha, steps=cfg.steps,
                                 random_start=cfg.random_start, generator=generator)
            elif cfg.name == "fgsm":
                adv = fgsm_attack(net, x, y, eps=cfg.eps)
            elif cfg.name in _APGD_LOSS:
                with torch.enable_grad():
                    adv = _apgd(cfg, net, x, y, device, int(cfg.seed) + int(offset) + start, _APGD_LOSS[cfg.name])
                adv = torch.min(torch.max(adv, x - cfg.eps), x + cfg.eps).clamp_(0.0, 1.0)
            elif cfg.name == "autoattack":
                adv = _autoattack(cfg, net, x, y, device, int(cfg.seed) + int(offset) + start)
            else:
                attack = _torchattack(cfg, net, device)
                devices = [device] if device.type == "cuda" else []
                with torch.random.fork_rng(devices=devices):
                    torch.manual_seed(int(cfg.seed) + int(offset) + start)  # per batch: independent of earlier batches
                    with torch.enable_grad():
                        adv = attack(x, y).detach()
                adv = torch.min(torch.max(adv, x - cfg.eps), x + cfg.eps).clamp_(0.0, 1.0)
            out.append(adv.detach().float().cpu())
    return torch.cat(out, dim=0)


def quantize(adv: torch.Tensor, clean: torch.Tensor, eps: float) -> torch.Tensor:
    """Round adversarial images to uint8 while staying inside the ε-ball of the clean uint8 image.

    Rounding alone can leave the ball by up to 0.5/255 when 255·ε is not an integer,
    so the rounded level is clipped to [ceil(255(x−ε)), floor(255(x+ε))] ∩ [0, 255].

    Parameters
    ----------
    adv:
        Float adversarial images in [0,1].
    clean:
        The clean images, uint8 (same shape).
    eps:
        L∞ radius in [0,1] units.

    Returns
    -------
    torch.Tensor
        uint8 images.
    """
    if clean.dtype != torch.uint8:
        raise TypeError("quantize expects the clean images as uint8")
    level = torch.round(adv.float() * 255.0)
    base = clean.float()
    tol = 1e-6  # 8/255*255 is 7.999999 in float32: do not lose a whole level to rounding noise
    lo = torch.ceil(base - eps * 255.0 - tol).clamp_(0, 255)
    hi = torch.floor(base + eps * 255.0 + tol).clamp_(0, 255)
    return torch.min(torch.max(level, lo), hi).to(torch.uint8)


__all__ = ["ATTACKS", "AttackConfig", "PRECISIONS", "PRESETS", "parse_fraction", "quantize", "run_attack"]
