"""Transfer evaluation: show one model's adversarial images to another and count who is fooled.

The SAT paper resizes "the attacked image from the source network for the target
network" when their input resolutions differ; we do that with bilinear,
anti-aliased, ``align_corners=False`` interpolation, after matching the number of
channels (1 → 3 by repetition, 3 → 1 by ITU-R 601-2 luma, as PIL's ``convert("L")``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoolens.errors import ZoolensError
from zoolens.inference import batched_logits
from zoolens.models.fast import fast_twin

_LUMA = (0.299, 0.587, 0.114)


def to_input(images: torch.Tensor, input_size: tuple[int, int, int]) -> torch.Tensor:
    """Adapt [0,1] (or uint8) images (N, C, H, W) to a target model's (C, H, W).

    Parameters
    ----------
    images:
        Images at the source model's size; uint8 is divided by 255.
    input_size:
        The target's (C, H, W).

    Returns
    -------
    torch.Tensor
        float32 images of shape (N, *input_size) in [0,1] (unchanged values when the
        sizes already match).
    """
    x = images.float().div(255.0) if images.dtype == torch.uint8 else images.float()
    c, h, w = (int(v) for v in input_size)
    if x.shape[1] != c:
        if x.shape[1] == 1:
            x = x.expand(-1, c, -1, -1)
        elif c == 1 and x.shape[1] == 3:
            weights = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            x = (x * weights).sum(1, keepdim=True)
        else:
            raise ZoolensError(f"cannot map {x.shape[1]}-channel images to a {c}-channel model",
                               "compare models with 1 or 3 input channels")
    if tuple(x.shape[-2:]) != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False).clamp_(0.0, 1.0)
    return x.contiguous()


def predict(model: nn.Module, images: torch.Tensor, *, batch_size: int = 256, name: str | None = None,
            fast: bool = True, compute: str = "fp32") -> torch.Tensor:
    """Top-1 predictions, (N,) int64 on the CPU (see :func:`zoolens.inference.batched_logits`).

    ``fast`` evaluates the model's fast twin (:func:`zoolens.models.fast.fast_twin`; the same
    function up to float rounding; a model in training mode is used as it is); ``False`` the model as loaded.
    ``compute="bf16"`` runs it under bfloat16 autocast.
    """
    logits = batched_logits(fast_twin(model) if fast else model, images, batch_size=batch_size, name=name,
                            compute=compute)
    return logits.argmax(1) if logits.numel() else torch.empty(0, dtype=torch.int64)


__all__ = ["predict", "to_input"]
