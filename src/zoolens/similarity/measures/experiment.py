"""Other similarity measures as an experiment of the runtime: one unit per model, a per-pair table.

Each model is loaded once (unit ``measures:model:M``) and leaves its predictions, features,
plane predictions and boundary distances as parts; ``assemble`` compares them pair by pair
into the ``measures`` table (``model_a, model_b, n_images, cka, error_consistency, …``) and a
``measures_models`` table. Units are keyed by model, so a rerun with more models computes
only the new ones.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import torch

from zoolens.checks import check_data, check_device, check_refs
from zoolens.errors import ZoolensError
from zoolens.models.refs import display_name
from zoolens.progress import track
from zoolens.runtime.executors import Executor, StageReport
from zoolens.runtime.plan import PlannedUnit, arch_info
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import WorkUnit
from zoolens.similarity.measures.config import MeasuresConfig
from zoolens.similarity.measures.pairs import model_table, pair_table
from zoolens.similarity.members import pair_id
from zoolens.similarity.measures.units import model_unit_spec, tramer_unit_spec


class MeasuresExperiment:
    """CKA, error consistency, disagreement, Somepalli planes and Tramèr distances under the experiment protocol.

    The units' context may carry ``objects`` (in-memory models by name).
    """

    name = "measures"
    config_class = MeasuresConfig

    def preflight(self, models: Sequence[str], config: MeasuresConfig) -> None:
        check_device(config.device, "device (--device)")
        names = [display_name(m) for m in models]
        if len(set(names)) != len(names):
            raise ZoolensError("the same model is listed twice", "list each model once")
        if len(names) < 2:
            raise ZoolensError(f"similarity measures compare models, got {len(names)}", "give at least two models")
        check_refs(models)
        check_data(config.data, config.n_images)

    def result_spec(self, config: MeasuresConfig) -> dict[str, Any]:
        return config.result_spec()

    def progress(self, enabled: bool):
        return contextlib.nullcontext(enabled)  # units draw their own bars (zoolens.progress.track)

    def stages(self, run: RunDir, models: Sequence[str], config: MeasuresConfig, context: dict[str, Any]
               ) -> Iterator[list[WorkUnit]]:
        refs = {display_name(ref): ref for ref in models}
        stage1 = [model_unit_spec(name, ref, config) for name, ref in refs.items()]
        yield stage1
        if "tramer" not in config.measures:
            return
        # stage 2: Tramèr's adversarial direction is the source's own, so each target searches along every other's
        ok = [u.payload["name"] for u in stage1 if u.done(run)]
        files = {m: str(run.read_part("measures_tramer_dir", m)["file"].iloc[0]) for m in ok}
        yield [tramer_unit_spec(t, refs[t], [s for s in ok if s != t], {s: files[s] for s in ok if s != t}, config)
               for t in ok]

    def assemble(self, run: RunDir, models: Sequence[str], config: MeasuresConfig, report: StageReport,
                 executor: Executor, context: dict[str, Any]):
        names = [display_name(m) for m in models]
        ms = config.measures
        preds = {m: run.read_part("measures_pred", m) for m in names}
        feats, dims = None, None
        if "cka" in ms:
            parts = {m: run.read_part("measures_features", m) for m in names}
            feats = {m: run.path / str(parts[m]["file"].iloc[0]) for m in names}
            dims = {m: int(parts[m]["dim"].iloc[0]) for m in names}
        planes = None
        if "somepalli" in ms:
            planes = {}
            for m in names:
                df = run.read_part("measures_plane", m)
                planes[m] = df["pred"].to_numpy().reshape(int(df["triplet"].max()) + 1, -1)
        tramer = {m: run.read_part("measures_tramer", m) for m in names} if "tramer" in ms else None
        adversarial = ({(a, b): run.read_part("measures_tramer_adv", pair_id(a, b)) for a in names for b in names
                        if a != b} if "tramer" in ms else None)
        show = bool(context.get("progress"))
        table = pair_table(names, ms, preds, feats, planes, tramer, adversarial,
                           progress=(lambda it: track(it, description="measures: pairs", enabled=True))
                           if show else None)
        per_model = model_table(names, preds, dims, tramer)
        run.write_table("measures", table)
        run.write_table("measures_models", per_model, parquet=False)
        run.write_manifest({"models": list(models), **config.result_spec(), "executor": executor.name,
                            "units": report.as_dict(), "torch_threads": torch.get_num_threads(),
                            "data_fingerprints": sorted({str(p["fingerprint"].iloc[0]) for p in preds.values()}),
                            "complete": True})
        table.attrs["models"] = per_model
        table.attrs["out"] = str(run.path)
        return table

    def cost(self, models: Sequence[str], config: MeasuresConfig) -> list[PlannedUnit]:
        """Per model: n predictions (+ n for features), T·R² plane points, m gradients and 3·m·(1 + scan +
        refine) Tramèr points (its own three directions); per ``measures:tramer`` unit, the same search along
        the other M − 1 models' adversarial directions."""
        n, ms = config.n_images, config.measures
        passes, backward = n * (2 if "cka" in ms else 1), 0
        passes += config.triplets * config.grid ** 2 if "somepalli" in ms else 0
        search = min(config.tramer_images, n) * (1 + config.tramer_scan + config.tramer_refine)
        if "tramer" in ms:
            passes += 3 * search + min(config.tramer_images, n)
            backward = min(config.tramer_images, n)
        out = []
        for ref in models:
            name, flops = display_name(ref), arch_info(ref).forward_flops
            out.append(PlannedUnit(f"measures:model:{name}", self.name, name, passes, backward,
                                   (passes + 2 * backward) * flops, ref=ref, batch_size=config.batch_size))
        if "tramer" in ms:
            others = (len(models) - 1) * search
            for ref in models:
                name = display_name(ref)
                out.append(PlannedUnit(f"measures:tramer:{name}", self.name, name, others, 0,
                                       others * arch_info(ref).forward_flops, ref=ref, batch_size=config.batch_size))
        return out


EXPERIMENT = MeasuresExperiment()

__all__ = ["EXPERIMENT", "MeasuresExperiment"]
