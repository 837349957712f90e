"""The work unit of one teacher: ``distill:TEACHER`` trains its student and scores both.

The unit loads the teacher, trains :func:`~zoolens.distill.config.student_recipe` on the
Fashion-MNIST train split with the teacher's hard labels (:func:`zoolens.zoo.train.train_recipe`
with ``targets``: the zoo's bitwise-reproducible loop), scores teacher and student on the test
split, keeps the student's weights (``students/…safetensors``) and writes one ``distill`` part.
The teachers' SAT is measured by the SAT units of :mod:`zoolens.similarity.units` in the same run
directory (see :mod:`zoolens.distill.experiment`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import torch

import zoolens.io as zio
from zoolens.distill.config import DistillConfig
from zoolens.distill.labels import teacher_labels
from zoolens.distill.teachers import teacher_info
from zoolens.errors import ZoolensError
from zoolens.models import load_model
from zoolens.models.digest import weights_digest
from zoolens.progress import step_bar
from zoolens.runtime.rundir import RunDir, unit_filename
from zoolens.runtime.units import WorkUnit
from zoolens.zoo.augment import load_split
from zoolens.zoo.build import build_net, wrap
from zoolens.zoo.recipes import ZOO_NAME
from zoolens.zoo.train import evaluate, state_digest, train_recipe

PART = "distill"
#: Columns of a ``distill`` part (one row per teacher), in order.
COLUMNS = ["teacher", "ref", "family", "base_architecture", "transformer", "teacher_acc", "student_acc", "epochs",
           "steps", "planned_steps", "test_images", "wall_time_s", "student_weights", "student_digest",
           "teacher_digest"]


def planned_steps(config: DistillConfig, n_train: int) -> int:
    """Optimizer steps of one student: ``epochs`` × ⌊n_train / batch⌋, or ``max_steps`` when smaller."""
    recipe = config.recipe()
    full = (n_train // recipe.batch_size) * recipe.epochs
    return full if config.max_steps is None else min(full, config.max_steps)


def distill_unit_spec(name: str, ref: str, config: DistillConfig) -> WorkUnit:
    """The unit of teacher ``name`` (reference ``ref``): one ``distill`` part."""
    return WorkUnit(f"distill:{name}", f"{__name__}:distill_unit",
                    {"name": name, "ref": ref, "config": dataclasses.asdict(config)}, ((PART, name),))


def _data(context: dict, config: DistillConfig) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor,
                                                                                                      torch.Tensor]]:
    """(train, test) splits: Fashion-MNIST's, or the context's ``train_data``/``test_data`` (tests)."""
    train = context.get("train_data") or load_split("train")
    x_test, y_test = context.get("test_data") or load_split("test")
    n = config.test_images or int(x_test.shape[0])
    return train, (x_test[:n], y_test[:n])


def distill_unit(payload: dict, run: RunDir, context: dict) -> dict:
    """Work unit: hard-distil the student from one teacher; score both; write the ``distill`` part.

    Returns ``{"steps": …}`` for the unit log.
    """
    config = DistillConfig(**payload["config"])
    name, ref = payload["name"], payload["ref"]
    teacher = context.get("objects", {}).get(name)
    if teacher is None:
        teacher = load_model(ref, trust_checkpoint=config.trust_checkpoint)
    teacher = teacher.cpu().eval()
    if int(teacher.num_classes) != 10:
        raise ZoolensError(f"teacher {name} has {teacher.num_classes} classes, the student 10",
                           "distill from Fashion-MNIST classifiers (e.g. zoo:fmnist-mini/…)")
    (x_train, y_train), (x_test, y_test) = _data(context, config)
    recipe = config.recipe()
    total = planned_steps(config, int(x_train.shape[0]))
    with step_bar(f"distill {name}", total, enabled=bool(context.get("progress"))) as update:
        res = train_recipe(recipe, (x_train, y_train), max_steps=config.max_steps,
                           on_step=lambda step, _total, _loss: update(step), targets=teacher_labels(teacher))
    net = build_net(recipe)
    net.load_state_dict(res.state)
    student = wrap(net, recipe, ZOO_NAME).eval()
    rel = Path("students") / f"{unit_filename(name)}.safetensors"
    _save_weights(run.path / rel, res.state)
    row = {"teacher": name, "ref": ref, **teacher_info(ref),
           "teacher_acc": evaluate(teacher, x_test, y_test, batch_size=config.batch_size),
           "student_acc": evaluate(student, x_test, y_test, batch_size=config.batch_size),
           "epochs": recipe.epochs, "steps": res.steps, "planned_steps": total, "test_images": int(x_test.shape[0]),
           "wall_time_s": res.wall_time_s, "student_weights": str(rel), "student_digest": state_digest(res.state),
           "teacher_digest": weights_digest(ref) if name not in context.get("objects", {}) else None}
    df = pd.DataFrame([row], columns=COLUMNS)
    df["transformer"] = df["transformer"].astype("boolean")
    run.write_part(PART, name, df)
    return {"steps": res.steps}


def _save_weights(path: Path, state: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save_file

    with zio.atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))


__all__ = ["COLUMNS", "PART", "distill_unit", "distill_unit_spec", "planned_steps"]
