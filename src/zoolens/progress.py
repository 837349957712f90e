"""Progress bars (rich), quiet when not wanted or not on a terminal-like stream."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")


def track(items: Iterable[T], *, description: str, total: int | None = None, enabled: bool = True) -> Iterator[T]:
    """Iterate with a rich progress bar (with ETA) when ``enabled``."""
    if not enabled:
        yield from items
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


@contextmanager
def step_bar(description: str, total: int, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar for a loop that reports its own steps (e.g. a training callback).

    Yields ``update(completed)``, which moves the bar to ``completed`` of ``total`` (a no-op when
    not ``enabled``).
    """
    if not enabled:
        yield lambda _completed: None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda completed: progress.update(task, completed=completed)
