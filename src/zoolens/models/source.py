"""The open registry of model sources: one :class:`ModelSource` per reference scheme (``timm:``, ``tv:``, ...).

A source bundles everything zoolens does with a reference of its scheme: parse it,
check it cheaply, load it, name the untrained architecture and its input size (for
FLOP planning) and say what identifies its weights (for resumable runs). Adding a
scheme is one module that calls :func:`register_source` on import, like timm's model
registry; nothing else dispatches on the scheme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from zoolens.errors import ZoolensError

if TYPE_CHECKING:  # annotations only: the registry sits below refs and the wrapper
    from torch import nn

    from zoolens.models.refs import ModelRef
    from zoolens.models.wrapper import WrappedModel


@dataclass(frozen=True)
class Architecture:
    """The untrained network behind a reference, for cost planning.

    Attributes
    ----------
    make:
        Builds the network with its own initialization (no weights are read).
    input_size:
        The (C, H, W) input size of a network ``make`` built.
    meta_ok:
        Whether ``make`` may run on PyTorch's ``meta`` device (no memory, no compute);
        False builds it for real on the CPU.
    """

    make: Callable[[], "nn.Module"]
    input_size: Callable[["nn.Module"], tuple[int, int, int]]
    meta_ok: bool = True


@dataclass(frozen=True)
class ModelSource:
    """How zoolens handles the references of one scheme.

    Attributes
    ----------
    scheme:
        The prefix before the first ``:`` (e.g. ``"timm"``).
    syntax:
        The reference forms, for error messages (e.g. ``"timm:NAME[@FILE|@init:SEED]"``).
    parse:
        ``(rest, raw) -> ModelRef``: the part after ``scheme:`` and the whole reference.
    check:
        Cheap validation of a parsed reference (no weights read); raises :class:`ZoolensError`.
    load:
        ``(ref, trust_checkpoint=..., num_classes=...) -> WrappedModel``.
    architecture:
        The untrained network and its input size (see :class:`Architecture`).
    digest_parts:
        Text that changes when the weights behind a (pretrained) reference change; hashed
        by :func:`zoolens.models.digest.weights_digest`.
    arch_key:
        References with the same key share one architecture (one FLOP count); default:
        the reference itself.
    """

    scheme: str
    syntax: str
    parse: Callable[[str, str], "ModelRef"]
    check: Callable[["ModelRef"], None]
    load: Callable[..., "WrappedModel"]
    architecture: Callable[["ModelRef"], Architecture]
    digest_parts: Callable[["ModelRef"], tuple[str, ...]]
    arch_key: Callable[["ModelRef"], str] = field(default=lambda ref: ref.raw)


_SOURCES: dict[str, ModelSource] = {}


def register_source(source: ModelSource) -> ModelSource:
    """Register ``source`` for its scheme (a later registration of the same scheme replaces it)."""
    _SOURCES[source.scheme] = source
    return source


def unregister_source(scheme: str) -> None:
    """Remove the source of ``scheme`` (tests register throwaway sources)."""
    _SOURCES.pop(scheme, None)


def list_sources() -> list[str]:
    """The registered schemes, in registration order."""
    return list(_SOURCES)


def reference_forms() -> str:
    """``"timm:NAME…, tv:NAME… or py:module:function"``: every registered syntax, for messages."""
    forms = [s.syntax for s in _SOURCES.values()]
    return forms[0] if len(forms) == 1 else f"{', '.join(forms[:-1])} or {forms[-1]}"


def get_source(scheme: str) -> ModelSource:
    """The source of ``scheme``.

    Raises
    ------
    ZoolensError
        For a scheme no source is registered for, listing the registered ones.
    """
    try:
        return _SOURCES[scheme]
    except KeyError:
        raise ZoolensError(f"no model source is registered for the scheme {scheme!r}",
                           f"use {reference_forms()}") from None


__all__ = ["Architecture", "ModelSource", "get_source", "list_sources", "reference_forms", "register_source",
           "unregister_source"]
