"""Top-1 accuracy of a paper-zoo model on a local ImageNet val folder, against the published number.

Used by the opt-in test (``ZOOLENS_IMAGENET_VAL``) and ``docs/reproduce.md``: a loaded
model must reproduce the paper's top-1 within ``tol`` points (default 0.5), which
catches a wrong remap, wrong preprocessing or a wrong checkpoint.
"""

from __future__ import annotations

from zoolens.data.loading import load_data
from zoolens.errors import ZoolensError
from zoolens.inference import batched_logits
from zoolens.zoo.paper.imagenet import imagenet_val_source
from zoolens.zoo.registry import load_zoo_model


def top1(model, source: str, n: int | None = None, seed: int = 0, batch_size: int = 64,
         device: str = "cpu", progress: bool = False) -> float:
    """Top-1 accuracy in percent of ``model`` on ``n`` images (all when None) of ``source``."""
    data = load_data(source, n=n, seed=seed, model=model, progress=progress)
    logits = batched_logits(model.to(device), data.images, batch_size=batch_size)
    correct = int((logits.argmax(-1) == data.labels).sum()) if len(data) else 0
    return 100.0 * correct / max(len(data), 1)


def check_published_top1(zoo: str, name: str, val_root: str, *, n: int | None = None, tol: float = 0.5,
                         device: str = "cpu", trust_checkpoint: bool = False) -> tuple[float, float]:
    """(measured, published) top-1 of ``zoo:ZOO/NAME`` on ``val_root``; raises AssertionError beyond ``tol``."""
    model = load_zoo_model(zoo, name, trust_checkpoint=trust_checkpoint)
    if model.info.get("published_top1") is None:
        raise ZoolensError(f"zoo:{zoo} lists no published top-1 for {name}", "use a paper-r50 model")
    published = float(model.info["published_top1"])
    measured = top1(model, imagenet_val_source(val_root), n=n, device=device)
    assert abs(measured - published) <= tol, f"{zoo}/{name}: measured {measured:.2f}, published {published:.2f}"
    return measured, published
