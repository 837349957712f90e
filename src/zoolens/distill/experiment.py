"""Distillation as an experiment of the runtime: per teacher a student, and the teacher's SAT with the baseline.

Units (all in one run directory, so a rerun resumes and more teachers add only their own units):

* stage 1 — ``sat:attack:M`` for the baseline and every teacher (:mod:`zoolens.similarity.units`:
  clean predictions on the SAT eval set, the attack, the adversarial cache);
* stage 2 — ``sat:eval:M``: the baseline is shown every teacher's adversarials and each teacher the
  baseline's (one ``pair`` part per direction), and ``distill:T`` per teacher
  (:mod:`zoolens.distill.units`: the student's training and the two accuracies).

``assemble`` turns the pair parts into SAT(teacher, baseline) with its bootstrap interval (Eq. 1 of
the SAT paper, :func:`zoolens.similarity.sat.sat_ci_table`) and writes ``distill.parquet``/``.csv``:
one row per teacher.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import pandas as pd
import torch

from zoolens.checks import check_data, check_device
from zoolens.distill.config import DistillConfig
from zoolens.distill.teachers import check_teachers
from zoolens.distill.units import COLUMNS, PART, distill_unit_spec, planned_steps
from zoolens.errors import ZoolensError
from zoolens.models.refs import display_name
from zoolens.runtime.executors import Executor, StageReport
from zoolens.runtime.plan import PlannedUnit, arch_info
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import WorkUnit
from zoolens.similarity.assemble import transfer_table
from zoolens.similarity.members import pair_id
from zoolens.similarity.sat import sat_ci_table, x_ab_rows
from zoolens.similarity.units import check_labels, sat_eval_unit_spec, sat_model_unit_spec
from zoolens.zoo.build import preprocess_for

#: Fashion-MNIST training images (the students' data; planning only).
TRAIN_IMAGES = 60_000
#: Columns of the ``distill`` table, in order.
TABLE_COLUMNS = ["teacher", "family", "transformer", "teacher_acc", "student_acc", "sat", "sat_ci_low", "sat_ci_high",
                 "n_both_correct", "steps", "wall_time_s", "ref", "base_architecture", "epochs", "planned_steps",
                 "test_images", "student_weights", "student_digest", "teacher_digest"]


def sat_pairs(teachers: Sequence[str], baseline: str) -> list[tuple[str, str]]:
    """Ordered (source, target) pairs of SAT(teacher, baseline): both directions; one for the baseline itself."""
    out: list[tuple[str, str]] = []
    for t in teachers:
        for pair in ((t, baseline), (baseline, t)):
            if pair not in out:
                out.append(pair)
    return out


class DistillExperiment:
    """Hard distillation into one ViT student per teacher and SAT(teacher, baseline) (SAT paper Sec. 5.2, App. E).

    ``models`` are the teachers. The units' context may carry ``objects`` (in-memory teachers by
    name) and ``train_data``/``test_data`` (``(uint8 images, labels)`` replacing Fashion-MNIST's splits).
    """

    name = "distill"
    config_class = DistillConfig

    def preflight(self, models: Sequence[str], config: DistillConfig) -> None:
        check_device(config.device, "device (--device)")
        check_teachers(models, config.baseline, channels=int(preprocess_for(config.recipe()).input_size[0]))
        base = display_name(config.baseline)
        clash = [m for m in models if display_name(m) == base and m != config.baseline]
        if clash:
            raise ZoolensError(f"teacher {clash[0]} has the baseline's name {base!r} but another reference",
                               "use the baseline's own reference or another teacher")
        check_data(config.data, config.n_images)

    def result_spec(self, config: DistillConfig) -> dict[str, Any]:
        return config.result_spec()

    def progress(self, enabled: bool):
        return contextlib.nullcontext(enabled)  # units draw their own bars

    def stages(self, run: RunDir, models: Sequence[str], config: DistillConfig, context: dict[str, Any]
               ) -> Iterator[list[WorkUnit]]:
        teachers = {display_name(m): m for m in models}
        base = display_name(config.baseline)
        refs = {base: config.baseline, **teachers}
        sat = config.sat_config()
        attack = sat.attack_config()
        stage1 = [sat_model_unit_spec(m, ref, True, data=sat.data, n_images=sat.image_count(),
                                      data_seed=sat.data_seed, attack=attack, batch_size=sat.batch_size,
                                      device=sat.device, trust_checkpoint=sat.trust_checkpoint)
                  for m, ref in refs.items()]
        yield stage1
        ok = {u.payload["name"] for u in stage1 if u.done(run)}
        adv = {m: str(run.read_part("attack", m)["adv_file"].iloc[0]) for m in ok}
        by_target: dict[str, list[str]] = {}
        for s, t in sat_pairs(list(teachers), base):
            if s in ok and t in ok:
                by_target.setdefault(t, []).append(s)
        evals = [sat_eval_unit_spec(t, refs[t], srcs, {s: adv[s] for s in srcs}, batch_size=sat.batch_size,
                                    device=sat.device, trust_checkpoint=sat.trust_checkpoint)
                 for t, srcs in by_target.items()]
        yield evals + [distill_unit_spec(t, ref, config) for t, ref in teachers.items()]

    def assemble(self, run: RunDir, models: Sequence[str], config: DistillConfig, report: StageReport,
                 executor: Executor, context: dict[str, Any]) -> pd.DataFrame:
        teachers = [display_name(m) for m in models]
        base = display_name(config.baseline)
        sat = config.sat_config()
        clean = {m: run.read_part("clean", m) for m in dict.fromkeys([base, *teachers])}
        check_labels(clean)
        pairs = sat_pairs(teachers, base)
        images = pd.concat([run.read_part("pair", pair_id(s, t)) for s, t in pairs], ignore_index=True)
        transfer = transfer_table(images, clean, pairs)
        x_ab = x_ab_rows(images)
        rows = []
        for t in teachers:
            names = [t, base] if t != base else [base]
            keep = x_ab["source"].isin(names) & x_ab["target"].isin(names)
            tr = transfer[transfer["source"].isin(names) & transfer["target"].isin(names)]
            ci = sat_ci_table(x_ab[keep], tr, names, n_resamples=sat.n_resamples, level=sat.ci_level,
                              seed=sat.ci_seed, eps_s=sat.eps_s)
            r = ci[(ci["model_a"] == names[0]) & (ci["model_b"] == names[-1])].iloc[0]
            rows.append({"teacher": t, "sat": float(r["sat"]), "sat_ci_low": float(r["ci_low"]),
                         "sat_ci_high": float(r["ci_high"]), "n_both_correct": int(r["n_both_correct"])})
        parts = run.read_parts(PART, teachers)[COLUMNS]
        table = parts.merge(pd.DataFrame(rows), on="teacher", how="left", validate="one_to_one")[TABLE_COLUMNS]
        run.write_table("distill", table)
        run.write_table("distill_transfer", transfer, parquet=False)
        run.write_manifest({"teachers": list(models), "baseline": config.baseline, "student": config.recipe().config(),
                            "labels": "hard (teacher argmax)", "max_steps": config.max_steps,
                            "sat": sat.result_spec(), "executor": executor.name, "units": report.as_dict(),
                            "torch_threads": torch.get_num_threads(), "complete": True,
                            "data_fingerprints": sorted({str(c["fingerprint"].iloc[0]) for c in clean.values()})})
        table.attrs["out"] = str(run.path)
        return table

    def cost(self, models: Sequence[str], config: DistillConfig) -> list[PlannedUnit]:
        """Per ``distill:T``: S steps × B images of the student's forward and backward (3·F_s) and the
        teacher's forward (F_t), then both score the test split (10,000 or ``test_images``); the SAT
        units cost as in a similarity run (attack (2 + 3·steps)·F per image, one forward per shown image)."""
        sat = config.sat_config()
        n, k = sat.image_count(), sat.attack_config().steps
        teachers = {display_name(m): m for m in models}
        base = display_name(config.baseline)
        refs = {base: config.baseline, **teachers}
        flops = {m: arch_info(ref).forward_flops for m, ref in refs.items()}
        f_student = flops[base] if refs[base] == config.baseline else arch_info(config.baseline).forward_flops
        out = [PlannedUnit(f"sat:attack:{m}", self.name, m, n * (k + 2), n * k, n * flops[m] * (2 + 3 * k),
                           ref=refs[m], batch_size=sat.batch_size) for m in refs]
        shown: dict[str, int] = {}
        for _s, t in sat_pairs(list(teachers), base):
            shown[t] = shown.get(t, 0) + n
        out += [PlannedUnit(f"sat:eval:{t}", self.name, t, c, 0, c * flops[t], ref=refs[t], batch_size=sat.batch_size)
                for t, c in shown.items()]
        images = planned_steps(config, TRAIN_IMAGES) * config.recipe().batch_size
        test = config.test_images or 10_000
        for t in teachers:
            out.append(PlannedUnit(f"distill:{t}", self.name, t, 2 * images + 2 * test, images,  # timed as the student
                                   images * (3 * f_student + flops[t]) + test * (f_student + flops[t]),
                                   ref=config.baseline, batch_size=config.recipe().batch_size))
        return out


EXPERIMENT = DistillExperiment()

__all__ = ["DistillExperiment", "EXPERIMENT", "TABLE_COLUMNS", "TRAIN_IMAGES", "sat_pairs"]
