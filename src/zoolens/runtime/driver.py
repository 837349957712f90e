"""One driver for every experiment: preflight, run directory, stages of units, assemble.

Each experiment (see :mod:`zoolens.runtime.experiment`) says *what* to compute; this
says *how*: the directory is created only after the preflight passed, finished units
are skipped on resume, failed units are reported without losing the others, and the
tables are published all together or not at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

from zoolens.runtime.executors import Executor, ExecutorConfig, StageReport, make_executor, run_units
from zoolens.runtime.experiment import Experiment
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import UnitsFailed


def executor_config(executor: ExecutorConfig | str | None) -> ExecutorConfig:
    """``None`` (local), a kind (``"ray"``) or a config, as a validated :class:`ExecutorConfig`."""
    if executor is None:
        return ExecutorConfig()
    if isinstance(executor, str):
        return ExecutorConfig(kind=executor)
    return executor.validate()


def run_experiment(experiment: Experiment, models: Sequence[str], config: Any, *, out: str | Path | None,
                   executor: ExecutorConfig | str | Executor | None = None, progress: bool = False,
                   context: dict[str, Any] | None = None, fail_fast: bool | None = None,
                   preflight: bool = True) -> Any:
    """Run ``experiment`` on ``models`` with ``config`` into the run directory ``out``.

    Parameters
    ----------
    out:
        The run directory; ``None`` runs in a temporary one that is removed afterwards.
    executor:
        Where units run (:class:`ExecutorConfig`, or its kind), or an executor of
        :func:`~zoolens.runtime.executors.make_executor` (a study passes one to all its
        experiments, so they share its session).
    context:
        Extra entries for the units' context (e.g. in-memory model objects).
    fail_fast:
        Raise a unit's own error at once (default: for in-memory runs on the local executor,
        where there is nothing to resume).
    preflight:
        ``False`` when the caller already ran ``experiment.preflight``.

    Returns
    -------
    Whatever ``experiment.assemble`` returns.
    """
    runner = make_executor(executor)
    if preflight:
        experiment.preflight(models, config)  # a typo must not reach the directory
    if out is None:
        with tempfile.TemporaryDirectory(prefix=f"zoolens-{experiment.name}-") as tmp:
            return _run(experiment, models, config, Path(tmp), runner, progress, context or {},
                        runner.name == "local" if fail_fast is None else fail_fast)
    return _run(experiment, models, config, Path(out), runner, progress, context or {}, bool(fail_fast))


def _run(experiment: Experiment, models: Sequence[str], config: Any, out: Path, runner: Executor,
         progress: bool, extra: dict[str, Any], fail_fast: bool) -> Any:
    run = RunDir(out, experiment.result_spec(config), kind=experiment.name)
    report: StageReport | None = None
    # one executor session for all stages (and assemble): Ray keeps its connection and warm workers between them
    with runner.session(), run.open(), experiment.progress(progress) as bar:
        context = {**extra, "progress": bar, "fail_fast": fail_fast}
        for units in experiment.stages(run, models, config, context):
            stage = run_units(run, units, runner, context=context)
            report = stage if report is None else report.merge(stage)
        report = report or StageReport(planned=[])
        if report.failed:
            run.write_manifest({"models": list(models), "units": report.as_dict(), "complete": False})
            raise UnitsFailed(report.failed, run.path)
        with run.publishing():  # all tables or none (a full disk here leaves a resumable directory)
            return experiment.assemble(run, models, config, report, runner, context)


__all__ = ["executor_config", "run_experiment"]
