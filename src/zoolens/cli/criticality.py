"""``zoolens criticality``: layer criticality of a set of models (a thin layer over :mod:`zoolens.criticality`)."""

from __future__ import annotations

from typing import Optional

import typer

from zoolens.cli.runtime import address_option, cpus_option, executor_config, executor_option, gpus_option
from zoolens.errors import ZoolensError


def parse_seeds(seeds: str) -> list[int]:
    """Read ``--seeds``: a count (``3`` → 0, 1, 2) or a comma-separated list.

    Parameters
    ----------
    seeds:
        The option's text.

    Returns
    -------
    list of int
        Distinct seeds in ``[0, 2**32)``.

    Raises
    ------
    ZoolensError
        When the text is neither a count nor a list of integers, or the seeds are invalid.
    """
    from zoolens.checks import seed_list

    try:
        if "," in seeds:
            return seed_list([int(s) for s in seeds.split(",") if s.strip()])
        return seed_list(int(seeds))
    except ValueError:
        raise ZoolensError(f"cannot read --seeds {seeds!r}", "pass a count (3) or a list (0,1,2)") from None


def criticality_command(
    model: Optional[list[str]] = typer.Option(None, "--model", "-m", help="Model reference (repeatable)."),
    zoo: Optional[str] = typer.Option(None, help="All models of a zoo, e.g. fmnist-mini."),
    only: Optional[list[str]] = typer.Option(None, help="With --zoo: only these model names (repeatable)."),
    data: str = typer.Option("fashion-mnist", help="Evaluation source."),
    n_images: int = typer.Option(1000, "--n-images", "-n", help="Seeded, class-stratified subset size."),
    data_seed: int = typer.Option(0, help="Seed of the image subset."),
    seeds: str = typer.Option("3", help="Number of randomization seeds, or a list like 0,1,2."),
    randomize: str = typer.Option("init", help="init (architecture's own initializer), zero, or checkpoint:PATH."),
    engine: str = typer.Option("fast", help="fast (exact suffix replay) or naive (full forward per layer)."),
    include_norm: bool = typer.Option(False, "--include-norm", help="Also randomize normalization layers."),
    layers: Optional[str] = typer.Option(None, help="Regex on module paths selecting the layers."),
    precision: str = typer.Option("fp32", help="fp32, bf16 or fp16."),
    batch_size: int = typer.Option(64, help="Images per forward pass."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    auxiliary_below: float = typer.Option(0.05, help="Mean criticality below this: role 'auxiliary'."),
    critical_above: float = typer.Option(0.5, help="Mean criticality above this: role 'critical'."),
    trust_checkpoint: bool = typer.Option(False, "--trust-checkpoint", help="Allow unpickling .pth files."),
    out: str = typer.Option("runs/criticality", help="Run directory (rerun the same command to resume)."),
    executor: str = executor_option(),
    address: Optional[str] = address_option(),
    gpus_per_unit: float = gpus_option(),
    cpus_per_unit: float = cpus_option(),
) -> None:
    """Layer criticality: reset one layer at a time, measure how far the decisions move.

    Writes criticality.parquet/.csv (model, layer, seed rows), criticality_summary.csv
    (mean, standard error, role), models.csv and manifest.json to --out.
    """
    from rich.console import Console

    from zoolens.criticality import criticality
    from zoolens.zoo.selection import model_refs

    refs = model_refs(model, zoo, only)
    table = criticality(refs, data=data, n_images=n_images, seeds=parse_seeds(seeds), randomize=randomize,
                        engine=engine, include_norm=include_norm, layers=layers, data_seed=data_seed,
                        precision=precision, batch_size=batch_size, device=device, out=out,
                        trust_checkpoint=trust_checkpoint, auxiliary_below=auxiliary_below,
                        critical_above=critical_above, progress=True,
                        executor=executor_config(executor, address, gpus_per_unit, cpus_per_unit))
    Console().print(f"{len(table)} rows for {table['model'].nunique()} model(s) written to [bold]{out}[/bold]")


__all__ = ["criticality_command", "parse_seeds"]
