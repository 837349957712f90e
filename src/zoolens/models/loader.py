"""``load_model(ref)``: the single entry that turns a reference into a :class:`WrappedModel`.

Both functions look the reference's scheme up in the source registry
(:mod:`zoolens.models.source`); each source module says how its references load.
"""

from __future__ import annotations

from zoolens.errors import ZoolensError
from zoolens.models.refs import ModelRef, parse_ref
from zoolens.models.source import get_source
from zoolens.models.wrapper import WrappedModel


def load_model(ref: str, *, trust_checkpoint: bool = False, num_classes: int | None = None) -> WrappedModel:
    """Load a model reference and wrap it to take [0,1] images at its native size.

    Parameters
    ----------
    ref:
        ``timm:NAME`` (pretrained weights from the local cache), ``timm:NAME@FILE``,
        ``timm:NAME@init:SEED``, ``tv:NAME[:WEIGHTS][@FILE|@init:SEED]``, ``zoo:ZOO/NAME``,
        ``py:module:function``, or a reference of any other registered source.
    trust_checkpoint:
        Allow full unpickling of ``.pth`` files (runs code from the file).
    num_classes:
        Classifier size for ``@init`` models or when it cannot be read off the checkpoint.

    Returns
    -------
    WrappedModel in eval mode, on CPU.
    """
    parsed = check_ref(ref)
    model = get_source(parsed.scheme).load(parsed, trust_checkpoint=trust_checkpoint, num_classes=num_classes)
    return model.eval()


def check_ref(ref: str) -> ModelRef:
    """Parse ``ref`` and check, without building the model, that it can be loaded.

    Cheap checks only (no weights are read): the architecture exists in timm or
    torchvision, a zoo lists the model, a weights file is a file, a ``py:`` module
    imports and has the factory. Runs check every reference this way before they
    write anything, so a typo never reaches the run directory.

    Raises
    ------
    ZoolensError
        Naming the reference and what to fix.
    """
    if not isinstance(ref, str):
        raise ZoolensError(f"model reference {ref!r} is not text", "write references as strings, e.g. \"timm:resnet18\"")
    parsed = parse_ref(ref)
    get_source(parsed.scheme).check(parsed)
    return parsed


__all__ = ["check_ref", "load_model"]
