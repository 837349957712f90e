"""Atomic file writes: every table, manifest and cache entry goes through here.

Written by hand because the standard library has no atomic replace-with-fsync helper
and the well-kept packages that do (``atomicwrites``) are archived.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd


def current_umask() -> int:
    """The process umask: from /proc on Linux (no side effect), else by setting and restoring it."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # not atomic across threads: only where /proc is missing
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a unique temporary path next to ``path``; on success rename it onto ``path``.

    The temp file is removed when the block raises (disk full, Ctrl-C), so a failed write
    leaves neither a half-written ``path`` nor a stray temp file. The result gets the
    mode a plain ``open()`` would give (0666 minus the umask), not ``mkstemp``'s 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())
        _fsync(tmp)  # the data reaches the disk before the name does: a power cut leaves old or new
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text or bytes) to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_table(df: pd.DataFrame, path: str | os.PathLike, **csv_kwargs) -> None:
    """Write a table as Parquet (``.parquet``) or CSV, via a temp file and rename."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, **{"index": False, **csv_kwargs})


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in ``chunk``-byte blocks (the one file-hash helper)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


__all__ = ["atomic_path", "atomic_write", "current_umask", "sha256_file", "write_table", "write_text_atomic"]
