"""The Python API of ``measures`` runs: :func:`run_measures`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from zoolens.runtime.driver import run_experiment
from zoolens.runtime.executors import ExecutorConfig
from zoolens.similarity.measures.config import MeasuresConfig
from zoolens.similarity.measures.experiment import EXPERIMENT


def run_measures(models: Sequence[str], config: MeasuresConfig | None = None, *, out: str | Path | None = None,
                 executor: ExecutorConfig | str | None = None, progress: bool = False,
                 **settings: Any) -> pd.DataFrame:
    """Linear CKA, error consistency, disagreement, Somepalli and Tramèr similarity of every pair of ``models``.

    Parameters
    ----------
    models:
        Model references (``zoo:fmnist-mini/NAME``, ``timm:…``, ``py:…``), at least two.
    config, **settings:
        A :class:`MeasuresConfig`, or its fields (e.g. ``n_images=200, measures="cka,disagreement"``).
    out:
        Run directory (default: a temporary one, removed afterwards). Resumable; more models later
        compute only the new models' units.

    Returns
    -------
    pandas.DataFrame
        The ``measures`` table, one row per pair; ``attrs["models"]`` is the per-model table.
    """
    config = dataclasses.replace(config, **settings) if config is not None else MeasuresConfig(**settings)
    return run_experiment(EXPERIMENT, [str(m) for m in models], config, out=out, executor=executor,
                          progress=progress)


__all__ = ["run_measures"]
