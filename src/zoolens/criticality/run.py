"""``criticality(models, config)``: the Python API of a criticality run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from zoolens.criticality.config import CriticalityConfig
from zoolens.criticality.experiment import EXPERIMENT
from zoolens.runtime.driver import run_experiment
from zoolens.runtime.executors import ExecutorConfig


def criticality(models: Sequence[str] | str, config: CriticalityConfig | None = None, *,
                out: str | Path | None = None, executor: ExecutorConfig | str | None = None,
                progress: bool = False, **settings: Any) -> pd.DataFrame:
    """Layer criticality of one or more models (criticality paper, Sec. 3).

    For every layer l and seed s: criticality(l, s) = (1/n) Σ_i [1 − cos(p(x_i), p_{l,s}(x_i))],
    with p = softmax of the model's logits and p_{l,s} the same after replacing l's
    parameters per ``randomize`` (seeded). Also top-1 agreement, accuracy after
    randomization (when the data's classes match the model's), L1/L2 distances of the
    probability vectors and the count of non-finite outputs.

    Parameters
    ----------
    models:
        Model references (``timm:...``, ``zoo:fmnist-mini/NAME``, ...).
    config:
        A :class:`~zoolens.criticality.config.CriticalityConfig` (default: its defaults).
    out:
        Run directory; each model is a resumable unit and the tables are written there
        (default: a temporary directory, removed afterwards).
    executor:
        ``local`` (in-process) or ``ray``, or an :class:`~zoolens.runtime.ExecutorConfig`.
        A failing unit does not stop the others; the call then raises
        :class:`~zoolens.runtime.units.UnitsFailed` naming it, and rerunning retries only it.
    progress:
        Show a progress bar per model.
    **settings:
        Conveniences forwarded to the config, e.g. ``n_images=200, seeds=5`` (they
        override the fields of ``config``).

    Returns
    -------
    pandas.DataFrame
        One row per (model, layer, seed), columns ``ROW_COLUMNS``; ``.attrs["models"]``
        holds one summary row per model.
    """
    if isinstance(models, str):
        models = [models]
    models = list(models)
    config = dataclasses.replace(config, **settings) if config is not None else CriticalityConfig(**settings)
    return run_experiment(EXPERIMENT, models, config, out=out, executor=executor, progress=progress)


__all__ = ["criticality"]
