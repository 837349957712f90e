"""The open registry of model zoos: every zoo is a registered :class:`Zoo` object.

A zoo carries its members, how to load one, its per-model metadata (the columns of
:data:`zoolens.zoo.metadata.META_COLUMNS`), its full manifest, the table ``zoolens zoo
list`` shows, where its weights live (``zoolens zoo status|fetch``) and the untrained
architecture of a member (cost planning). ``zoo:ZOO/NAME`` references, the CLI and the
analyses reach zoos only through :func:`get_zoo`, so adding a zoo is one module that
calls :func:`register_zoo` (imported by :mod:`zoolens.zoo`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from zoolens.errors import ZoolensError

if TYPE_CHECKING:  # annotations only: keep the registry free of heavy imports
    import pandas as pd

    from zoolens.models.source import Architecture
    from zoolens.models.wrapper import WrappedModel
    from zoolens.zoo.paper.fetch import WeightEntries


@dataclass(frozen=True)
class Zoo:
    """One registered zoo.

    Attributes
    ----------
    name:
        The ``ZOO`` of ``zoo:ZOO/NAME``.
    description:
        One line for listings.
    members:
        The model names, in the zoo's order.
    load:
        ``(name, *, trust_checkpoint=False) -> WrappedModel`` (eval mode, CPU).
    metadata:
        One row per member, index = name, at least the columns of ``META_COLUMNS``.
    manifest:
        The zoo's own full table (one row per member, column ``name``).
    listing:
        ``(all_columns) -> DataFrame``: what ``zoolens zoo list ZOO`` shows.
    weights:
        Where each member's weights are and how to check them (status, fetch, digests).
    architecture:
        ``name -> Architecture``: the untrained network of a member and its input size.
    load_file:
        Optional ``(name, path) -> WrappedModel``: the member's architecture with the weights of
        a file (``zoo:ZOO/NAME@FILE``, e.g. an epoch checkpoint); None: the zoo cannot.
    """

    name: str
    description: str
    members: Callable[[], list[str]]
    load: Callable[..., "WrappedModel"]
    metadata: Callable[[], "pd.DataFrame"]
    manifest: Callable[[], "pd.DataFrame"]
    listing: Callable[[bool], "pd.DataFrame"]
    weights: Callable[[], "WeightEntries"]
    architecture: Callable[[str], "Architecture"]
    load_file: Callable[[str, str], "WrappedModel"] | None = None


_ZOOS: dict[str, Zoo] = {}


def register_zoo(zoo: Zoo) -> Zoo:
    """Register ``zoo`` under its name (a later registration of the same name replaces it)."""
    _ZOOS[zoo.name] = zoo
    return zoo


def unregister_zoo(name: str) -> None:
    """Remove a zoo (tests register throwaway zoos)."""
    _ZOOS.pop(name, None)


def list_zoos() -> list[str]:
    """Names of every registered zoo, sorted."""
    return sorted(_ZOOS)


def get_zoo(name: str) -> Zoo:
    """The registered zoo ``name``; raises a one-line :class:`ZoolensError` listing the valid ones."""
    try:
        return _ZOOS[name]
    except KeyError:
        raise ZoolensError(f"unknown zoo {name!r}", f"valid zoos: {', '.join(list_zoos())}") from None


def zoo_model_names(zoo: str) -> list[str]:
    """Names of the models of ``zoo``, in the zoo's order."""
    return list(get_zoo(zoo).members())


def load_zoo_model(zoo: str, name: str, *, trust_checkpoint: bool = False) -> "WrappedModel":
    """Load ``zoo:ZOO/NAME`` as a :class:`~zoolens.models.wrapper.WrappedModel` in eval mode."""
    return get_zoo(zoo).load(name, trust_checkpoint=trust_checkpoint)


__all__ = ["Zoo", "get_zoo", "list_zoos", "load_zoo_model", "register_zoo", "unregister_zoo", "zoo_model_names"]
