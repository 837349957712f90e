"""Run directories, work units, executors (local, Ray), study files and cost planning."""

from zoolens.runtime.executors import ExecutorConfig, make_executor, run_units
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import UnitsFailed, WorkUnit

__all__ = ["ExecutorConfig", "RunDir", "UnitsFailed", "WorkUnit", "make_executor", "run_units"]
