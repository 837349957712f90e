"""Model selection shared by the commands and study files: explicit references and/or the members of a zoo."""

from __future__ import annotations

from typing import Sequence

from zoolens.errors import ZoolensError
from zoolens.zoo.registry import get_zoo


def model_refs(model: Sequence[str] | None, zoo: str | None, only: Sequence[str] | None) -> list[str]:
    """Model references from explicit refs plus (optionally filtered) zoo members, in zoo order.

    Parameters
    ----------
    model:
        Explicit references (``--model`` on the command line, ``models.refs`` in a study).
    zoo:
        A registered zoo whose members are added (``--zoo``, ``models.zoo``).
    only:
        Keep only these members of ``zoo`` (``--only``, ``models.only``).
    """
    refs = list(model or [])
    if zoo:
        names = zoo_member_names(zoo)
        if only:
            unknown = [o for o in only if o not in names]
            if unknown:
                raise ZoolensError(f"zoo {zoo} has no model(s) {', '.join(unknown)}",
                                   f"choose from: {', '.join(names)}")
            names = [n for n in names if n in only]
        refs += [f"zoo:{zoo}/{n}" for n in names]
    elif only:
        raise ZoolensError("a member filter (--only) needs a zoo to filter (--zoo)",
                           "name the zoo too, e.g. zoo fmnist-mini with only resnet_baseline")
    if not refs:
        raise ZoolensError("no models given",
                           "give model references (--model REF, or refs) or a zoo (--zoo fmnist-mini, or zoo=)")
    if len(set(refs)) != len(refs):
        raise ZoolensError("the same model is listed twice", "list each model once")
    return refs


def zoo_member_names(zoo: str) -> list[str]:
    """Model names of any registered zoo; unknown zoos raise :class:`ZoolensError`."""
    return list(get_zoo(zoo).members())


__all__ = ["model_refs", "zoo_member_names"]
