"""``zoolens doctor``: print the environment checks of :mod:`zoolens.doctor`, exit 1 when one fails."""

from __future__ import annotations

from pathlib import Path

import typer

from zoolens.errors import ZoolensError


def doctor_command(
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Where your runs go (checked for free space)."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """Check the environment: versions, data, image cache and weights checksums, free disk space."""
    from zoolens.doctor import diagnose
    from zoolens.cli.render import emit

    if fmt not in ("table", "csv", "json"):
        raise ZoolensError(f"unknown --format {fmt!r}", "use table, csv or json")
    df = diagnose(out)
    emit(df, fmt, title="zoolens doctor")
    failed = df[df["status"] == "fail"]
    if fmt == "table":
        typer.echo("all checks passed" if failed.empty else f"{len(failed)} check(s) failed: see the fix column")
    if not failed.empty:  # exit 1, not 2: the input was fine, the environment is not
        raise typer.Exit(1)


__all__ = ["doctor_command"]
