"""``zoolens similarity``: the SAT matrix of a set of models (a thin layer over :mod:`zoolens.similarity`)."""

from __future__ import annotations

from typing import List, Optional

import typer

from zoolens.errors import ZoolensError
from zoolens.cli.runtime import address_option, cpus_option, executor_config, executor_option, gpus_option


def similarity_command(
    model: Optional[List[str]] = typer.Option(None, "--model", "-m", help="Model reference (repeatable)."),
    zoo: Optional[str] = typer.Option(None, "--zoo", help="Use a shipped zoo, e.g. fmnist-mini."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="With --zoo: only these model names (repeatable)."),
    data: str = typer.Option("fashion-mnist", "--data", help="fashion-mnist[:test|train], digits, imagefolder:PATH"),
    n_images: Optional[int] = typer.Option(None, "--n-images", "-n",
                                           help="Eval images (default 500; sat-paper preset: 5000)."),
    data_seed: int = typer.Option(0, "--data-seed", help="Seed of the eval subset."),
    attack: str = typer.Option("pgd", "--attack", help="pgd | fgsm | mifgsm | vmifgsm"),
    eps: str = typer.Option("8/255", "--eps", help="L∞ budget in [0,1] pixels (fractions accepted)."),
    steps: int = typer.Option(50, "--steps", help="Attack iterations."),
    alpha: str = typer.Option("2/255", "--alpha", help="Step size in [0,1] pixels (see docs/similarity.md)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="sat-paper: PGD-50, ε=8/255, α=2/255, 5000 images."),
    random_start: bool = typer.Option(True, "--random-start/--no-random-start", help="PGD random start."),
    seed: int = typer.Option(0, "--seed", help="Attack seed (random start, VMI-FGSM sampling)."),
    adv_precision: str = typer.Option("uint8", "--adv-precision", help="Adversarial cache: uint8 | fp32."),
    batch_size: int = typer.Option(256, "--batch-size", help="Images per forward/backward pass."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu | cuda (default: cuda if available)."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Run directory (resumable)."),
    add: Optional[str] = typer.Option(None, "--add", help="Add this model reference to an existing run (--to)."),
    to: Optional[str] = typer.Option(None, "--to", help="With --add: the existing run directory."),
    one_sided: str = typer.Option("full", "--one-sided", help="With --add: source | target | full."),
    trust_checkpoint: bool = typer.Option(False, "--trust-checkpoint", help="Allow full unpickling of .pth files."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    executor: str = executor_option(),
    address: Optional[str] = address_option(),
    gpus_per_unit: float = gpus_option(),
    cpus_per_unit: float = cpus_option(),
) -> None:
    """SAT (Eq. 1 of the SAT paper): attack each model once, evaluate every pair, write tables to --out."""
    from zoolens.similarity.run import add_model, build_attack, run_sat
    from zoolens.cli.render import emit

    progress = not quiet
    if add is not None or to is not None:
        if add is None or to is None:
            raise ZoolensError("--add and --to go together", "e.g. --add zoo:fmnist-mini/vit_baseline --to runs/sat")
        if model or zoo:
            raise ZoolensError("--add takes the other models from --to", "drop --model/--zoo")
        res = add_model(add, to, one_sided, device=device, progress=progress, trust_checkpoint=trust_checkpoint)
    else:
        from zoolens.zoo.selection import model_refs

        refs = model_refs(model, zoo, only)
        if out is None:
            raise ZoolensError("--out is required", "e.g. --out runs/sat")
        cfg, n = build_attack(attack, eps=eps, alpha=alpha, steps=steps, random_start=random_start, seed=seed,
                              precision=adv_precision, preset=preset, n_images=n_images)
        if n is None:
            n = 500
        if preset is not None and n_images is not None:
            n = n_images  # an explicit --n-images overrides the preset's count
        res = run_sat(refs, data=data, n_images=n, data_seed=data_seed, attack=cfg, out=out,
                      batch_size=batch_size, device=device, progress=progress, trust_checkpoint=trust_checkpoint,
                      executor=executor_config(executor, address, gpus_per_unit, cpus_per_unit))
    emit(res.attack[["model", "clean_accuracy", "adversarial_accuracy", "success_rate"]], "table",
         title="white-box attack")
    emit(res.sat.round(3).reset_index(), "table", title=f"SAT matrix ({res.out})")


__all__ = ["similarity_command"]
