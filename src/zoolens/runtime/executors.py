"""Executors: who runs the work units — this process (``local``) or a Ray cluster (``ray``).

Both call the same :func:`~zoolens.runtime.units.execute_unit`, which writes the
unit's parts into the run directory, so the tables are identical whichever executor
ran them. The driver (:func:`run_units`) skips finished units, hands the rest to the
executor, logs every outcome to ``units.jsonl`` and reports failures without losing
the units that completed.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ContextManager, Iterable, Iterator, Protocol

from zoolens.config import integer, label, number, one_of, setting, text, validate
from zoolens.errors import ZoolensError
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import UnitOutcome, WorkUnit, execute_unit, log_outcomes
from zoolens.threads import available_cores, ray_unit_threads

EXECUTORS = ("local", "ray")


def _runtime_env(value: Any, label_: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise ZoolensError(f"{label_} must be a table, got {value!r}", 'e.g. runtime_env = {pip = ["timm"]}')
    return value


@dataclass
class ExecutorConfig:
    """How to run units (the ``[executor]`` table of a study file; ``--executor`` etc. on the CLI).

    Attributes
    ----------
    kind:
        ``local`` (in-process, default) or ``ray``.
    address:
        Ray cluster address (``auto``, ``ray://host:10001``); ``None`` starts a local Ray instance.
    gpus_per_unit, cpus_per_unit:
        Resources Ray reserves per unit (fractions allowed: 0.5 GPU packs two units per GPU).
        A unit runs torch with ⌊cpus_per_unit⌋ intra-op threads (at least one), so the units
        Ray runs at once on a node never use more threads than the node has cores.
    max_retries:
        How often Ray reruns a unit whose worker *died* (OOM kill, node loss). Errors raised by
        the unit itself are not retried: they are reported, and a rerun retries them.
    runtime_env:
        Ray ``runtime_env``; default puts the driver's working directory on ``PYTHONPATH`` so
        workers import the same code (zoolens itself is importable where it is installed).
    """

    kind: str = setting("local", check=one_of(EXECUTORS), flag="--executor", help="local (in-process) or ray.")
    address: str | None = setting(None, check=text(allow_none=True, example="127.0.0.1:6379"),
                                  help="Ray cluster address (default: start a local Ray instance).")
    gpus_per_unit: float = setting(0.0, check=number(minimum=0),
                                   help="GPUs Ray reserves per work unit (fractions allowed).")
    cpus_per_unit: float = setting(1.0, check=number(minimum=0), help="CPUs Ray reserves per work unit.")
    max_retries: int = setting(3, check=integer(0), help="Ray retries of a unit whose worker died.")
    runtime_env: dict[str, Any] | None = setting(None, check=_runtime_env, help="Ray runtime_env (a table).")

    def __post_init__(self) -> None:
        validate(self)

    def validate(self) -> "ExecutorConfig":
        """Already checked on construction; kept so a config built elsewhere can be re-checked."""
        validate(self)
        return self

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check_fits(self, cores: int) -> None:
        """Refuse units that reserve more CPUs than a local Ray instance on ``cores`` cores has: none would start."""
        if self.cpus_per_unit > cores:
            raise ZoolensError(f"{label(self, 'cpus_per_unit')} is {self.cpus_per_unit:g} but this machine has {cores} "
                               "CPU core(s): a local Ray instance would never schedule a unit",
                               f"use --cpus-per-unit {cores} or less, or --address of a Ray cluster with larger nodes")


class Executor(Protocol):
    name: str

    def run(self, units: list[WorkUnit], run_path: str, context: dict[str, Any],
            on_done: Callable[[UnitOutcome], None]) -> list[UnitOutcome]: ...

    def session(self) -> ContextManager[Any]:
        """Hold what :meth:`run` sets up (a Ray connection and its worker processes) across the runs inside."""
        ...


class LocalExecutor:
    """Runs units one after the other in this process (in-memory model objects allowed via ``context``)."""

    name = "local"

    def session(self) -> ContextManager[Any]:
        return contextlib.nullcontext(self)

    def run(self, units: list[WorkUnit], run_path: str, context: dict[str, Any],
            on_done: Callable[[UnitOutcome], None]) -> list[UnitOutcome]:
        out = []
        for unit in units:
            outcome = UnitOutcome(**execute_unit(unit, run_path, context))
            on_done(outcome)
            out.append(outcome)
        return out


def _ray_task(unit: dict[str, Any], run_path: str, cpus_per_unit: float = 1.0) -> dict[str, Any]:
    """The Ray task body: a worker runs the unit and writes its parts itself.

    Ray reuses a worker process for tasks of other sizes, so each task sets its own
    intra-op thread count (:func:`~zoolens.threads.ray_unit_threads`): the tasks Ray runs
    at once on a node (by ``num_cpus``) then never use more threads than its cores.
    """
    import torch

    torch.set_num_threads(ray_unit_threads(cpus_per_unit, available_cores()))
    return execute_unit(unit, run_path)


class RayExecutor:
    """Runs units as Ray tasks: ``ray.remote(max_retries=…, num_cpus=…, num_gpus=…)``.

    Uses the running Ray instance if this process already called ``ray.init``;
    otherwise connects to ``address`` or starts a local instance, and disconnects (or
    shuts it down) at the end of :meth:`run`, or at the end of the :meth:`session` that
    :meth:`run` was called in: a run's stages then share one connection and Ray's warm
    worker processes, which would otherwise be started (and import torch) again for
    every stage. The run directory must be reachable by every worker at the same
    path (local disk for one machine, a shared filesystem for a cluster).
    """

    name = "ray"

    def __init__(self, config: ExecutorConfig):
        ray = sys.modules.get("ray")
        if config.address is None and not (ray is not None and ray.is_initialized()):
            config.check_fits(available_cores())  # this process will start a local instance: before anything is written
        self.config = config
        self._started = False  # this executor called ray.init (and so calls ray.shutdown)
        self._sessions = 0  # open sessions (they nest: a study's holds its experiments')

    @contextlib.contextmanager
    def session(self) -> Iterator["RayExecutor"]:
        self._sessions += 1
        try:
            yield self
        finally:
            self._sessions -= 1
            if not self._sessions:
                self._shutdown()

    def _shutdown(self) -> None:
        if self._started:
            import ray

            self._started = False
            ray.shutdown()

    def _runtime_env(self) -> dict[str, Any]:
        if self.config.runtime_env is not None:
            return self.config.runtime_env
        # Workers import by name (unit fns, py: model refs): give them the driver's import roots.
        paths = [os.getcwd()] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}

    def run(self, units: list[WorkUnit], run_path: str, context: dict[str, Any],
            on_done: Callable[[UnitOutcome], None]) -> list[UnitOutcome]:
        if context.get("objects"):
            raise ZoolensError("in-memory model objects cannot be sent to Ray workers",
                               "pass model references (timm:/zoo:/py:) or use executor='local'")
        try:
            import ray
        except ImportError:
            raise ZoolensError("executor 'ray' needs the ray package", "pip install 'zoolens[ray]'") from None
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.config.address:
                kw["address"] = self.config.address
            ray.init(**kw)
            self._started = True
        try:
            task = ray.remote(_ray_task).options(
                num_cpus=self.config.cpus_per_unit, num_gpus=self.config.gpus_per_unit,
                max_retries=self.config.max_retries, retry_exceptions=False, runtime_env=self._runtime_env())
            pending = {task.remote(u.as_dict(), run_path, self.config.cpus_per_unit): u for u in units}
            out: list[UnitOutcome] = []
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    unit = pending.pop(ref)
                    try:
                        outcome = UnitOutcome(**ray.get(ref))
                    except Exception as exc:  # noqa: BLE001 — worker died more than max_retries times
                        outcome = UnitOutcome(unit=unit.id, ok=False, attempts=self.config.max_retries + 1,
                                              error=f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}")
                    on_done(outcome)
                    out.append(outcome)
            return out
        finally:
            if not self._sessions:
                self._shutdown()


def make_executor(config: ExecutorConfig | str | Executor | None) -> Executor:
    """An executor from a config (or its kind); an executor is returned as it is."""
    if isinstance(config, (LocalExecutor, RayExecutor)):
        return config
    if config is None:
        config = ExecutorConfig()
    elif isinstance(config, str):
        config = ExecutorConfig(kind=config)
    config.validate()
    return LocalExecutor() if config.kind == "local" else RayExecutor(config)


@dataclass
class StageReport:
    """What one :func:`run_units` call did."""

    planned: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def merge(self, other: "StageReport") -> "StageReport":
        return StageReport(self.planned + other.planned, self.already_done + other.already_done,
                           self.executed + other.executed, {**self.failed, **other.failed},
                           self.seconds + other.seconds)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_units(run: RunDir, units: Iterable[WorkUnit], executor: Executor, *, context: dict[str, Any] | None = None,
              invocation: str | None = None, progress: Callable[[UnitOutcome], None] | None = None) -> StageReport:
    """Run the units of ``run`` that are not done yet; log outcomes; never raise for unit failures.

    The caller holds ``run``'s lock. Failures are returned in ``report.failed``
    (the caller decides whether to go on with the units that do not depend on them).
    """
    units = list(units)
    ids = [u.id for u in units]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate unit ids in plan: {ids}")
    invocation = invocation or uuid.uuid4().hex[:12]
    report = StageReport(planned=ids)
    todo = []
    for u in units:
        if u.done(run):
            report.already_done.append(u.id)
        else:
            todo.append(u)
    t0 = time.perf_counter()

    def on_done(o: UnitOutcome) -> None:
        log_outcomes(run, invocation, executor.name, [o])  # at once: a killed driver keeps the record
        if progress is not None:
            progress(o)

    if todo:
        outcomes = executor.run(todo, str(run.path), context or {}, on_done)
        for o in outcomes:
            if o.ok:
                report.executed.append(o.unit)
            else:
                report.failed[o.unit] = o.error or "unknown error"
                print(f"zoolens: unit {o.unit} failed: {(o.error or '').strip().splitlines()[0][:300]}",
                      file=sys.stderr)
    report.seconds = time.perf_counter() - t0
    return report


__all__ = ["EXECUTORS", "Executor", "ExecutorConfig", "LocalExecutor", "RayExecutor", "StageReport", "make_executor",
           "run_units"]
