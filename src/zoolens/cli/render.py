"""Rendering DataFrames for the CLI (``--format table|csv|json``).

A table fits the terminal: the identifying columns (names) and the numbers are never
cut — they wrap if they must — and other text is abbreviated in the middle
(``/work/ru…/resnet.safetensors``), where the start and the end that tell values apart
survive. ``--format csv`` and ``json`` are always complete. Rich only cuts cells at
their end, so the budget is computed here.
"""

from __future__ import annotations

import enum
import sys
from typing import Sequence

import pandas as pd

MIN_TEXT = 7  # an abbreviated text cell keeps at least this many characters ("abc…xyz")
ELLIPSIS = "…"


class OutputFormat(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"


def abbreviate_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut in the middle (``"resnet_b…seline"``)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = width // 2
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def wrap_hard(text: str, width: int) -> str:
    """``text`` in lines of at most ``width`` characters (every character kept)."""
    width = max(width, 1)
    return "\n".join(text[i:i + width] for i in range(0, len(text), width)) or text


def header_lines(name: str, width: int) -> str:
    """A column header broken after underscores (then hard) to fit ``width``: ``input_size`` → ``input_`` / ``size``."""
    if len(name) <= width:
        return name
    lines, line = [], ""
    for part in name.replace("_", "_\0").split("\0"):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    lines.append(line)
    return "\n".join(wrap_hard(l, width) for l in lines)


def _header_floor(name: str) -> int:
    return max(len(p) for p in name.replace("_", "_\0").split("\0"))


def fit_widths(natural: Sequence[int], shrinkable: Sequence[bool], available: int, minimum: int = MIN_TEXT
               ) -> list[int]:
    """Column widths whose table (with rich's borders and padding) fits ``available`` characters.

    Only ``shrinkable`` columns shrink, the widest first, never below ``minimum`` (or their
    natural width); the result may still be wider than ``available`` when the fixed
    columns alone are.
    """
    widths = list(natural)
    overhead = 3 * len(widths) + 1  # "│ " before each cell, " " after, and the closing "│"
    excess = sum(widths) + overhead - available
    while excess > 0:
        candidates = [i for i, w in enumerate(widths) if shrinkable[i] and w > minimum]
        if not candidates:
            break
        i = max(candidates, key=lambda j: widths[j])
        others = [widths[j] for j in candidates if j != i]
        floor = max(minimum, max(others, default=minimum))  # shrink to the next widest, then together
        step = min(excess, widths[i] - floor) or 1
        widths[i] -= step
        excess -= step
    return widths


def emit(df: pd.DataFrame, fmt: OutputFormat | str = "table", *, title: str | None = None,
         keys: Sequence[str] | None = None, width: int | None = None) -> None:
    """Print ``df`` to stdout as a rich table, CSV or JSON records.

    Parameters
    ----------
    keys:
        The columns that identify a row (default: the first); a table never cuts them.
    width:
        The terminal width (default: rich's, which reads ``COLUMNS`` and the terminal).
    """
    fmt = OutputFormat(fmt)
    if fmt is OutputFormat.csv:
        sys.stdout.write(df.to_csv(index=False))
        return
    if fmt is OutputFormat.json:
        sys.stdout.write(df.to_json(orient="records", indent=1) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(width=width)
    keys = {str(k) for k in (keys if keys is not None else list(df.columns[:1]))}
    names = [str(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    cells = [[_fmt(v) for v in row] for row in df.itertuples(index=False)]
    natural = [max([len(r[i]) for r in cells] + [_header_floor(n)]) for i, n in enumerate(names)]
    shrinkable = [n not in keys and not num for n, num in zip(names, numeric)]
    widths = fit_widths(natural, shrinkable, console.width)  # abbreviated in the middle down to MIN_TEXT
    wrapped = fit_widths(widths, shrinkable, console.width, minimum=3)  # narrower still: wrapped, not cut
    # Names and numbers alone too wide (many columns): they wrap as well, since rich would crop the table's edge.
    # Names and numbers alone too wide (many columns): rich would crop the table's right edge, so the
    # numbers wrap, and if that is not enough, the names too.
    def crowded(w: list[int]) -> bool:
        return sum(w) + 3 * len(w) + 1 > console.width

    folded = [False] * len(names)
    if crowded(wrapped):
        wrapped = fit_widths(wrapped, [n not in keys for n in names], console.width, minimum=3)
        folded = [n not in keys and not shrinkable[i] for i, n in enumerate(names)]
    if crowded(wrapped):
        wrapped = fit_widths(wrapped, [True] * len(names), console.width, minimum=3)
        folded = [not s for s in shrinkable]
    table = Table(title=title)
    for i, name in enumerate(names):
        table.add_column(header_lines(name, wrapped[i]), justify="right" if numeric[i] else "left", overflow="fold",
                         min_width=natural[i] if name in keys and not folded[i] else None,
                         max_width=wrapped[i] if folded[i] else None)
    for row in cells:
        table.add_row(*[_fit(v, widths[i], wrapped[i]) if shrinkable[i]
                        else wrap_hard(v, wrapped[i]) if folded[i] else v for i, v in enumerate(row)])
    console.print(table)


def _fit(text: str, abbreviated: int, wrapped: int) -> str:
    if wrapped < abbreviated:  # no room even for an abbreviation: show it all, wrapped
        return wrap_hard(text, wrapped)
    return abbreviate_middle(text, abbreviated)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


__all__ = ["OutputFormat", "abbreviate_middle", "emit", "fit_widths", "header_lines", "wrap_hard"]
