"""Penultimate (pre-logits) features of a model: the input of its classifier head.

Like ``torchvision.models.feature_extraction``, but for the one node every classifier has:
timm models give it with ``forward_head(forward_features(x), pre_logits=True)``; any other
network (torchvision, the mini zoo's architectures) gives it as the input of the last
``nn.Linear`` that produces the logits, read by a forward hook.
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

from zoolens.errors import ZoolensError


def _net(model: nn.Module) -> nn.Module:
    return getattr(model, "net", model)


def _timm_style(net: nn.Module) -> bool:
    return callable(getattr(net, "forward_features", None)) and callable(getattr(net, "forward_head", None))


def _prepare(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()
    norm = getattr(model, "normalize", None)
    return norm(x) if norm is not None and hasattr(model, "net") else x


def penultimate_features(model: nn.Module, x: torch.Tensor, *, name: str | None = None) -> torch.Tensor:
    """(B × d) float32 pre-logits features of ``model`` (a :class:`~zoolens.models.WrappedModel` or a bare net).

    Raises
    ------
    ZoolensError
        When the network has neither timm's ``forward_head`` nor a final ``nn.Linear`` producing its logits.
    """
    net = _net(model)
    inp = _prepare(model, x)
    if _timm_style(net):
        try:
            return net.forward_head(net.forward_features(inp), pre_logits=True).flatten(1).float()
        except TypeError:  # a forward_head without pre_logits: fall back to the hook
            pass
    captured: list[tuple[nn.Linear, torch.Tensor, torch.Tensor]] = []
    hooks = [m.register_forward_hook(lambda mod, args, out: captured.append((mod, args[0], out)))
             for m in net.modules() if isinstance(m, nn.Linear)]
    try:
        logits = net(inp)
    finally:
        for h in hooks:
            h.remove()
    for mod, inp_, out in reversed(captured):  # the last Linear whose output is the logits
        if out.shape == logits.shape and torch.equal(out, logits):
            return inp_.flatten(1).float()
    raise ZoolensError(f"model {name or getattr(model, 'name', '?')} has no final nn.Linear producing its logits "
                       "(no penultimate features to read)", "leave cka out of --measures for this model")


def batched_features(model: nn.Module, images: torch.Tensor, *, batch_size: int = 256,
                     name: str | None = None) -> Iterator[torch.Tensor]:
    """Penultimate features batch by batch (eval mode, inference mode, on the model's device, returned on the CPU)."""
    was_training = model.training
    model.eval()
    p = next(model.parameters(), None)
    device = p.device if p is not None else torch.device("cpu")
    try:
        with torch.inference_mode():
            for start in range(0, images.shape[0], max(1, batch_size)):
                f = penultimate_features(model, images[start:start + batch_size].to(device), name=name)
                if not torch.isfinite(f).all():
                    raise ZoolensError(f"model {name or '?'} produced non-finite features",
                                       "check its weights and preprocessing (or exclude it)")
                yield f.cpu()
    finally:
        model.train(was_training)


__all__ = ["batched_features", "penultimate_features"]
