"""``zoolens similarity``: the SAT matrix of a set of models (a thin layer over :mod:`zoolens.similarity`)."""

from __future__ import annotations

from typing import List, Optional

import typer

from zoolens.cli.options import config_option
from zoolens.cli.runtime import executor_option
from zoolens.errors import ZoolensError
from zoolens.runtime.executors import ExecutorConfig
from zoolens.similarity.config import SatConfig

S = SatConfig


def similarity_command(
    model: Optional[List[str]] = typer.Option(None, "--model", "-m", help="Model reference (repeatable)."),
    zoo: Optional[str] = typer.Option(None, "--zoo", help="Use a shipped zoo, e.g. fmnist-mini."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="With --zoo: only these model names (repeatable)."),
    data: str = config_option(S, "data"),
    n_images: Optional[int] = config_option(S, "n_images", "-n"),
    data_seed: int = config_option(S, "data_seed"),
    attack: str = config_option(S, "attack"),
    eps: str = config_option(S, "eps", as_text=True),
    steps: int = config_option(S, "steps"),
    alpha: str = config_option(S, "alpha", as_text=True),
    preset: Optional[str] = config_option(S, "preset"),
    random_start: bool = config_option(S, "random_start"),
    seed: int = config_option(S, "seed"),
    adv_precision: str = config_option(S, "precision"),
    batch_size: int = config_option(S, "batch_size"),
    fast: bool = config_option(S, "fast"),
    compute_precision: str = config_option(S, "compute_precision"),
    device: Optional[str] = config_option(S, "device"),
    eps_s: float = config_option(S, "eps_s"),
    n_resamples: int = config_option(S, "n_resamples"),
    ci_level: float = config_option(S, "ci_level"),
    ci_seed: int = config_option(S, "ci_seed"),
    trust_checkpoint: bool = config_option(S, "trust_checkpoint"),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Run directory (resumable)."),
    add: Optional[str] = typer.Option(None, "--add", help="Add this model reference to an existing run (--to)."),
    to: Optional[str] = typer.Option(None, "--to", help="With --add: the existing run directory."),
    one_sided: str = typer.Option("full", "--one-sided", help="With --add: source | target | full."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    executor: str = executor_option("kind"),
    address: Optional[str] = executor_option("address"),
    gpus_per_unit: float = executor_option("gpus_per_unit"),
    cpus_per_unit: float = executor_option("cpus_per_unit"),
) -> None:
    """SAT (Eq. 1 of the SAT paper): attack each model once, evaluate every pair, write tables to --out."""
    from zoolens.cli.render import emit
    from zoolens.similarity.run import add_model, run_sat

    progress = not quiet
    if add is not None or to is not None:
        if add is None or to is None:
            raise ZoolensError("--add and --to go together", "e.g. --add zoo:fmnist-mini/vit_baseline --to runs/sat")
        if model or zoo:
            raise ZoolensError("--add takes the other models from --to", "drop --model/--zoo")
        if one_sided not in ("full", "source", "target"):
            raise ZoolensError(f"unknown --one-sided mode {one_sided!r}", "use source, target or full")
        res = add_model(add, to, one_sided, device=device, progress=progress, trust_checkpoint=trust_checkpoint)
    else:
        from zoolens.zoo.selection import model_refs

        refs = model_refs(model, zoo, only)  # parse
        if out is None:
            raise ZoolensError("--out is required", "e.g. --out runs/sat")
        config = SatConfig(data=data, n_images=n_images, data_seed=data_seed, attack=attack, eps=eps, alpha=alpha,
                           steps=steps, random_start=random_start, seed=seed, precision=adv_precision, preset=preset,
                           batch_size=batch_size, device=device, eps_s=eps_s, n_resamples=n_resamples,
                           ci_level=ci_level, ci_seed=ci_seed, trust_checkpoint=trust_checkpoint, fast=fast,
                           compute_precision=compute_precision)  # config
        res = run_sat(refs, config, out=out, progress=progress,
                      executor=ExecutorConfig(kind=executor, address=address, gpus_per_unit=gpus_per_unit,
                                             cpus_per_unit=cpus_per_unit))  # API
    emit(res.attack[["model", "clean_accuracy", "adversarial_accuracy", "success_rate"]], "table",
         title="white-box attack")
    _show_sat(res.sat, res.out)


def _show_sat(sat, out) -> None:
    """The SAT matrix when it fits the terminal; else the most and least similar pairs.

    A matrix of many models squeezed into a terminal wraps every name and number into
    one character per line, which nobody can read; the full matrix is always on disk.
    """
    import itertools

    import pandas as pd
    from rich.console import Console

    from zoolens.cli.render import emit

    names = list(sat.index)
    if (len(names) + 1) * 9 <= Console().width:  # every column keeps a 6-character number and padding
        emit(sat.round(3).reset_index(), "table", title=f"SAT matrix ({out})")
        return
    pairs = pd.DataFrame([{"model_a": a, "model_b": b, "sat": round(float(sat.loc[a, b]), 3)}
                          for a, b in itertools.combinations(names, 2)]).sort_values("sat", ascending=False)
    shown = pd.concat([pairs.head(5), pairs.tail(5)]) if len(pairs) > 10 else pairs
    emit(shown, "table", keys=["model_a", "model_b"],
         title=f"SAT: the 5 most and 5 least similar of {len(pairs)} pairs (the whole matrix: {out}/sat_matrix.csv)")


__all__ = ["similarity_command"]
