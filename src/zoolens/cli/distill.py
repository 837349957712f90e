"""``zoolens distill``: hard knowledge distillation from several teachers into one ViT student recipe, with each
teacher's SAT (SAT paper Sec. 5.2, App. E-F; a thin layer over :mod:`zoolens.distill`)."""

from __future__ import annotations

from typing import List, Optional

import typer

from zoolens.cli.options import config_option
from zoolens.cli.runtime import executor_option
from zoolens.distill.config import TEACHER_PRESET, DistillConfig
from zoolens.errors import ZoolensError
from zoolens.runtime.executors import ExecutorConfig

D = DistillConfig


def parse_teachers(values: Optional[List[str]]) -> list[str]:
    """``--teachers`` values (repeatable, each may be a comma list) as references; none: the preset."""
    if not values:
        return list(TEACHER_PRESET)
    refs = [v.strip() for value in values for v in value.split(",") if v.strip()]
    if not refs:
        raise ZoolensError("--teachers names no model", "e.g. --teachers zoo:fmnist-mini/resnet_baseline")
    return refs


def distill_command(
    teachers: Optional[List[str]] = typer.Option(
        None, "--teachers", "-t", help="Teacher references (repeatable or comma-separated; default: the mini-zoo "
                                       f"preset of {len(TEACHER_PRESET)} teachers, every family and training "
                                       "method)."),
    data: str = config_option(D, "data"),
    n_images: int = config_option(D, "n_images", "-n"),
    data_seed: int = config_option(D, "data_seed"),
    baseline: str = config_option(D, "baseline"),
    epochs: int = config_option(D, "epochs"),
    max_steps: Optional[int] = config_option(D, "max_steps"),
    test_images: Optional[int] = config_option(D, "test_images"),
    attack: str = config_option(D, "attack"),
    eps: str = config_option(D, "eps", as_text=True),
    alpha: str = config_option(D, "alpha", as_text=True),
    steps: int = config_option(D, "steps"),
    batch_size: int = config_option(D, "batch_size"),
    n_resamples: int = config_option(D, "n_resamples"),
    device: Optional[str] = config_option(D, "device"),
    trust_checkpoint: bool = config_option(D, "trust_checkpoint"),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Run directory (rerun the same command to resume)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    executor: str = executor_option("kind"),
    address: Optional[str] = executor_option("address"),
    gpus_per_unit: float = executor_option("gpus_per_unit"),
    cpus_per_unit: float = executor_option("cpus_per_unit"),
) -> None:
    """Hard-distil one ViT student per teacher; SAT of each teacher with the ViT baseline (docs/distillation.md).

    Writes distill.parquet/.csv (one row per teacher: teacher and student accuracy, SAT with its
    bootstrap interval), the students' weights and manifest.json to --out; `zoolens analyze` draws
    Fig. 11a-c and F.1 and scores the paper's correlations.
    """
    from zoolens.cli.render import emit
    from zoolens.distill.run import run_distill

    refs = parse_teachers(teachers)  # parse
    if out is None:
        raise ZoolensError("--out is required", "e.g. --out runs/distill")
    config = DistillConfig(data=data, n_images=n_images, data_seed=data_seed, baseline=baseline, epochs=epochs,
                           max_steps=max_steps, test_images=test_images, attack=attack, eps=eps, alpha=alpha,
                           steps=steps, batch_size=batch_size, n_resamples=n_resamples, device=device,
                           trust_checkpoint=trust_checkpoint)  # config
    table = run_distill(refs, config, out=out, progress=not quiet,
                        executor=ExecutorConfig(kind=executor, address=address, gpus_per_unit=gpus_per_unit,
                                                cpus_per_unit=cpus_per_unit))  # API
    # The columns a reader compares; intervals, steps and times are in distill.csv (an 80-column
    # terminal wrapped every cell of the 10-column table).
    shown = table[["teacher", "transformer", "teacher_acc", "student_acc", "sat"]].round(2)
    shown["transformer"] = shown["transformer"].map({True: "yes", False: "no"}).fillna("?")
    emit(shown, "table", title=f"hard distillation into {config.recipe().name} ({out}/distill.csv)",
         keys=("teacher",))


__all__ = ["distill_command", "parse_teachers"]
