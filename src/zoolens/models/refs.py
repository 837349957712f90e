"""Parsing of model references (``timm:NAME@FILE``, ``tv:NAME:WEIGHTS``, ``zoo:ZOO/NAME``, ``py:mod:fn``).

The scheme picks a registered :class:`~zoolens.models.source.ModelSource`, which parses
the rest; :func:`parse_weights_suffix` is the shared grammar of library references.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from pathlib import Path

from zoolens.errors import ZoolensError
from zoolens.models.source import get_source, list_sources, reference_forms

_INIT = re.compile(r"^init(?::(\d+))?$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference.

    ``weights`` is one of: ``"pretrained"`` (the library's own weights, from the local
    cache), ``"init"`` (untrained, seeded construction), or ``"file"`` (``path``).
    """

    scheme: str
    name: str
    weights: str = "pretrained"
    path: str | None = None
    seed: int = 0
    tag: str | None = None  # torchvision weights enum name, e.g. IMAGENET1K_V2
    raw: str = ""


def display_name(ref: str) -> str:
    """The name a model goes by in tables: ``zoo:ZOO/NAME`` → ``NAME``, ``zoo:ZOO/NAME@DIR/FILE.EXT`` →
    ``NAME@FILE`` (e.g. ``resnet_baseline@epoch_003`` for an epoch checkpoint); any other reference is its own name."""
    if ref.startswith("zoo:") and "/" in ref:
        name, at, path = ref.split("/", 1)[1].partition("@")
        return f"{name}@{Path(path).stem}" if at else name
    return ref


def parse_ref(ref: str) -> ModelRef:
    """Parse a model reference string; raises :class:`ZoolensError` on malformed input or an unknown scheme."""
    scheme, sep, rest = ref.partition(":")
    if not sep or scheme not in list_sources() or not rest:
        raise ZoolensError(f"cannot parse model reference {ref!r}", f"use {reference_forms()}")
    return get_source(scheme).parse(rest, ref)


def parse_weights_suffix(scheme: str, rest: str, ref: str, *, tagged: bool = False) -> ModelRef:
    """Parse ``NAME[:TAG][@FILE|@init:SEED]``, the form of library references (``timm:``, ``tv:``).

    Parameters
    ----------
    scheme, rest, ref:
        The scheme, the part after ``scheme:`` and the whole reference.
    tagged:
        Whether ``NAME:TAG`` names a weights enum (torchvision's ``IMAGENET1K_V2``).
    """
    name, at, suffix = rest.partition("@")
    tag = None
    if tagged and ":" in name:
        name, tag = name.split(":", 1)
    if not name.strip():
        raise ZoolensError(f"model reference {ref!r} names no architecture", f"use {scheme}:NAME[@FILE|@init:SEED]")
    if not at:
        return ModelRef(scheme, name, tag=tag, raw=ref)
    if not suffix:
        raise ZoolensError(f"model reference {ref!r} has nothing after '@'", "use @/path/to/weights or @init:SEED")
    m = _INIT.match(suffix)
    if m:
        return ModelRef(scheme, name, weights="init", seed=int(m.group(1) or 0), tag=tag, raw=ref)
    if suffix.startswith("init:") and not os.path.exists(suffix):  # @init:abc is a bad seed, not a file
        raise ZoolensError(f"the seed in {ref!r} must be a non-negative integer", f"e.g. {scheme}:{name}@init:0")
    return ModelRef(scheme, name, weights="file", path=suffix, tag=tag, raw=ref)


def check_weights_file(ref: ModelRef) -> None:
    """For ``…@FILE`` references: the file exists and is a file (raises a one-line :class:`ZoolensError`)."""
    if ref.weights != "file" or ref.path is None:
        return
    path = Path(ref.path)
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except OSError as exc:  # e.g. a name too long for the file system
        raise ZoolensError(f"checkpoint path {str(path)[:60]!r} is unusable ({exc.strerror})",
                           "check the path after '@'") from None
    if is_dir:
        raise ZoolensError(f"checkpoint {path} is a directory, not a weights file",
                           "point '@' at the .safetensors/.pth file inside it")
    if not is_file:
        raise ZoolensError(f"checkpoint {path} does not exist", "check the path after '@'")


__all__ = ["ModelRef", "check_weights_file", "display_name", "parse_ref", "parse_weights_suffix"]
