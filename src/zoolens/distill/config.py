"""The settings of a ``distill`` run and its one student recipe, declared once (CLI, API, study files, plans).

``data``, ``n_images`` and ``data_seed`` choose the SAT eval images exactly as for ``[similarity]``;
the attack settings default to the similarity command's. The student always trains on the
Fashion-MNIST train split and is scored on its test split.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from zoolens.checks import check_device
from zoolens.config import boolean, integer, setting, text, validate
from zoolens.similarity.config import DEFAULT_N_IMAGES, SatConfig
from zoolens.zoo.recipes import ZOO_NAME, ZOO_RECIPES, Recipe

#: The architecture the students share: the ViT family's baseline recipe (``_VIT`` in :mod:`zoolens.zoo.recipes`).
STUDENT_OF = "vit_baseline"
#: The model the teachers' SAT is measured against: the student architecture's own baseline (the paper
#: measures SAT against DeiT-S, the student's architecture at a size whose accuracy matches the teachers').
DEFAULT_BASELINE = f"zoo:{ZOO_NAME}/{STUDENT_OF}"
#: Default student epochs: 2 of the baseline's 8 (≈ 1,870 steps, a few minutes per teacher on one CPU core).
DEFAULT_EPOCHS = 2
#: Every family and training method of the mini zoo (``--teachers`` default; ``examples/distill.toml``).
#: The five ViT variants after ``vit_seed1`` need their weights trained first (``zoolens zoo train``).
TEACHER_PRESET: tuple[str, ...] = tuple(f"zoo:{ZOO_NAME}/{n}" for n in (
    "resnet_baseline", "resnet_hparam", "resnet_mixup_cutmix", "resnet_pgd_eps0.05", "resnet_improved",
    "vgg_baseline", "mixer_baseline", "convnext_baseline",
    "vit_seed1", "vit_hparam", "vit_label_smoothing", "vit_mixup_cutmix", "vit_strong_aug", "vit_improved"))

_SAT_FIELDS = {f.name: f for f in dataclasses.fields(SatConfig)}


def _as_sat(name: str, **overrides: Any) -> Any:
    """A field with SatConfig's own default, check and help (so ``--eps 8/255`` reads as in ``similarity``)."""
    f = _SAT_FIELDS[name]
    return setting(overrides.get("default", f.default), check=f.metadata["check"],
                   help="SAT: " + f.metadata.get("help", ""), flag=f.metadata.get("flag"))


def student_recipe(epochs: int = DEFAULT_EPOCHS) -> Recipe:
    """The one student recipe: ``vit_baseline``'s architecture, optimizer, augmentation and seed, ``epochs`` epochs.

    Parameters
    ----------
    epochs:
        Training epochs over the 60,000 Fashion-MNIST training images (the learning-rate schedule
        spans them all, also when ``max_steps`` stops earlier).

    Returns
    -------
    Recipe
        Named ``vit_student``, method ``hard_distillation`` (SAT paper App. E: DeiT-style students
        trained with the teacher's hard labels).
    """
    base = ZOO_RECIPES[ZOO_NAME][STUDENT_OF]
    return dataclasses.replace(base, name="vit_student", method="hard_distillation", category="distillation",
                               epochs=int(epochs))


def _device(value: Any, label_: str) -> str | None:
    return check_device(value, label_, require_available=False)


@dataclasses.dataclass
class DistillConfig:
    """Hard knowledge distillation into one ViT student per teacher, and each teacher's SAT (SAT paper Sec. 5.2).

    The student recipe is :func:`student_recipe` (``epochs``); the teachers' SAT with ``baseline`` uses
    the settings of :class:`~zoolens.similarity.config.SatConfig` (:meth:`sat_config`).
    """

    data: str = setting("fashion-mnist", check=text(example="fashion-mnist"),
                        help="SAT eval source: fashion-mnist[:test|train], digits, imagefolder:PATH.")
    n_images: int = setting(DEFAULT_N_IMAGES, check=integer(1), flag="--n-images",
                            help="SAT eval images (as for similarity).")
    data_seed: int = setting(0, check=integer(0), help="Seed of the SAT eval subset.")
    baseline: str = setting(DEFAULT_BASELINE, check=text(example=DEFAULT_BASELINE),
                            help="The student architecture's model the teachers' SAT is measured with.")
    epochs: int = setting(DEFAULT_EPOCHS, check=integer(1), help="Student training epochs (vit_baseline: 8).")
    max_steps: int | None = setting(None, check=integer(1, allow_none=True),
                                    help="Stop each student after this many steps (smoke runs; schedule unchanged).")
    test_images: int | None = setting(None, check=integer(1, allow_none=True),
                                      help="Score teacher and student on the first N test images (default: all 10,000).")
    attack: str = _as_sat("attack")
    eps: float = _as_sat("eps")
    alpha: float = _as_sat("alpha")
    steps: int = _as_sat("steps")
    batch_size: int = _as_sat("batch_size")
    n_resamples: int = _as_sat("n_resamples")
    device: str | None = setting(None, check=_device, help="SAT: cpu | cuda (students train on the CPU).")
    trust_checkpoint: bool = setting(False, check=boolean(), help="Allow unpickling .pth files (runs their code).")

    def __post_init__(self) -> None:
        validate(self)
        self.sat_config()  # the attack settings must make a valid SAT config

    def sat_config(self) -> SatConfig:
        """The SAT settings of the teacher–baseline pairs (everything else at the similarity defaults)."""
        return SatConfig(data=self.data, n_images=self.n_images, data_seed=self.data_seed, attack=self.attack,
                         eps=self.eps, alpha=self.alpha, steps=self.steps, batch_size=self.batch_size,
                         n_resamples=self.n_resamples, device=self.device, trust_checkpoint=self.trust_checkpoint)

    def recipe(self) -> Recipe:
        """The student recipe of this run."""
        return student_recipe(self.epochs)

    def result_spec(self) -> dict[str, Any]:
        """What determines the tables (not the teachers: more can be added; not device)."""
        sat = self.sat_config().result_spec()
        return {"student": self.recipe().config(), "max_steps": self.max_steps, "test_images": self.test_images,
                "baseline": self.baseline, "labels": "hard (teacher argmax)", "sat": sat}


__all__ = ["DEFAULT_BASELINE", "DEFAULT_EPOCHS", "DistillConfig", "STUDENT_OF", "TEACHER_PRESET", "student_recipe"]
