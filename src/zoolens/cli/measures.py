"""``zoolens measures``: other similarity measures between models (a thin layer over :mod:`zoolens.similarity.measures`)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from zoolens.cli.options import config_option
from zoolens.cli.runtime import executor_option
from zoolens.errors import ZoolensError
from zoolens.runtime.executors import ExecutorConfig
from zoolens.similarity.measures.config import MeasuresConfig

M = MeasuresConfig


def measures_command(
    models: Optional[List[str]] = typer.Argument(None, help="Model references (or use --model/--zoo)."),
    model: Optional[List[str]] = typer.Option(None, "--model", "-m", help="Model reference (repeatable)."),
    zoo: Optional[str] = typer.Option(None, "--zoo", help="All models of a zoo, e.g. fmnist-mini."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="With --zoo: only these model names (repeatable)."),
    data: str = config_option(M, "data"),
    n_images: int = config_option(M, "n_images", "-n"),
    data_seed: int = config_option(M, "data_seed"),
    measures: str = config_option(M, "measures", as_text=True),
    triplets: int = config_option(M, "triplets"),
    grid: int = config_option(M, "grid"),
    plane_margin: float = config_option(M, "plane_margin"),
    plane_seed: int = config_option(M, "plane_seed"),
    tramer_images: int = config_option(M, "tramer_images"),
    tramer_scan: int = config_option(M, "tramer_scan"),
    tramer_refine: int = config_option(M, "tramer_refine"),
    tramer_max_distance: float = config_option(M, "tramer_max_distance"),
    batch_size: int = config_option(M, "batch_size"),
    device: Optional[str] = config_option(M, "device"),
    trust_checkpoint: bool = config_option(M, "trust_checkpoint"),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Run directory (rerun the same command to resume)."),
    arch_clusters: int = typer.Option(0, "--arch-clusters", help="Also K-means the models' architecture components "
                                      "into this many clusters (SAT paper App. A.2); writes arch_clusters.csv."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    executor: str = executor_option("kind"),
    address: Optional[str] = executor_option("address"),
    gpus_per_unit: float = executor_option("gpus_per_unit"),
    cpus_per_unit: float = executor_option("cpus_per_unit"),
) -> None:
    """Linear CKA, error consistency, disagreement, Somepalli planes, Tramèr distances (docs/measures.md).

    Writes measures.parquet/.csv (one row per model pair), measures_models.csv and manifest.json to --out.
    """
    from zoolens.cli.render import emit
    from zoolens.similarity.measures.run import run_measures
    from zoolens.zoo.selection import model_refs

    refs = model_refs([*(models or []), *(model or [])], zoo, only)  # parse
    if out is None:
        raise ZoolensError("--out is required", "e.g. --out runs/measures")
    config = MeasuresConfig(data=data, n_images=n_images, data_seed=data_seed, measures=measures, triplets=triplets,
                            grid=grid, plane_margin=plane_margin, plane_seed=plane_seed, tramer_images=tramer_images,
                            tramer_scan=tramer_scan, tramer_refine=tramer_refine,
                            tramer_max_distance=tramer_max_distance, batch_size=batch_size, device=device,
                            trust_checkpoint=trust_checkpoint)  # config
    clusters = _arch_clusters(refs, arch_clusters) if arch_clusters else None
    table = run_measures(refs, config, out=out, progress=not quiet,
                         executor=ExecutorConfig(kind=executor, address=address, gpus_per_unit=gpus_per_unit,
                                                 cpus_per_unit=cpus_per_unit))  # API
    tramer = ("tramer_legitimate", "tramer_random", "tramer_adversarial")
    shown = [c for c in ("model_a", "model_b", *config.measures, *tramer) if c in table.columns]
    emit(table[shown].round(3), "table", title=f"similarity measures ({out})", keys=("model_a", "model_b"))
    if clusters is not None:
        from zoolens.io import write_table

        write_table(clusters, Path(out) / "arch_clusters.csv")
        emit(clusters, "table", title="K-means on architecture components (SAT paper App. A.2)")


def _arch_clusters(refs: list[str], k: int):
    """The App. A.2 baseline for the given models, from their zoo metadata (before anything runs)."""
    from zoolens.analysis.arch_kmeans import architecture_kmeans
    from zoolens.analysis.meta import model_metadata

    meta = model_metadata(refs)
    missing = meta.attrs.get("missing") or []
    if missing:
        raise ZoolensError(f"no architecture components known for {', '.join(missing[:3])}",
                           "--arch-clusters needs zoo models (e.g. --zoo fmnist-mini)")
    if k < 1:
        raise ZoolensError(f"--arch-clusters must be ≥ 1, got {k}", "e.g. --arch-clusters 3")
    labels = architecture_kmeans(meta, k)
    return labels.rename_axis("model").reset_index()


__all__ = ["measures_command"]
