"""Run directories, work units and their atomic result parts."""

from zoolens.runtime.rundir import RunDir

__all__ = ["RunDir"]
