"""Batched inference and parameter freezing: the one implementation every experiment uses."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

from zoolens.errors import ZoolensError


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def batched_logits(model: nn.Module, images: torch.Tensor, *, batch_size: int = 256, name: str | None = None,
                   check_finite: bool = True, compute: str = "fp32") -> torch.Tensor:
    """Logits of ``model`` in eval mode under ``torch.inference_mode``, float32 on the CPU.

    Parameters
    ----------
    model:
        Maps [0,1] images at its input size to logits (a :class:`~zoolens.models.wrapper.WrappedModel`).
    images:
        (N, C, H, W) uint8 or float in [0,1], already at the model's input size.
    batch_size:
        Images per forward pass.
    name:
        Model name for error messages.
    check_finite:
        Raise on NaN/inf logits (they would silently read as class 0).
    compute:
        ``fp32`` or ``bf16`` (under :func:`autocast`).

    Returns
    -------
    torch.Tensor
        (N, classes) float32 logits; ``(0, 0)`` for no images. The model's training flag is restored.

    Raises
    ------
    ZoolensError
        If ``check_finite`` and the model produces non-finite logits.
    """
    was_training = model.training
    model.eval()
    device = _device_of(model)
    step = max(1, int(batch_size))
    out = []
    try:
        with torch.inference_mode(), autocast(device, compute):
            for start in range(0, images.shape[0], step):
                x = images[start:start + step].to(device)
                x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()
                logits = model(x)
                if check_finite and not torch.isfinite(logits).all():
                    raise ZoolensError(f"model {name or getattr(model, 'name', '?')} produced non-finite logits",
                                       "check its weights and preprocessing (or exclude it)")
                out.append(logits.float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, 0)


COMPUTE_PRECISIONS = ("fp32", "bf16")
#: every precision :func:`autocast` knows (criticality also offers fp16; SAT offers COMPUTE_PRECISIONS)
AUTOCAST_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: torch.device | str, precision: str = "fp32") -> contextlib.AbstractContextManager:
    """``torch.autocast`` in that dtype for ``bf16``/``fp16``; nothing for ``fp32`` (exact float32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision not in AUTOCAST_DTYPES:
        raise ZoolensError(f"unknown compute precision {precision!r}", f"use one of {', '.join(AUTOCAST_DTYPES)}")
    return torch.autocast(device_type=torch.device(device).type, dtype=AUTOCAST_DTYPES[precision])


@contextlib.contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no parameter gradients inside the block; both restored afterwards.

    Attacks need only the input gradient: frozen parameters keep autograd from recording
    (and saving tensors for) the weight-gradient paths, and keep libraries that call
    ``loss.backward()`` from accumulating ``.grad`` on the model.
    """
    was_training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        model.train(was_training)


__all__ = ["AUTOCAST_DTYPES", "COMPUTE_PRECISIONS", "autocast", "batched_logits", "frozen"]
