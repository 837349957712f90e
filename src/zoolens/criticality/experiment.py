"""Criticality as an experiment of the runtime: its units, their cost, and the tables they assemble into.

A unit is one model (or one slice of ``layers_per_unit`` of its layers); it writes two
parts, the (layer, seed) rows and the model's summary, keyed by the model's weights
digest so a retrained model is recomputed on resume and the others are kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from typing import Any, Iterator, Sequence

import pandas as pd
import torch

from zoolens.checks import check_data, check_device, check_refs
from zoolens.criticality.batching import AUTO, CEILING
from zoolens.criticality.config import CriticalityConfig
from zoolens.criticality.one_model import criticality_one_model
from zoolens.criticality.tables import ROW_COLUMNS, complete_rows, summarize, with_budget
from zoolens.errors import ZoolensError
from zoolens.models import load_model
from zoolens.models.digest import weights_digest
from zoolens.models.refs import display_name
from zoolens.runtime.executors import Executor, StageReport
from zoolens.runtime.plan import PlannedUnit, arch_info, count_layers
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import WorkUnit


class CriticalityExperiment:
    """Layer criticality (criticality paper, Sec. 3) under the runtime's experiment protocol."""

    name = "criticality"
    config_class = CriticalityConfig

    def preflight(self, models: Sequence[str], config: CriticalityConfig) -> None:
        """Settings are checked by the config itself; here the device, the references and the data."""
        check_device(config.device, "device (--device)")
        names = [display_name(m) for m in models]
        if len(set(names)) != len(names):
            raise ZoolensError("the same model is listed twice", "list each model once")
        check_refs(models)
        check_data(config.data, config.n_images)

    def result_spec(self, config: CriticalityConfig) -> dict[str, Any]:
        return config.result_spec()

    def progress(self, enabled: bool):
        if not enabled:
            return contextlib.nullcontext()
        from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        return Progress(TextColumn("criticality {task.description}"), BarColumn(), TaskProgressColumn(),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())

    def units(self, models: Sequence[str], config: CriticalityConfig) -> list[WorkUnit]:
        """One unit per model, or per model × slice of ``layers_per_unit`` layers (counted from the architecture)."""
        payload_config = dataclasses.asdict(config)
        units = []
        for ref in models:
            name = display_name(ref)
            base = {"ref": ref, "name": name, "config": payload_config, "weights_digest": weights_digest(ref)}
            if not config.layers_per_unit:
                slices = [(name, None)]
            else:
                n = count_layers(ref, include_norm=config.include_norm, pattern=config.layers)
                step = config.layers_per_unit
                slices = [(f"{name}#layers[{a}:{min(n, a + step)}]", [a, min(n, a + step)]) for a in range(0, n, step)]
            for part, sl in slices:
                units.append(WorkUnit(f"criticality:{part}", f"{__name__}:criticality_unit",
                                      {**base, "part": part, "layer_slice": sl},
                                      (("criticality", part), ("criticality_models", part))))
        return units

    def stages(self, run: RunDir, models: Sequence[str], config: CriticalityConfig, context: dict[str, Any]
               ) -> Iterator[list[WorkUnit]]:
        units = context["units"] = self.units(models, config)  # assemble reads the same (digests, slices)
        stale = drop_stale_parts(run, units)
        if stale:
            warnings.warn(f"the weights of {len(stale)} unit(s) changed since they ran ({', '.join(stale[:3])}"
                          f"{' …' if len(stale) > 3 else ''}): recomputing them", stacklevel=4)
        yield units

    def assemble(self, run: RunDir, models: Sequence[str], config: CriticalityConfig, report: StageReport,
                 executor: Executor, context: dict[str, Any]) -> pd.DataFrame:
        units = context["units"]
        table = run.read_parts("criticality", [u.payload["part"] for u in units])
        # one summary per model: a sliced model's slices each carry the same whole-model summary
        first: dict[str, str] = {}
        for u in units:
            first.setdefault(u.payload["name"], u.payload["part"])
        models_df = run.read_parts("criticality_models", list(first.values()))
        if len(table):
            table = complete_rows(table, models_df.set_index("model")["n_images"])
            every = run.read_parts("criticality_models", [u.payload["part"] for u in units])
            models_df = with_budget(models_df, table, every)  # image passes: summed over a model's slices
        else:
            table = pd.DataFrame(columns=ROW_COLUMNS)
        run.write_table("criticality", table)
        run.write_table("criticality_summary", summarize(table, auxiliary_below=config.auxiliary_below,
                                                         critical_above=config.critical_above), parquet=False)
        run.write_table("models", models_df, parquet=False)
        run.write_manifest({"models": list(models), "seeds": config.seeds, "engine": config.engine,
                            "data_fingerprints": sorted(set(models_df["data_fingerprint"])),
                            "thresholds": {"auxiliary_below": config.auxiliary_below,
                                           "critical_above": config.critical_above},
                            "torch_threads": torch.get_num_threads(), "executor": executor.name,
                            "layers_per_unit": config.layers_per_unit or None, "units": report.as_dict(),
                            "complete": True})
        table.attrs["models"] = models_df
        return table

    def cost(self, models: Sequence[str], config: CriticalityConfig) -> list[PlannedUnit]:
        """Naive (1 + L·S)·F per image; the fast engine replays only each layer's suffix: F + S·Σ suffix_l.

        With ``target_se`` > 0 this is the upper bound (every layer uses every image).
        """
        s = config.effective_seeds()
        n_images = config.n_images
        out = []
        for ref in models:
            info = arch_info(ref, include_norm=config.include_norm, pattern=config.layers)
            name = display_name(ref)
            n_layers = info.n_layers
            step = config.layers_per_unit or max(n_layers, 1)
            for start in range(0, max(n_layers, 1), step):
                stop = min(n_layers, start + step)
                unit = (f"criticality:{name}" if not config.layers_per_unit
                        else f"criticality:{name}#layers[{start}:{stop}]")
                fwd = n_images * (1 + (stop - start) * s)
                fast = n_images * (info.forward_flops + s * sum(info.suffix_flops[start:stop]))
                # auto: time the largest batch it may choose (the planner cuts it to its timing budget)
                batch = CEILING if config.batch_size == AUTO else config.batch_size
                out.append(PlannedUnit(unit, self.name, name, fwd, 0, fwd * info.forward_flops, fast, ref, batch))
        return out


