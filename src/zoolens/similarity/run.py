"""The Python API of SAT runs: ``run_sat``, ``sat_matrix`` and ``add_model``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import torch

from zoolens.errors import ZoolensError
from zoolens.models.refs import display_name
from zoolens.runtime.driver import run_experiment
from zoolens.runtime.executors import ExecutorConfig
from zoolens.similarity.assemble import SatResult
from zoolens.similarity.config import SatConfig
from zoolens.similarity.experiment import EXPERIMENT
from zoolens.similarity.members import ROLES

KIND = EXPERIMENT.name


def run_sat(models: Sequence[str | torch.nn.Module], config: SatConfig | None = None, *,
            out: str | Path | None = None, roles: dict[str, str] | None = None,
            executor: ExecutorConfig | str | None = None, progress: bool = False, **settings: Any) -> SatResult:
    """Compute SAT (Eq. 1 of the SAT paper) between models, resumably, in a run directory.

    Parameters
    ----------
    models:
        References (``zoo:fmnist-mini/NAME``, ``timm:…``, ``py:…``) or
        :class:`~zoolens.models.WrappedModel` objects (named by their ``.name``).
        Models already registered in ``out`` (an earlier run) are included as well.
    config:
        A :class:`~zoolens.similarity.config.SatConfig` (default: PGD-50, ε = 8/255,
        α = 2/255, random start, 500 images).
    out:
        Run directory (default: a temporary one, removed afterwards).
    roles:
        ``{name: full|source|target}`` for the given models (default ``full``).
    executor:
        ``local`` (in-process) or ``ray``, or an :class:`~zoolens.runtime.ExecutorConfig`. Units:
        ``sat:attack:M`` (clean predictions + attack of M), ``sat:eval:T`` (target T on every
        source's adversarials). A failing unit does not stop the others; the call then
        raises :class:`~zoolens.runtime.units.UnitsFailed` and a rerun retries only it.
    progress:
        Show rich progress bars.
    **settings:
        Conveniences forwarded to the config (e.g. ``n_images=200, steps=10``, or
        ``attack=AttackConfig(...)`` for all the attack fields at once).

    Returns
    -------
    SatResult
        SAT matrix, CIs, transfer tables, clean predictions, white-box attack table.
    """
    settings = SatConfig.expand(settings)  # attack=AttackConfig(...) forwards to the attack fields
    config = dataclasses.replace(config, **settings) if config is not None else SatConfig(**settings)
    objects: dict[str, torch.nn.Module] = {}
    given: list[tuple[str, str]] = []
    for m in models:
        if isinstance(m, torch.nn.Module):
            name = str(getattr(m, "name", None) or type(m).__name__)
            objects[name] = m
            given.append((name, name))
        else:
            given.append((display_name(str(m)), str(m)))
    roles = dict(roles or {})
    for r in roles.values():
        if r not in ROLES:
            raise ZoolensError(f"unknown role {r!r}", f"use one of {', '.join(ROLES)}")
    refs = [ref for (_, ref), m in zip(given, models) if not isinstance(m, torch.nn.Module)]
    kind = executor.kind if isinstance(executor, ExecutorConfig) else (executor or "local")
    # in-memory models stay in this process (local executor); failing fast keeps their original errors
    result = run_experiment(EXPERIMENT, refs, config, out=out, executor=executor, progress=progress,
                            context={"objects": objects, "given": given, "roles": roles},
                            fail_fast=bool(objects) and kind == "local")
    if out is None:
        result.out = None
    return result


def read_run_spec(path: str | Path) -> dict[str, Any]:
    """The settings of an existing SAT run directory (for ``--add … --to DIR``)."""
    spec_file = Path(path) / f"{KIND}_spec.json"
    if not spec_file.is_file():
        raise ZoolensError(f"{path} holds no SAT run (missing {spec_file})",
                           "run `zoolens similarity … --out DIR` first")
    return json.loads(spec_file.read_text())


def add_model(ref: str | torch.nn.Module, to: str | Path, one_sided: str = "full", *, batch_size: int | None = None,
              device: str | None = None, progress: bool = False, trust_checkpoint: bool = False,
              models: Sequence[torch.nn.Module] = ()) -> SatResult:
    """Add a newcomer to a finished run, computing only the new pairs (App. G.1 of the SAT paper).

    Parameters
    ----------
    ref:
        The newcomer (reference or model object).
    to:
        The existing run directory; its settings (data, attack, …) are reused.
    one_sided:
        ``source`` (attack only the newcomer; existing models are evaluated on its
        adversarials), ``target`` (the newcomer is evaluated on the cached adversarials
        of the existing models; no gradients) or ``full`` (both: exact Eq. 1).
    models:
        In-memory model objects of existing members (needed only for members that were
        added as objects rather than references).
    """
    if one_sided not in ROLES:
        raise ZoolensError(f"unknown one-sided mode {one_sided!r}", "use source, target or full")
    spec = read_run_spec(to)
    overrides: dict[str, Any] = {"device": device, "trust_checkpoint": trust_checkpoint}
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    config = SatConfig.from_run_spec(spec, **overrides)
    name = str(getattr(ref, "name", ref)) if isinstance(ref, torch.nn.Module) else display_name(str(ref))
    return run_sat([*models, ref], config, out=to, roles={name: one_sided}, progress=progress)


def sat_matrix(models: Sequence[str | torch.nn.Module], config: SatConfig | None = None, *,
               out: str | Path | None = None, progress: bool = False, **settings: Any) -> pd.DataFrame:
    """SAT matrix (Eq. 1 of the SAT paper) between ``models``, as a square DataFrame.

    Parameters
    ----------
    models:
        Model references or :class:`~zoolens.models.WrappedModel` objects.
    config, **settings:
        As for :func:`run_sat` (e.g. ``data="digits", n_images=200, attack="fgsm", eps="8/255"``,
        or ``preset="sat-paper"``).
    out:
        Run directory for all tables (default: temporary).

    Returns
    -------
    pandas.DataFrame
        Symmetric SAT matrix, model names as index and columns. The full tables
        (transfer, CIs, …) are in ``out`` or from :func:`run_sat`.
    """
    return run_sat(models, config, out=out, progress=progress, **settings).sat


__all__ = ["KIND", "SatResult", "add_model", "read_run_spec", "run_sat", "sat_matrix"]
