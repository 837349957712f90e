"""Weights of the paper zoos on disk: where each file must go, status checks, and (online only) downloads.

Files live under ``$ZOOLENS_WEIGHTS/ZOO/`` (default ``~/.cache/zoolens/weights/ZOO/``).
Entries served by timm or torchvision stay in those libraries' own caches (the
Hugging Face hub cache, ``torch.hub.get_dir()/checkpoints``); their status reports
that location so an offline machine can be seeded by copying the cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from zoolens.errors import ZoolensError
from zoolens.io import sha256_file
from zoolens.offline import require_online


def weights_root() -> Path:
    """``$ZOOLENS_WEIGHTS`` or ``~/.cache/zoolens/weights``."""
    return Path(os.environ.get("ZOOLENS_WEIGHTS") or "~/.cache/zoolens/weights").expanduser()


def weights_dir(zoo: str) -> Path:
    """Folder holding the published files of ``zoo`` (e.g. ``paper-r50``)."""
    return weights_root() / zoo


@dataclass(frozen=True)
class FileSpec:
    """One file a zoo entry needs: where it must be and how to check it."""

    model: str
    role: str
    path: Path
    url: str | None
    sha256: str | None = None
    sha256_prefix: str | None = None

    def check(self) -> tuple[str, str | None]:
        """(state, digest): state is ``present``, ``present (unverified)``, ``missing`` or ``wrong``."""
        if not self.path.is_file():
            return "missing", None
        if not (self.sha256 or self.sha256_prefix):
            return "present (unverified)", None
        digest = sha256_file(self.path)
        if self.sha256 and digest != self.sha256.lower():
            return "wrong", digest
        if self.sha256_prefix and not digest.startswith(self.sha256_prefix.lower()):
            return "wrong", digest
        return "present", digest


@dataclass(frozen=True)
class WeightEntries:
    """Where the weights of a zoo's members are: its own files, and references served by timm/torchvision.

    Attributes
    ----------
    names:
        Every member of the zoo.
    files:
        The files the zoo keeps itself, one :class:`FileSpec` per file.
    library:
        ``(member, reference)`` for members whose weights timm or torchvision cache.
    no_url:
        What the status table says for a file without a public URL.
    """

    names: list[str]
    files: list[FileSpec] = field(default_factory=list)
    library: list[tuple[str, str]] = field(default_factory=list)
    no_url: str = "(manual: see docs/paper_zoos.md)"

    def files_of(self, name: str) -> list[Path]:
        """The files of member ``name`` that exist on disk."""
        return [s.path for s in self.files if s.model == name and s.path.is_file()]


def _rich_progress_hook(description: str):
    """A urllib reporthook drawing a rich progress bar (bytes, speed, ETA) on stderr."""
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                        TimeRemainingColumn(), console=Console(stderr=True), transient=False)
    task = progress.add_task(description, total=None)
    progress.start()

    def hook(blocks: int, block_size: int, total: int) -> None:
        progress.update(task, completed=min(blocks * block_size, total) if total > 0 else blocks * block_size,
                        total=total if total > 0 else None)

    return hook, progress.stop


def download(url: str, dest: Path, *, sha256: str | None = None, sha256_prefix: str | None = None,
             opener: Callable[..., object] | None = None, progress: bool = True) -> str:
    """Download ``url`` to ``dest`` atomically, checking the SHA-256 when one is known.

    Writes to a temporary file in ``dest``'s folder and renames it only after the
    digest checks out, so an interrupted or corrupt download never sits at ``dest``.
    ``opener`` defaults to :func:`urllib.request.urlretrieve` (``file://`` URLs work,
    which is what the tests use). Returns the hex digest.
    """
    if not url.startswith("file://"):
        require_online(f"downloads are off: not fetching {url}", f"download it by hand to {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    retrieve = opener or urllib.request.urlretrieve
    hook, stop = _rich_progress_hook(dest.name) if progress else (None, lambda: None)
    try:
        try:
            retrieve(url, tmp, hook) if hook else retrieve(url, tmp)
        except Exception as exc:  # network errors come in many types
            raise ZoolensError(f"download of {url} failed ({type(exc).__name__}: {exc})",
                               f"retry, or download it by hand to {dest}") from exc
        finally:
            stop()
        digest = sha256_file(tmp)
        if (sha256 and digest != sha256.lower()) or (sha256_prefix and not digest.startswith(sha256_prefix.lower())):
            raise ZoolensError(f"{url} has SHA-256 {digest}, expected {sha256 or sha256_prefix + '…'}",
                               "the published file changed or the download is corrupt; not installed")
        shutil.move(tmp, dest)
        return digest
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
