"""The ``zoo:ZOO/NAME`` model source: references into any registered zoo (see :mod:`zoolens.zoo.registry`).

It lives in the zoo package and registers itself with :mod:`zoolens.models.source` on
import (``import zoolens`` imports it), so ``zoolens.models`` never imports a zoo.
"""

from __future__ import annotations

import os

from zoolens.errors import ZoolensError
from zoolens.models.digest import file_digest
from zoolens.models.refs import ModelRef, check_weights_file
from zoolens.models.source import Architecture, ModelSource, register_source
from zoolens.models.wrapper import WrappedModel
from zoolens.zoo.registry import get_zoo


def split(ref: ModelRef) -> tuple[str, str]:
    """``(zoo, name)`` of a parsed ``zoo:ZOO/NAME`` reference."""
    zoo, _, name = ref.name.partition("/")
    return zoo, name


def _parse(rest: str, raw: str) -> ModelRef:
    """``ZOO/NAME`` or ``ZOO/NAME@FILE`` (the member's architecture with the weights of FILE, e.g. an epoch
    checkpoint written by ``zoolens zoo train --save-every``)."""
    rest, at, path = rest.partition("@")
    if "/" not in rest:
        raise ZoolensError(f"cannot parse {raw!r}", "use zoo:ZOO/NAME, e.g. zoo:fmnist-mini/resnet_baseline")
    if at and not path:
        raise ZoolensError(f"model reference {raw!r} has nothing after '@'", "use zoo:ZOO/NAME@/path/to/file.safetensors")
    if at:
        return ModelRef("zoo", rest, weights="file", path=path, raw=raw)
    return ModelRef("zoo", rest, raw=raw)


def _check(ref: ModelRef) -> None:
    zoo, name = split(ref)
    names = get_zoo(zoo).members()
    if name not in names:
        raise ZoolensError(f"zoo {zoo} has no model {name!r}", f"choose from: {', '.join(names)}")
    if ref.weights == "file":
        if get_zoo(zoo).load_file is None:
            raise ZoolensError(f"zoo {zoo} cannot load weights files ({ref.raw})", f"use zoo:{zoo}/{name} without '@'")
        check_weights_file(ref)


def _load(ref: ModelRef, *, trust_checkpoint: bool = False, num_classes: int | None = None) -> WrappedModel:
    zoo, name = split(ref)
    if ref.weights == "file":
        _check(ref)
        return get_zoo(zoo).load_file(name, ref.path)
    return get_zoo(zoo).load(name, trust_checkpoint=trust_checkpoint)


def _architecture(ref: ModelRef) -> Architecture:
    zoo, name = split(ref)
    return get_zoo(zoo).architecture(name)


def _digest_parts(ref: ModelRef) -> tuple[str, ...]:
    """The reference and the digests of the member's weights files that exist (none: the reference alone)."""
    zoo, name = split(ref)
    if ref.weights == "file":  # a missing file: the reference alone (the loader reports it)
        return ("zoo", ref.raw, *([file_digest(ref.path)] if os.path.isfile(ref.path) else []))
    try:
        files = get_zoo(zoo).weights().files_of(name)
    except ZoolensError:  # unknown zoo or model: the loader reports it
        files = []
    return ("zoo", ref.raw, *[file_digest(f) for f in files])


SOURCE = register_source(ModelSource(scheme="zoo", syntax="zoo:ZOO/NAME", parse=_parse, check=_check, load=_load,
                                     architecture=_architecture, digest_parts=_digest_parts))

__all__ = ["SOURCE", "split"]
