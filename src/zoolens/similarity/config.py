"""The settings of a SAT run, declared once (CLI, API, study files and plans read them here)."""

from __future__ import annotations

import dataclasses
from typing import Any

from zoolens.checks import check_device
from zoolens.config import boolean, integer, number, one_of, setting, text, validate
from zoolens.errors import ZoolensError
from zoolens.inference import COMPUTE_PRECISIONS
from zoolens.similarity.attack_registry import ATTACKS, PRECISIONS, PRESETS, AttackConfig, parse_fraction
from zoolens.similarity.sat import EPS_S

DEFAULT_N_IMAGES = 500  # without a preset and without n_images
#: Version of the run directory's parts and tables. 2: the pair parts hold every image the
#: source attacked (``both_correct`` marks X_AB) and the target's class on it (``adv_pred``).
#: A directory written with another version is refused on resume (``RunDir``'s ``table_format``).
TABLE_FORMAT = 2


def _attack_name(value: Any, label_: str) -> str:
    name = value.lower() if isinstance(value, str) else value
    return one_of(ATTACKS)(name, label_)


def _fraction(value: Any, label_: str) -> float:
    if isinstance(value, bool):
        raise ZoolensError(f"{label_} must be a number or a fraction, got {value!r}", "write e.g. 8/255 or 0.0314")
    return parse_fraction(value, what=label_)


def _device(value: Any, label_: str) -> str | None:
    return check_device(value, label_, require_available=False)  # availability: preflight


