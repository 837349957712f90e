"""Rendering DataFrames for the CLI (``--format table|csv|json``)."""

from __future__ import annotations

import enum
import sys

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
