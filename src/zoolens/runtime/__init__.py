"""Run directories, work units, executors (local, Ray), the experiment protocol, study files and cost planning.

The runtime knows no experiment: each one (criticality, SAT, …) is an object of the
:class:`~zoolens.runtime.experiment.Experiment` protocol, found by name in its registry.
"""

from zoolens.runtime.driver import run_experiment
from zoolens.runtime.executors import ExecutorConfig, make_executor, run_units
from zoolens.runtime.experiment import Experiment, experiments, get_experiment, register_experiment
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import UnitsFailed, WorkUnit

__all__ = ["Experiment", "ExecutorConfig", "RunDir", "UnitsFailed", "WorkUnit", "experiments", "get_experiment",
           "make_executor", "register_experiment", "run_experiment", "run_units"]
