"""Model selection shared by the CLI commands: ``--model REF ...`` and/or ``--zoo NAME [--only ...]``."""

from __future__ import annotations

from typing import Sequence

from zoolens.errors import ZoolensError


def model_refs(model: Sequence[str] | None, zoo: str | None, only: Sequence[str] | None) -> list[str]:
    """Model references from explicit refs plus (optionally filtered) zoo members, in zoo order."""
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
        raise ZoolensError("--only needs --zoo", "e.g. --zoo fmnist-mini --only resnet_baseline")
    if not refs:
        raise ZoolensError("no models given", "pass --model REF (repeatable) or --zoo fmnist-mini")
    if len(set(refs)) != len(refs):
        raise ZoolensError("the same model is listed twice", "list each model once")
    return refs


def zoo_member_names(zoo: str) -> list[str]:
    """Model names of a shipped zoo or a paper zoo (``paper-…``); unknown zoos raise :class:`ZoolensError`."""
    if zoo.startswith("paper-"):
        from zoolens.zoo.paper import paper_model_names as names_of
    else:
        from zoolens.zoo import zoo_model_names as names_of
    return names_of(zoo)