@dataclasses.dataclass
class SatConfig:
    """Everything that configures a SAT run (Eq. 1 of the SAT paper, Sec. 3).

    ``preset = "sat-paper"`` fixes the attack (PGD-50, ε = 8/255, α = 2/255, random
    start) and, unless ``n_images`` is given, 5,000 images. Every field is checked on
    construction; a bad value raises a one-line :class:`~zoolens.errors.ZoolensError`.
    """

    data: str = setting("fashion-mnist", check=text(example="fashion-mnist"),
                        help="Evaluation source: fashion-mnist[:test|train], digits, imagefolder:PATH.")
    n_images: int | None = setting(None, check=integer(1, allow_none=True), flag="--n-images",
                                   help=f"Eval images (default {DEFAULT_N_IMAGES}; sat-paper preset: 5000).")
    data_seed: int = setting(0, check=integer(0), help="Seed of the eval subset.")
    attack: str = setting("pgd", check=_attack_name, help=" | ".join(ATTACKS))
    eps: float = setting(8 / 255, check=_fraction, help="L∞ budget in [0,1] pixels (fractions accepted).")
    alpha: float = setting(2 / 255, check=_fraction, help="Step size in [0,1] pixels (see docs/similarity.md).")
    steps: int = setting(50, check=integer(1), help="Attack iterations.")
    random_start: bool = setting(True, check=boolean(), flag="--random-start/--no-random-start",
                                 help="PGD random start.")
    seed: int = setting(0, check=integer(0), help="Attack seed (random start, VMI-FGSM sampling).")
    precision: str = setting("uint8", check=one_of(PRECISIONS), flag="--adv-precision",
                             help="Adversarial cache: uint8 | fp32.")
    preset: str | None = setting(None, check=one_of(tuple(PRESETS), allow_none=True),
                                 help="sat-paper: PGD-50, ε=8/255, α=2/255, 5000 images.")
    batch_size: int = setting(256, check=integer(1), help="Images per forward/backward pass.")
    fast: bool = setting(True, check=boolean(), flag="--fast/--plain",
                         help="Attack and evaluate each model's Conv-BN-folded channels_last twin (the same "
                              "function up to float rounding); --plain: the models as loaded.")
    compute_precision: str = setting("fp32", check=one_of(COMPUTE_PRECISIONS), flag="--precision",
                                     help="fp32 | bf16: attacks and evaluation under bfloat16 autocast (opt-in; "
                                          "error bound in benchmarks/precision.py).")
    device: str | None = setting(None, check=_device, help="cpu | cuda (default: cuda if available).")
    eps_s: float = setting(EPS_S, check=number(positive=True), help="ε_s of Eq. 1 (keeps the log finite).")
    n_resamples: int = setting(1000, check=integer(1), help="Bootstrap resamples of the per-pair intervals.")
    ci_level: float = setting(0.95, check=number(positive=True), help="Level of the bootstrap intervals.")
    ci_seed: int = setting(0, check=integer(0), help="Seed of the bootstrap.")
    trust_checkpoint: bool = setting(False, check=boolean(), help="Allow unpickling .pth files (runs their code).")

    def __post_init__(self) -> None:
        validate(self)
        self.attack_config()  # the combination must make a valid attack

    def check_together(self) -> None:
        if not self.ci_level < 1:
            raise ZoolensError(f"ci_level must be below 1, got {self.ci_level:g}", "e.g. 0.95")

    def attack_config(self) -> AttackConfig:
        """The attack (the preset's when one is set), normalized so equivalent settings share one cache key."""
        if self.preset is not None:
            cfg = dataclasses.replace(PRESETS[self.preset]["attack"], seed=self.seed, precision=self.precision)
        else:
            cfg = AttackConfig(self.attack, eps=self.eps, alpha=self.alpha, steps=self.steps,
                               random_start=self.random_start, seed=self.seed, precision=self.precision)
        return cfg.normalized()

    def image_count(self) -> int:
        """``n_images``, else the preset's count, else 500."""
        if self.n_images is not None:
            return self.n_images
        return PRESETS[self.preset]["n_images"] if self.preset is not None else DEFAULT_N_IMAGES

    def result_spec(self) -> dict[str, Any]:
        """What determines the tables (the model list is not part of it: models can be added)."""
        attack = self.attack_config()
        return {"data": self.data, "n_images": self.image_count(), "data_seed": self.data_seed,
                "attack": attack.as_dict(), "attack_key": attack.key(), "batch_size": self.batch_size,
                "eps_s": self.eps_s, "table_format": TABLE_FORMAT,
                "bootstrap": {"n_resamples": self.n_resamples, "level": self.ci_level, "seed": self.ci_seed},
                # recorded only when not fp32, so run directories written before it resume unchanged
                **({"compute_precision": self.compute_precision} if self.compute_precision != "fp32" else {})}

    @staticmethod
    def expand(settings: dict[str, Any]) -> dict[str, Any]:
        """Keyword settings with ``attack=AttackConfig(...)`` spelled out as the config's attack fields."""
        a = settings.get("attack")
        if not isinstance(a, AttackConfig):
            return settings
        return {**settings, "attack": a.name, "eps": a.eps, "alpha": a.alpha, "steps": a.steps,
                "random_start": a.random_start, "seed": a.seed, "precision": a.precision}

    @classmethod
    def from_run_spec(cls, spec: dict[str, Any], **overrides: Any) -> "SatConfig":
        """The config of an existing run directory's recorded spec (for adding a model to it)."""
        a = spec["attack"]
        values = {"data": spec["data"], "n_images": spec["n_images"], "data_seed": spec["data_seed"],
                  "attack": a["name"], "eps": a["eps"], "alpha": a["alpha"], "steps": a["steps"],
                  "random_start": a["random_start"], "seed": a["seed"], "precision": a["precision"],
                  "batch_size": spec["batch_size"], "eps_s": spec["eps_s"],
                  "n_resamples": spec["bootstrap"]["n_resamples"], "ci_level": spec["bootstrap"]["level"],
                  "ci_seed": spec["bootstrap"]["seed"], "compute_precision": spec.get("compute_precision", "fp32")}
        return cls(**{**values, **overrides})


__all__ = ["DEFAULT_N_IMAGES", "SatConfig", "TABLE_FORMAT"]
