"""The experiment protocol: what an experiment gives the runtime, and the registry of experiments.

The runtime (run directories, units, executors, studies, plans) never imports an
experiment. Each experiment is an object with the methods of :class:`Experiment`;
it is registered under its name, which is also its study-file section and the
sub-directory a study writes it to. Built-in experiments are declared as entry
points (group ``zoolens.experiments`` in ``pyproject.toml``), so a plug-in package
adds one the same way; :func:`register_experiment` adds one at run time, and
:func:`declare_experiment` names one by ``module:attribute`` without importing it (loaded
with the entry points, when the registry is first read).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ContextManager, Iterator, Protocol, Sequence, runtime_checkable

from zoolens.errors import ZoolensError

if TYPE_CHECKING:  # typing only: plan imports nothing from here at run time
    from zoolens.runtime.executors import Executor, StageReport
    from zoolens.runtime.plan import PlannedUnit
    from zoolens.runtime.rundir import RunDir
    from zoolens.runtime.units import WorkUnit

GROUP = "zoolens.experiments"


@runtime_checkable
class Experiment(Protocol):
    """What every experiment provides.

    Attributes
    ----------
    name:
        Registry key, study-file section (``[criticality]``) and the run directory's kind.
    config_class:
        Its settings dataclass (fields made with :func:`zoolens.config.setting`).

    Optionally, ``roles``: the model roles it accepts (SAT: ``full``, ``source``, ``target``);
    a study passes its ``[models] one_sided`` table to such an experiment, and only to it, as
    ``context["roles"]``.
    """

    name: str
    config_class: type

    def preflight(self, models: Sequence[str], config: Any) -> None:
        """Check references, data and settings before anything is written."""

    def result_spec(self, config: Any) -> dict[str, Any]:
        """What determines the results (the run directory refuses to resume under another)."""

    def progress(self, enabled: bool) -> ContextManager[Any]:
        """The progress display handed to units as ``context["progress"]``."""

    def stages(self, run: "RunDir", models: Sequence[str], config: Any, context: dict[str, Any]
               ) -> Iterator[list["WorkUnit"]]:
        """The work units, stage by stage: a stage is planned after the previous one ran."""

    def assemble(self, run: "RunDir", models: Sequence[str], config: Any, report: "StageReport",
                 executor: "Executor", context: dict[str, Any]) -> Any:
        """Read the parts, publish the tables and the manifest; return the result.

        ``context`` is the one :meth:`stages` saw (a stage may leave notes there, e.g. timings).
        """

    def cost(self, models: Sequence[str], config: Any) -> list["PlannedUnit"]:
        """Every unit's planned passes and FLOPs, from the architectures alone."""


_REGISTRY: dict[str, Experiment] = {}
_DECLARED: dict[str, str] = {}
_LOADED = False


def register_experiment(experiment: Experiment) -> Experiment:
    """Add ``experiment`` under ``experiment.name`` (replacing one of the same name)."""
    if not isinstance(experiment, Experiment):
        raise ZoolensError(f"{experiment!r} is not an experiment", "give an object with the Experiment methods")
    _REGISTRY[experiment.name] = experiment
    return experiment


def declare_experiment(name: str, path: str) -> None:
    """Register the experiment at ``path`` (``module:attribute``) under ``name`` when the registry is first read.

    Like an entry point of group ``zoolens.experiments`` (which wins when both name one), for
    experiments of an installation whose package metadata does not list them.
    """
    _DECLARED.setdefault(name, path)


def _load_entry_points() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    declared = dict(_DECLARED)
    for ep in entry_points(group=GROUP):
        declared.pop(ep.name, None)
        if ep.name not in _REGISTRY:
            register_experiment(ep.load())
    for name, path in declared.items():
        if name not in _REGISTRY:
            module, _, attr = path.partition(":")
            register_experiment(getattr(import_module(module), attr))


def experiments() -> dict[str, Experiment]:
    """Every registered experiment, by name."""
    _load_entry_points()
    return dict(_REGISTRY)


def get_experiment(name: str) -> Experiment:
    """The experiment registered as ``name``."""
    found = experiments()
    if name not in found:
        raise ZoolensError(f"unknown experiment {name!r}",
                           f"use one of {', '.join(sorted(found)) or '(none registered: reinstall zoolens)'}")
    return found[name]


__all__ = ["Experiment", "GROUP", "declare_experiment", "experiments", "get_experiment", "register_experiment"]
