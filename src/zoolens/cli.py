"""The ``zoolens`` command line: a thin typer layer over the Python API.

Errors caused by input print one line on stderr and exit with code 2; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from zoolens.errors import ZoolensError
from zoolens.runtime_cli import (address_option, cpus_option, executor_config, executor_option, gpus_option,
                                 plan_command, run_command)
from zoolens.tables import OutputFormat, emit

app = typer.Typer(help="Look inside a zoo of image classifiers: layer criticality and attack-transferability "
                       "similarity (SAT).", no_args_is_help=True, pretty_exceptions_enable=False,
                  add_completion=False)
data_app = typer.Typer(help="Evaluation data sets.", no_args_is_help=True)
models_app = typer.Typer(help="Model references.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")

_STATE = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
          online: bool = typer.Option(False, "--online", help="Allow downloading pretrained weights.")) -> None:
    from zoolens.offline import set_online

    _STATE["debug"] = debug
    set_online(online)


# ---------------------------------------------------------------------------- data
@data_app.command("info")
def data_info(source: str = typer.Argument(..., help="fashion-mnist[:test|train], digits or imagefolder:PATH"),
              n: Optional[int] = typer.Option(None, "--n-images", "-n", help="Subset size (default: all)."),
              seed: int = typer.Option(0, help="Subset seed."),
              model: Optional[str] = typer.Option(None, help="Preprocess for this model reference and cache it."),
              strict: bool = typer.Option(False, help="Fail on unreadable images instead of skipping them."),
              fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Count, classes, image size and cache location of a data source."""
    import pandas as pd

    from zoolens.data import load_data, open_source
    from zoolens.data.cache import cache_root

    raw = open_source(source)
    rows = {"source": raw.name, "location": raw.location, "images": len(raw), "classes": len(raw.classes),
            "image_size": "x".join(map(str, raw.image_size)) if raw.image_size else "varies",
            "channels": raw.channels, "fingerprint": raw.fingerprint, "cache": str(cache_root())}
    if model is not None or n is not None:
        from zoolens.models import load_model

        m = load_model(model) if model else None
        ds = load_data(source, n=n, seed=seed, model=m, strict=strict, progress=True)
        rows.update({"subset": len(ds), "subset_shape": "x".join(map(str, ds.images.shape[1:])),
                     "skipped": ds.n_skipped, "cache": str(ds.cache_path)})
    df = pd.DataFrame({"field": list(rows), "value": [str(v) for v in rows.values()]})
    if fmt is OutputFormat.table:
        emit(df, fmt, title=f"data {source}")
    else:
        emit(pd.DataFrame([rows]), fmt)


# -------------------------------------------------------------------------- models
@models_app.command("info")
def models_info(ref: str = typer.Argument(..., help="timm:NAME[@FILE|@init:SEED], tv:NAME[:WEIGHTS], zoo:ZOO/NAME, "
                                                     "py:module:function"),
                include_norm: bool = typer.Option(False, "--include-norm", help="Also list normalization layers."),
                layers: Optional[str] = typer.Option(None, "--layers", help="Regex on module paths."),
                trust_checkpoint: bool = typer.Option(False, "--trust-checkpoint",
                                                      help="Allow full unpickling of .pth files (runs code)."),
                fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Parameter-owning layers in execution order, parameter counts, input size, preprocessing."""
    import pandas as pd
    from rich.console import Console

    from zoolens.models import discover_layers, load_model

    model = load_model(ref, trust_checkpoint=trust_checkpoint)
    found = discover_layers(model.net, model.input_size, include_norm=include_norm, pattern=layers)
    df = pd.DataFrame([{"index": l.index, "layer": l.name or "<root>", "type": l.module_type,
                        "params": l.n_params, "tensors": ",".join(l.param_names)} for l in found])
    if fmt is OutputFormat.table:
        p = model.preprocess
        total = sum(t.numel() for t in model.net.parameters())
        Console(stderr=False).print(
            f"[bold]{ref}[/bold]  params={total:,}  classes={model.num_classes}  input={p.input_size}  "
            f"resize={p.interpolation} crop_pct={p.crop_pct:g}  mean={tuple(round(v, 4) for v in p.mean)}  "
            f"std={tuple(round(v, 4) for v in p.std)}  reinit={'own init' if model.reinitializer and model.reinitializer.exact else 'reset_parameters'}")
    emit(df, fmt, title=f"{len(df)} layers")


def _parse_seeds(seeds: str) -> list[int]:
    """``--seeds``: a count (``3`` → 0,1,2) or a comma-separated list; checked (distinct, in range)."""
    from zoolens.checks import seed_list

    try:
        if "," in seeds:
            return seed_list([int(s) for s in seeds.split(",") if s.strip()])
        return seed_list(int(seeds))
    except ValueError:
        raise ZoolensError(f"cannot read --seeds {seeds!r}", "pass a count (3) or a list (0,1,2)") from None


@app.command("criticality")
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

    from zoolens.selection import model_refs

    refs = model_refs(model, zoo, only)
    table = criticality(refs, data=data, n_images=n_images, seeds=_parse_seeds(seeds), randomize=randomize,
                        engine=engine, include_norm=include_norm, layers=layers, data_seed=data_seed,
                        precision=precision, batch_size=batch_size, device=device, out=out,
                        trust_checkpoint=trust_checkpoint, auxiliary_below=auxiliary_below,
                        critical_above=critical_above, progress=True,
                        executor=executor_config(executor, address, gpus_per_unit, cpus_per_unit))
    Console().print(f"{len(table)} rows for {table['model'].nunique()} model(s) written to [bold]{out}[/bold]")


from zoolens.analysis_cli import analyze_command, demo_command, report_command  # noqa: E402
from zoolens.import_cli import import_app  # noqa: E402
from zoolens.doctor import doctor_command  # noqa: E402
from zoolens.similarity_cli import similarity_command  # noqa: E402

app.command("similarity")(similarity_command)
app.command("run")(run_command)
app.command("plan")(plan_command)
app.command("analyze")(analyze_command)
app.command("report")(report_command)
app.command("demo")(demo_command)
app.add_typer(import_app, name="import")
app.command("doctor")(doctor_command)


def _mount_optional() -> None:
    """Sub-apps of other subpackages, mounted when present."""
    try:
        from zoolens.zoo.cli import app as zoo_app
    except ImportError:
        return
    from zoolens.zoo.paper.cli import fetch_command, status_command

    zoo_app.command("status")(status_command)
    zoo_app.command("fetch")(fetch_command)
    app.add_typer(zoo_app, name="zoo", help="Model zoos: the shipped mini zoo and the papers' zoos.")


_mount_optional()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: one line and exit 2 for bad input, 130 on Ctrl-C (see :mod:`zoolens.cli_guard`)."""
    from zoolens.cli_guard import guarded_main

    return guarded_main(app, argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
