"""Offline by default: hub libraries never wait on the network unless downloads are allowed.

Importing zoolens changes nothing in the process environment. The switch is a flag
(:func:`set_online`; ``ZOOLENS_ONLINE=1`` or ``zoolens --online`` turn it on), and the
model sources enforce it where a download could start: they refuse before a download
(:func:`require_online`) and build pretrained models inside :func:`hub_offline`, which
switches the Hugging Face hub to offline mode for that block only.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

from zoolens.errors import ZoolensError

_ONLINE = os.environ.get("ZOOLENS_ONLINE", "") == "1"
_OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
#: How to allow downloads, for the fix part of error messages (the CLI flag and the API call).
HOW_TO_GO_ONLINE = "allow downloads (zoolens --online, or zoolens.offline.set_online(True))"


def set_online(online: bool) -> None:
    """Allow (``True``) or forbid (``False``, the default) downloads of weights."""
    global _ONLINE
    _ONLINE = bool(online)


def is_online() -> bool:
    """Whether downloads are allowed."""
    return _ONLINE


def apply_default() -> None:
    """Reset the flag to the default: offline unless ``ZOOLENS_ONLINE=1``."""
    set_online(os.environ.get("ZOOLENS_ONLINE", "") == "1")


def require_online(what: str, fix: str = "") -> None:
    """Raise a one-line :class:`ZoolensError` naming ``what`` would be downloaded, unless online.

    Parameters
    ----------
    what:
        The problem, e.g. ``"pretrained weights for timm:resnet18 are not in the local cache"``.
    fix:
        Other ways out, placed before :data:`HOW_TO_GO_ONLINE`.
    """
    if not _ONLINE:
        raise ZoolensError(what, f"{fix}, or {HOW_TO_GO_ONLINE}" if fix else HOW_TO_GO_ONLINE)


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Inside the block, the Hugging Face hub serves from its cache only (unless online).

    Sets ``HF_HUB_OFFLINE`` and friends and huggingface_hub's constant (read at import
    time, so kept in sync) for the block, then restores both exactly as they were.
    """
    if _ONLINE:
        yield
        return
    saved_env = {var: os.environ.get(var) for var in _OFFLINE_ENV}
    try:
        import huggingface_hub.constants as hc
    except ImportError:  # no hub library, nothing can download through it
        hc = None
    saved_const = getattr(hc, "HF_HUB_OFFLINE", None)
    for var in _OFFLINE_ENV:
        os.environ[var] = "1"
    if hc is not None:
        hc.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for var, value in saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        if hc is not None:
            hc.HF_HUB_OFFLINE = saved_const


__all__ = ["HOW_TO_GO_ONLINE", "apply_default", "hub_offline", "is_online", "require_online", "set_online"]
