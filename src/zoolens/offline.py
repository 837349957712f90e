"""Offline by default: hub libraries never wait on the network unless ``--online`` is given."""

from __future__ import annotations

import os

_ONLINE = False
_OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def set_online(online: bool) -> None:
    """Allow (``True``) or forbid (``False``, the default) downloads of weights."""
    global _ONLINE
    _ONLINE = bool(online)
    for var in _OFFLINE_ENV:
        if online:
            os.environ.pop(var, None)
        else:
            os.environ[var] = "1"
    try:  # huggingface_hub reads the variable at import time; keep its constant in sync
        import huggingface_hub.constants as hc

        hc.HF_HUB_OFFLINE = not online
    except Exception:
        pass


def is_online() -> bool:
    return _ONLINE


def apply_default() -> None:
    """Called on import of zoolens: offline unless ZOOLENS_ONLINE=1."""
    set_online(os.environ.get("ZOOLENS_ONLINE", "") == "1")
