"""Parsing of model references (``timm:NAME@FILE``, ``tv:NAME:WEIGHTS``, ``zoo:ZOO/NAME``, ``py:mod:fn``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from zoolens.errors import ZoolensError

SCHEMES = ("timm", "tv", "zoo", "py")
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
    """The name a model goes by in tables: ``zoo:ZOO/NAME`` → ``NAME``; any other reference is its own name."""
    if ref.startswith("zoo:") and "/" in ref:
        return ref.split("/", 1)[1]
    return ref


def parse_ref(ref: str) -> ModelRef:
    """Parse a model reference string; raises :class:`ZoolensError` on malformed input."""
    scheme, sep, rest = ref.partition(":")
    if not sep or scheme not in SCHEMES or not rest:
        raise ZoolensError(f"cannot parse model reference {ref!r}",
                           "use timm:NAME[@FILE|@init:SEED], tv:NAME[:WEIGHTS], zoo:ZOO/NAME or py:module:function")
    if scheme == "py":
        module, sep2, func = rest.rpartition(":")
        if not sep2 or not module or not func:
            raise ZoolensError(f"cannot parse {ref!r}", "use py:package.module:function")
        return ModelRef("py", rest, weights="file", raw=ref)
    if scheme == "zoo":
        if "/" not in rest:
            raise ZoolensError(f"cannot parse {ref!r}", "use zoo:ZOO/NAME, e.g. zoo:fmnist-mini/resnet_baseline")
        return ModelRef("zoo", rest, raw=ref)
    name, at, suffix = rest.partition("@")
    tag = None
    if scheme == "tv" and ":" in name:
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
