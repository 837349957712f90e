"""Checks of user settings shared by every run, made before anything is written.

Each raises :class:`~zoolens.errors.ZoolensError` naming the option and its fix, so
a typo is refused before the run directory exists (and never poisons it).
"""

from __future__ import annotations

from typing import Any

from zoolens.data import open_source
from zoolens.errors import ZoolensError
from zoolens.models.loader import check_ref

MAX_SEEDS = 1000  # a count beyond this is a typo, not a study


def check_seeds(seeds: Any, option: str = "--seeds") -> list[int]:
    """A non-empty list of distinct seeds in [0, 2³²): repeated seeds would fake certainty."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise ZoolensError(f"{option} must be a count or a list of integers, got {seeds!r}",
                           "pass a count (3) or a list (0,1,2)")
    seeds = list(seeds)
    if not seeds:
        raise ZoolensError("no seeds given", f"pass {option} N with N ≥ 1")
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2 ** 32]
    if bad:
        raise ZoolensError(f"{option} must be integers in [0, 2^32), got {bad[0]!r}", "e.g. --seeds 0,1,2")
    dup = sorted({s for s in seeds if seeds.count(s) > 1})
    if dup:
        raise ZoolensError(f"{option} repeats seed(s) {', '.join(map(str, dup))}: the same draw twice would "
                           "shrink the standard error without new evidence", "list each seed once, e.g. 0,1,2")
    return seeds


def seed_list(value: Any, option: str = "--seeds") -> list[int]:
    """A seed count (``3`` → ``[0, 1, 2]``) or an explicit list, checked."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= MAX_SEEDS:
            raise ZoolensError(f"{option} count must be between 1 and {MAX_SEEDS}, got {value}",
                               "pass a count (3) or a list (0,1,2)")
        return list(range(value))
    return check_seeds(value, option)


def check_device(device: Any, option: str = "--device", *, require_available: bool = True) -> str | None:
    """``cpu``, ``cuda``, ``cuda:N`` (or None for the default); CUDA must be present when asked for.

    ``require_available=False`` checks the spelling only: a GPU study can be planned on a laptop.
    """
    if device is None:
        return None
    import torch

    try:
        dev = torch.device(str(device))
    except (RuntimeError, ValueError, TypeError):
        raise ZoolensError(f"unknown {option} {device!r}", "use cpu or cuda (cuda:N)") from None
    if dev.type not in ("cpu", "cuda"):
        raise ZoolensError(f"unsupported {option} {device!r}", "use cpu or cuda (cuda:N)")
    if not require_available:
        return str(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ZoolensError(f"{option} {device} asked for, but CUDA is not available here", "use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ZoolensError(f"{option} {device}: this machine has {torch.cuda.device_count()} GPU(s)",
                           "use cuda:0 … or cpu")
    return str(device)


def check_data(source: Any, n_images: int | None, option: str = "n_images (--n-images)") -> None:
    """The data source opens and holds at least ``n_images`` images."""
    if not isinstance(source, str):
        raise ZoolensError(f"data source {source!r} is not text", "e.g. fashion-mnist, digits or imagefolder:PATH")

    raw = open_source(source)
    if n_images is not None and n_images > len(raw):
        raise ZoolensError(f"asked for {n_images} images but {raw.name} holds only {len(raw)}",
                           f"set {option} to {len(raw)} or fewer")


def check_refs(refs: Any) -> list[str]:
    """Every model reference parses and names something that exists (no weights are read)."""

    if isinstance(refs, str) or not hasattr(refs, "__iter__"):
        raise ZoolensError(f"model references must be a list, got {refs!r}", 'e.g. refs = ["timm:resnet18"]')
    refs = list(refs)
    for ref in refs:
        check_ref(ref)
    return refs


__all__ = ["MAX_SEEDS", "check_data", "check_device", "check_refs", "check_seeds", "seed_list"]
