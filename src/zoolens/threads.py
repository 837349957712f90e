"""How many threads and workers fit this machine: workers × threads never exceed the cores.

Three places run torch in several processes at once: Ray workers (one per reserved
``cpus_per_unit``), ``zoolens zoo train --jobs`` (one process per model, each with its
recipe's fixed thread count) and the in-process run (torch's default: every core). Each
asks these pure helpers, so the arithmetic lives in one place and is tested once.
"""

from __future__ import annotations

import math
import os
import warnings

from zoolens.errors import ZoolensError


class OversubscriptionWarning(UserWarning):
    """More worker threads than cores: some had to be cut, or every worker already has only one."""


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, e.g. under ``taskset`` or a container)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS / Windows have no affinity mask
        return max(1, os.cpu_count() or 1)


def threads_per_worker(cores: int, workers: int, requested: int | None = None) -> int:
    """Intra-op threads for each of ``workers`` concurrent workers on ``cores`` cores.

    Without ``requested``: ``max(1, cores // workers)``. With it: ``requested``, cut down
    so that ``workers × threads ≤ cores`` (an :class:`OversubscriptionWarning` says so).
    A worker has at least one thread, so more workers than cores oversubscribe whatever
    is returned (also warned about when ``requested`` was given).
    """
    if cores < 1 or workers < 1:
        raise ValueError(f"cores and workers must be ≥ 1, got {cores} and {workers}")
    fit = max(1, cores // workers)
    if requested is None:
        return fit
    if isinstance(requested, bool) or int(requested) != requested or requested < 1:
        raise ZoolensError(f"threads per worker must be a whole number ≥ 1, got {requested!r}", "give e.g. 1")
    requested = int(requested)
    if workers * requested <= cores:
        return requested
    if workers > cores:
        warnings.warn(f"{workers} workers on {cores} cores: each runs 1 thread, and they still share the cores",
                      OversubscriptionWarning, stacklevel=2)
    else:
        warnings.warn(f"{requested} threads × {workers} workers exceed {cores} cores: using {fit} thread(s) each",
                      OversubscriptionWarning, stacklevel=2)
    return fit


def ray_unit_threads(cpus_per_unit: float, cores: int) -> int:
    """Intra-op threads of a Ray task that reserved ``cpus_per_unit`` CPUs on a node with ``cores`` cores.

    Ray runs at most ``cores / cpus_per_unit`` such tasks at once on the node, so
    ``⌊cpus_per_unit⌋`` threads each keep workers × threads ≤ cores. A fraction below one
    CPU (or 0: units bound by their GPU) gets one thread.
    """
    if cpus_per_unit < 1:
        return 1
    workers = max(1, math.floor(cores / cpus_per_unit))
    return threads_per_worker(cores, workers, requested=math.floor(cpus_per_unit))


def fit_jobs(cores: int, threads: int, tasks: int, requested: int | None = None) -> tuple[int, str | None]:
    """Processes to run at once when each uses ``threads`` threads: ``(jobs, notice)``.

    The most that fit is ``max(1, cores // threads)``; the default takes that many, never
    more than ``tasks``. A ``requested`` count above what fits is cut down, and ``notice``
    (otherwise ``None``) is the one line to show the user.
    """
    if threads < 1 or cores < 1:
        raise ValueError(f"cores and threads must be ≥ 1, got {cores} and {threads}")
    fit = max(1, cores // threads)
    if requested is None:
        return max(1, min(fit, tasks)), None
    if requested < 1:
        raise ZoolensError(f"jobs must be ≥ 1, got {requested}", "give e.g. --jobs 1")
    if requested <= fit:
        return max(1, min(requested, tasks)), None
    notice = (f"--jobs {requested} × {threads} thread(s) would exceed this machine's {cores} core(s): "
              f"running {fit} job(s) at once")
    return max(1, min(fit, tasks)), notice


__all__ = ["OversubscriptionWarning", "available_cores", "fit_jobs", "ray_unit_threads", "threads_per_worker"]
