"""The Python API of ``distill`` runs: :func:`run_distill`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from zoolens.distill.config import TEACHER_PRESET, DistillConfig
from zoolens.distill.experiment import EXPERIMENT
from zoolens.runtime.driver import run_experiment
from zoolens.runtime.executors import ExecutorConfig


def run_distill(teachers: Sequence[str] | None = None, config: DistillConfig | None = None, *,
                out: str | Path | None = None, executor: ExecutorConfig | str | None = None,
                progress: bool = False, **settings: Any) -> pd.DataFrame:
    """Hard-distil one ViT student from each teacher; measure SAT(teacher, baseline) (SAT paper Sec. 5.2, App. E).

    Parameters
    ----------
    teachers:
        Model references (default: :data:`~zoolens.distill.config.TEACHER_PRESET`, every family and
        training method of the mini zoo).
    config, **settings:
        A :class:`DistillConfig`, or its fields (e.g. ``epochs=2, n_images=500, steps=50``).
    out:
        Run directory (default: a temporary one, removed afterwards). Resumable: a rerun trains only
        the students that are missing; more teachers later add only their own units.
    executor:
        ``local`` (default) or ``ray`` (or an :class:`ExecutorConfig`).

    Returns
    -------
    pandas.DataFrame
        The ``distill`` table: one row per teacher (``teacher, family, transformer, teacher_acc,
        student_acc, sat, sat_ci_low, sat_ci_high, …``).
    """
    config = dataclasses.replace(config, **settings) if config is not None else DistillConfig(**settings)
    refs = [str(t) for t in (teachers if teachers is not None else TEACHER_PRESET)]
    return run_experiment(EXPERIMENT, refs, config, out=out, executor=executor, progress=progress)


__all__ = ["run_distill"]
