"""The settings of a criticality run, declared once (CLI, API, study files and plans read them here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from zoolens.checks import check_device, seed_list
from zoolens.criticality.batching import AUTO
from zoolens.criticality.engines import ENGINES, PRECISIONS
from zoolens.config import boolean, integer, label, number, one_of, recorded, setting, text, validate
from zoolens.errors import ZoolensError
from zoolens.models.layers import compile_layer_pattern

# The paper's thresholds were lost in extraction; these are ours (configurable).
AUXILIARY_BELOW = 0.05
CRITICAL_ABOVE = 0.5
# What determines the numbers of a run (recorded as its spec; resuming needs them equal).
# target_se and se_chunk are recorded only when target_se > 0 (fixed-budget specs are as before).
RESULT_FIELDS = ("data", "n_images", "data_seed", "seeds", "randomize", "include_norm", "layers", "precision",
                 "target_se", "se_chunk")


def _adaptive(config: "CriticalityConfig") -> bool:
    return config.target_se > 0


def _seeds(value: Any, label_: str) -> list[int]:
    return seed_list(list(value) if isinstance(value, tuple) else value, label_)


def _randomize(value: Any, label_: str) -> str:
    if not isinstance(value, str) or not (value in ("init", "zero") or value.startswith("checkpoint:")):
        raise ZoolensError(f"unknown randomization strategy {value!r} for {label_}", "use init, zero or checkpoint:PATH")
    path = value[len("checkpoint:"):]
    if value.startswith("checkpoint:") and not Path(path).is_file():
        raise ZoolensError(f"{label_} {value}: {path} is not a file", "give the initial checkpoint's path after checkpoint:")
    return value


def _layers(value: Any, label_: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ZoolensError(f"{label_} must be a regular expression, got {value!r}", "e.g. 'layer1'")
    compile_layer_pattern(value)
    return value


def _batch_size(value: Any, label_: str) -> int | str:
    if isinstance(value, str) and value.strip().isdigit():  # from the command line or a study file as text
        value = int(value)
    if value == AUTO:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ZoolensError(f"{label_} must be a whole number ≥ 1 or 'auto', got {value!r}", "e.g. 64 or auto")
    return value


def _device(value: Any, label_: str) -> str:
    return check_device(value, label_, require_available=False) or "cpu"  # availability: preflight


@dataclasses.dataclass
class CriticalityConfig:
    """Everything that configures a criticality run (criticality paper, Sec. 3).

    Every field is checked on construction; a bad value raises a one-line
    :class:`~zoolens.errors.ZoolensError` naming the field and its fix.
    """

    data: str = setting("fashion-mnist", check=text(example="fashion-mnist"),
                        help="Evaluation source: fashion-mnist[:test|train], digits, imagefolder:PATH.")
    n_images: int | None = setting(1000, check=integer(1, allow_none=True), flag="--n-images",
                                   help="Seeded, class-stratified subset size (None: every image).")
    data_seed: int = setting(0, check=integer(0), help="Seed of the image subset.")
    seeds: list[int] = setting(default_factory=lambda: [0, 1, 2], check=_seeds,
                               help="Number of randomization seeds, or a list like 0,1,2.")
    randomize: str = setting("init", check=_randomize,
                             help="init (architecture's own initializer), zero, or checkpoint:PATH.")
    engine: str = setting("fast", check=one_of(tuple(ENGINES)),
                          help="fast (suffix replay, channels_last, Conv-BN folded), suffix (plain suffix "
                               "replay) or naive (full forward per layer).")
    include_norm: bool = setting(False, check=boolean(), help="Also randomize normalization layers.")
    layers: str | None = setting(None, check=_layers, help="Regex on module paths selecting the layers.")
    precision: str = setting("fp32", check=one_of(tuple(PRECISIONS)), help="fp32, bf16 or fp16.")
    target_se: float = setting(0.0, check=number(minimum=0.0), flag="--target-se", record_if=_adaptive,
                               help="Add images in chunks per layer until its standard error over images is at "
                                    "most this, up to --n-images (0: every layer uses every image).")
    se_chunk: int = setting(100, check=integer(2), flag="--se-chunk", record_if=_adaptive,
                            help="With --target-se: images added per step (the first step too).")
    batch_size: int | str = setting(64, check=_batch_size,
                                    help="Images per forward pass, or auto (time the engine at doubling "
                                         "batches on this machine and keep the fastest).")
    device: str = setting("cpu", check=_device, help="cpu or cuda.")
    layers_per_unit: int = setting(0, check=integer(0),
                                   help="Split each model into work units of this many layers (0: one per model).")
    auxiliary_below: float = setting(AUXILIARY_BELOW, check=number(),
                                     help="Mean criticality below this: role 'auxiliary'.")
    critical_above: float = setting(CRITICAL_ABOVE, check=number(), help="Mean criticality above this: role 'critical'.")
    trust_checkpoint: bool = setting(False, check=boolean(), help="Allow unpickling .pth files (runs their code).")

    def __post_init__(self) -> None:
        validate(self)

    def check_together(self) -> None:
        if self.auxiliary_below > self.critical_above:
            raise ZoolensError(f"{label(self, 'auxiliary_below')} {self.auxiliary_below:g} is above "
                               f"{label(self, 'critical_above')} {self.critical_above:g}",
                               "the auxiliary threshold must not exceed the critical one")

    def result_spec(self) -> dict[str, Any]:
        """The settings that determine the numbers (a run directory's recorded spec)."""
        values = recorded(self)
        return {k: values[k] for k in RESULT_FIELDS if k in values}

    def effective_seeds(self) -> int:
        """Seeds actually drawn: ``zero`` and ``checkpoint:`` resets are deterministic (one draw)."""
        return len(self.seeds) if self.randomize == "init" else 1


__all__ = ["AUXILIARY_BELOW", "CRITICAL_ABOVE", "CriticalityConfig",
           "RESULT_FIELDS"]
