"""Rendering DataFrames for the CLI (``--format table|csv|json``) and atomic table writes."""

from __future__ import annotations

import contextlib
import enum
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd


class OutputFormat(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"


def emit(df: pd.DataFrame, fmt: OutputFormat | str = "table", *, title: str | None = None) -> None:
    """Print ``df`` to stdout as a rich table, CSV or JSON records."""
    fmt = OutputFormat(fmt)
    if fmt is OutputFormat.csv:
        sys.stdout.write(df.to_csv(index=False))
    elif fmt is OutputFormat.json:
        sys.stdout.write(df.to_json(orient="records", indent=1) + "\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for col in df.columns:
            table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
        for row in df.itertuples(index=False):
            table.add_row(*[_fmt(v) for v in row])
        Console().print(table)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


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
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_atomic(df: pd.DataFrame, path: str | os.PathLike, **csv_kwargs) -> None:
    """Write a table as Parquet (``.parquet``) or CSV, via a temp file and rename."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, **{"index": False, **csv_kwargs})
