"""``zoolens criticality``: layer criticality of a set of models (a thin layer over :mod:`zoolens.criticality`)."""

from __future__ import annotations

from typing import Optional

import typer

from zoolens.cli.options import config_option
from zoolens.cli.runtime import executor_option
from zoolens.criticality.config import CriticalityConfig
from zoolens.errors import ZoolensError
from zoolens.runtime.executors import ExecutorConfig


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


C = CriticalityConfig


def criticality_command(
    model: Optional[list[str]] = typer.Option(None, "--model", "-m", help="Model reference (repeatable)."),
    zoo: Optional[str] = typer.Option(None, help="All models of a zoo, e.g. fmnist-mini."),
    only: Optional[list[str]] = typer.Option(None, help="With --zoo: only these model names (repeatable)."),
    data: str = config_option(C, "data"),
    n_images: int = config_option(C, "n_images", "-n"),
    data_seed: int = config_option(C, "data_seed"),
    seeds: str = config_option(C, "seeds", as_text=True),
    randomize: str = config_option(C, "randomize"),
    engine: str = config_option(C, "engine"),
    include_norm: bool = config_option(C, "include_norm"),
    layers: Optional[str] = config_option(C, "layers"),
    precision: str = config_option(C, "precision"),
    target_se: float = config_option(C, "target_se"),
    se_chunk: int = config_option(C, "se_chunk"),
    batch_size: str = config_option(C, "batch_size", as_text=True),
    device: str = config_option(C, "device"),
    layers_per_unit: int = config_option(C, "layers_per_unit"),
    auxiliary_below: float = config_option(C, "auxiliary_below"),
    critical_above: float = config_option(C, "critical_above"),
    trust_checkpoint: bool = config_option(C, "trust_checkpoint"),
    out: str = typer.Option("runs/criticality", help="Run directory (rerun the same command to resume)."),
    executor: str = executor_option("kind"),
    address: Optional[str] = executor_option("address"),
    gpus_per_unit: float = executor_option("gpus_per_unit"),
    cpus_per_unit: float = executor_option("cpus_per_unit"),
) -> None:
    """Layer criticality: reset one layer at a time, measure how far the decisions move.

    Writes criticality.parquet/.csv (model, layer, seed rows), criticality_summary.csv
    (mean, standard error, role), models.csv and manifest.json to --out. With
    --target-se, each layer uses only as many images as its standard error needs.
    """
    from rich.console import Console

    from zoolens.criticality import criticality
    from zoolens.zoo.selection import model_refs

    config = CriticalityConfig(data=data, n_images=n_images, data_seed=data_seed, seeds=parse_seeds(seeds),
                               randomize=randomize, engine=engine, include_norm=include_norm, layers=layers,
                               precision=precision, target_se=target_se, se_chunk=se_chunk,
                               batch_size=batch_size, device=device,
                               layers_per_unit=layers_per_unit, auxiliary_below=auxiliary_below,
                               critical_above=critical_above, trust_checkpoint=trust_checkpoint)  # config
    refs = model_refs(model, zoo, only)  # parse (after the settings: a bad value is named even without models)
    ex = ExecutorConfig(kind=executor, address=address, gpus_per_unit=gpus_per_unit,
                                 cpus_per_unit=cpus_per_unit)
    table = criticality(refs, config, out=out, executor=ex, progress=True)  # API
    console = Console()
    if config.target_se > 0:  # render: what the adaptive budget used
        for line in budget_lines(table.attrs["models"]):
            console.print(line)
    console.print(f"{len(table)} rows for {table['model'].nunique()} model(s) written to [bold]{out}[/bold]")


def budget_lines(models) -> list[str]:
    """One line per model: images used per layer (min/median/max of N) and image passes vs the fixed budget."""
    lines = []
    for _, m in models.iterrows():
        passes = (f"; {m['image_passes']:,.0f} of {m['image_passes_fixed']:,.0f} image passes "
                  f"({m['image_passes'] / m['image_passes_fixed']:.0%})" if m["image_passes_fixed"] > 0 else "")
        lines.append(f"{m['model']}: images per layer {m['n_images_used_min']:.0f} / {m['n_images_used_median']:.0f}"
                     f" / {m['n_images_used_max']:.0f} (min / median / max) of {m['n_images']}{passes}")
    return lines


__all__ = ["budget_lines", "criticality_command", "parse_seeds"]