def criticality_unit(payload: dict, run: RunDir, context: dict) -> dict:
    """Work unit: criticality of one model (or one slice of its layers); writes its two parts."""
    config = CriticalityConfig(**payload["config"])
    objects = context.get("objects", {})
    model = objects.get(payload["ref"]) or load_model(payload["ref"], trust_checkpoint=config.trust_checkpoint)
    sl = payload.get("layer_slice")
    rows, summary = criticality_one_model(model, config, display_name=payload["name"],
                                          progress=context.get("progress"),
                                          layer_slice=tuple(sl) if sl else None)
    summary["weights_digest"] = payload.get("weights_digest")
    # rows first: a models part without its rows never exists
    run.write_part("criticality", payload["part"], rows)
    run.write_part("criticality_models", payload["part"], pd.DataFrame([summary]))
    return {"rows": len(rows)}


def drop_stale_parts(run: RunDir, units: list[WorkUnit]) -> list[str]:
    """Delete the parts of units computed from other weights than the reference resolves to now.

    A retrained ``zoo:`` model or a replaced ``@FILE`` checkpoint keeps its reference but
    not its weights: its units are recomputed on resume, every other unit is kept.

    Returns
    -------
    list of str
        The ids of the units whose parts were dropped.
    """
    stale = []
    for u in units:
        part = u.payload["part"]
        if not run.has_part("criticality_models", part):
            continue
        recorded = run.read_part("criticality_models", part).get("weights_digest")
        if recorded is None or str(recorded.iloc[0]) != u.payload["weights_digest"]:
            for kind, pid in u.parts:
                run.part_path(kind, pid).unlink(missing_ok=True)
            stale.append(u.id)
    return stale


EXPERIMENT = CriticalityExperiment()

__all__ = ["EXPERIMENT", "CriticalityExperiment", "criticality_unit", "drop_stale_parts"]
