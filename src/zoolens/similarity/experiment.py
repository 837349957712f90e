"""SAT as an experiment of the runtime: two stages of units, their cost, and the tables they assemble into.

Stage 1 attacks every source once (and predicts every model's clean images); stage 2
shows each target every source's cached adversarials. The members (names, references,
roles, weights digests) are parts of the run directory, so a later call can add models
and only the new pairs are computed.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator, Sequence


from zoolens.checks import check_data, check_device, check_refs
from zoolens.runtime.executors import Executor, StageReport
from zoolens.runtime.plan import PlannedUnit, arch_info
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import WorkUnit
from zoolens.similarity.assemble import SatResult, assemble_tables
from zoolens.similarity.config import SatConfig
from zoolens.similarity.members import ROLES, member_digests, pairs_to_measure, register_members
from zoolens.models.refs import display_name
from zoolens.similarity.units import check_labels, sat_eval_unit_spec, sat_model_unit_spec


class SatExperiment:
    """Similarity by attack transferability (SAT, Eq. 1 of the SAT paper) under the experiment protocol.

    The units' context may carry ``objects`` (in-memory models by name), ``given``
    (``(name, ref)`` pairs of this call; default: the references' display names) and
    ``roles`` (``{name or reference: full|source|target}``; a study's ``[models] one_sided``).
    """

    name = "similarity"
    config_class = SatConfig
    roles = ROLES  # the model roles it takes: a study passes its ``one_sided`` table to it

    def preflight(self, models: Sequence[str], config: SatConfig) -> None:
        """Settings are checked by the config itself; here the device, the references and the data."""
        check_device(config.device, "device (--device)")
        check_refs(models)
        check_data(config.data, config.image_count())

    def result_spec(self, config: SatConfig) -> dict[str, Any]:
        return config.result_spec()

    def progress(self, enabled: bool):
        return contextlib.nullcontext(enabled)  # units draw their own bars (zoolens.progress.track)

    def stages(self, run: RunDir, models: Sequence[str], config: SatConfig, context: dict[str, Any]
               ) -> Iterator[list[WorkUnit]]:
        given = context.get("given") or [(display_name(m), m) for m in models]
        objects = context.get("objects", {})
        members = register_members(run, given, context.get("roles", {}), member_digests(given, objects))
        context["members"] = members  # assemble reads the same member list
        names = list(members["model"])
        refs = dict(zip(members["model"], members["ref"]))
        role_of = dict(zip(members["model"], members["role"]))
        sources = [m for m in names if role_of[m] in ("full", "source")]
        attack, n = config.attack_config(), config.image_count()
        timings = context.setdefault("timings", {"attack_s": 0.0, "eval_s": 0.0, "clean_s": 0.0})

        # stage 1: clean predictions + attack, one unit (one model load) per model
        stage1 = [sat_model_unit_spec(m, refs[m], m in sources, data=config.data, n_images=n,
                                      data_seed=config.data_seed, attack=attack, batch_size=config.batch_size,
                                      device=config.device, trust_checkpoint=config.trust_checkpoint,
                                      fast=config.fast, compute=config.compute_precision) for m in names]
        t0 = time.perf_counter()
        yield stage1
        timings["attack_s"] = time.perf_counter() - t0
        failed = {u.payload["name"] for u in stage1 if not u.done(run)}
        ok_names = [m for m in names if m not in failed]
        ok_sources = [m for m in sources if m not in failed]
        clean = context["clean"] = {m: run.read_part("clean", m) for m in ok_names}  # assemble reuses them
        check_labels(clean)
        adv_files = {m: str(run.read_part("attack", m)["adv_file"].iloc[0]) for m in ok_sources}

        # stage 2: one unit per target, one part per (source, target) pair
        by_target: dict[str, list[str]] = {}
        for s, t in pairs_to_measure(ok_names, role_of, ok_sources):
            by_target.setdefault(t, []).append(s)
        t0 = time.perf_counter()
        yield [sat_eval_unit_spec(t, refs[t], srcs, {s: adv_files[s] for s in srcs}, batch_size=config.batch_size,
                                  device=config.device, trust_checkpoint=config.trust_checkpoint, fast=config.fast,
                                  compute=config.compute_precision)
               for t, srcs in by_target.items()]
        timings["eval_s"] = time.perf_counter() - t0

    def assemble(self, run: RunDir, models: Sequence[str], config: SatConfig, report: StageReport,
                 executor: Executor, context: dict[str, Any]) -> SatResult:
        members = context["members"]
        names = list(members["model"])
        role_of = dict(zip(members["model"], members["role"]))
        sources = [m for m in names if role_of[m] in ("full", "source")]
        clean_all = {m: context["clean"][m] if m in context["clean"] else run.read_part("clean", m) for m in names}
        result = assemble_tables(run, names, pairs_to_measure(names, role_of, sources), clean_all, config.eps_s,
                                 config.n_resamples, config.ci_level, config.ci_seed)
        result.timings = dict(context.get("timings", {}))
        attack = config.attack_config()
        run.write_manifest({"models": members.to_dict("records"), "data": config.data,
                            "n_images": config.image_count(), "data_seed": config.data_seed,
                            "attack": attack.as_dict(), "attack_key": attack.key(), "eps_s": config.eps_s,
                            "timings_s_last_invocation": result.timings, "executor": executor.name,
                            "units": report.as_dict(), "complete": True,
                            "data_fingerprints": {m: str(clean_all[m]["fingerprint"].iloc[0]) for m in names}})
        return result

    def cost(self, models: Sequence[str], config: SatConfig) -> list[PlannedUnit]:
        """Attack of a source: clean F + steps·3F + white-box check F; evaluation: one forward per source."""
        n = config.image_count()
        steps = config.attack_config().steps
        flops = {ref: arch_info(ref).forward_flops for ref in models}
        out = []
        for ref in models:
            name, f = display_name(ref), flops[ref]
            out.append(PlannedUnit(f"sat:attack:{name}", self.name, name, n * (steps + 2), n * steps,
                                   n * f * (2 + 3 * steps), ref=ref, batch_size=config.batch_size))
        for ref in models:
            name, passes = display_name(ref), n * len(models)
            out.append(PlannedUnit(f"sat:eval:{name}", self.name, name, passes, 0, passes * flops[ref], ref=ref,
                                   batch_size=config.batch_size))
        return out


EXPERIMENT = SatExperiment()

__all__ = ["EXPERIMENT", "SatExperiment"]
