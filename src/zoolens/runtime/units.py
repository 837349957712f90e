"""Work units: the idempotent pieces every run is planned into.

A :class:`WorkUnit` is plain data (JSON-able): which function runs it (``fn``, a
``module:function`` path, so a Ray worker on another machine can import it by
name), its settings (``payload``: model references, data, seeds, …) and the result
parts it writes. A unit is *done* when all its parts exist in the run directory;
parts are written atomically (temp file + rename), so after a ``kill -9`` a unit is
either fully there or not at all, and rerunning the plan executes only the missing
units. The unit function gets ``(payload, run_dir)`` and writes its parts itself —
the driver only gathers outcomes, so an executor never ships result tables around.
"""

from __future__ import annotations

import importlib
import json
import os
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from zoolens.errors import ZoolensError
from zoolens.runtime.rundir import RunDir


@dataclass(frozen=True)
class WorkUnit:
    """One idempotent piece of work.

    Attributes
    ----------
    id:
        Unique within a run, human readable (``criticality:resnet_baseline``).
    fn:
        ``module:function`` called as ``fn(payload, run_dir, context)``.
    payload:
        Everything the unit needs (JSON-able: references, settings).
    parts:
        ``(part_kind, part_id)`` pairs the unit writes; the unit is done when all exist.
    flops:
        Planned floating-point operations (filled by the planner; informational).
    """

    id: str
    fn: str
    payload: dict[str, Any]
    parts: tuple[tuple[str, str], ...]
    flops: float | None = None

    def done(self, run: RunDir) -> bool:
        """True when every part of this unit is in ``run`` (extra files, e.g. caches, are the unit's check)."""
        if not all(run.has_part(k, u) for k, u in self.parts):
            return False
        check = self.payload.get("_done_check")
        return resolve(check)(self.payload, run) if check else True

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["parts"] = [list(p) for p in self.parts]
        return d


@dataclass
class UnitOutcome:
    """What happened to one unit in one invocation."""

    unit: str
    ok: bool
    error: str | None = None
    seconds: float = 0.0
    pid: int | None = None
    host: str | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class UnitsFailed(ZoolensError):
    """Some units failed; the others completed and are kept. Rerunning retries only the failed ones."""

    def __init__(self, failures: dict[str, str], run_path: Path | str | None = None):
        self.failures = dict(failures)
        names = ", ".join(f"{u} ({_first_line(e)})" for u, e in list(failures.items())[:5])
        more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
        where = f" (details: units.jsonl in {run_path})" if run_path is not None else ""
        super().__init__(f"{len(failures)} unit(s) failed: {names}{more}{where}",
                         "fix the cause and rerun the same command: finished units are kept, only these run again")


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:200] if text and text.strip() else "unknown error"


def resolve(path: str) -> Callable[..., Any]:
    """Import ``module:function``."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def execute_unit(unit: WorkUnit | dict[str, Any], run_path: str, context: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """Run one unit in this process and return its outcome as a dict (never raises for unit errors).

    This is what every executor calls, in-process or inside a Ray worker: the unit
    writes its parts into ``run_path`` (a local or shared-filesystem directory).
    The run directory is opened *without* the lock here: the driver holds it for the
    whole run and the workers are its delegates.
    """
    if isinstance(unit, dict):
        unit = WorkUnit(**{**unit, "parts": tuple(tuple(p) for p in unit["parts"])})
    run = RunDir(run_path)
    context = context or {}
    t0 = time.perf_counter()
    try:
        extra = resolve(unit.fn)(unit.payload, run, context) or {}
        ok, err = True, None
    except Exception as exc:  # noqa: BLE001 — a unit's failure is data; the other units go on
        if context.get("fail_fast"):  # in-memory runs (nothing to resume): surface the original error
            raise
        ok, err, extra = False, _describe(exc), {}
    if ok and not all(run.has_part(k, u) for k, u in unit.parts):
        ok, err = False, f"unit {unit.id} finished without writing all its parts {list(unit.parts)}"
    return asdict(UnitOutcome(unit=unit.id, ok=ok, error=err, seconds=time.perf_counter() - t0, pid=os.getpid(),
                              host=os.uname().nodename, extra=dict(extra)))


def _describe(exc: Exception) -> str:
    """One line for user errors; the traceback for bugs (it goes to ``units.jsonl``)."""
    if isinstance(exc, ZoolensError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"


def log_outcomes(run: RunDir, invocation: str, executor: str, outcomes: list[UnitOutcome]) -> None:
    """Append outcomes to ``units.jsonl`` (one JSON line per executed unit, all invocations)."""
    path = run.path / "units.jsonl"
    lines = "".join(json.dumps({"invocation": invocation, "executor": executor, **asdict(o)}, default=str) + "\n"
                    for o in outcomes)
    if lines:
        # O_APPEND: a line is never interleaved with another writer's, and a kill -9 loses at most the tail.
        with open(path, "a") as fh:
            fh.write(lines)


def read_unit_log(run_path: str | Path) -> list[dict[str, Any]]:
    """All records of ``units.jsonl`` (skipping a possibly truncated last line)."""
    path = Path(run_path) / "units.jsonl"
    out = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


__all__ = ["UnitOutcome", "UnitsFailed", "WorkUnit", "execute_unit", "log_outcomes", "read_unit_log", "resolve"]
