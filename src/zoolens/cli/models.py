"""``zoolens models info``: the layers criticality would reset, and how a model is preprocessed."""

from __future__ import annotations

from typing import Optional

import typer

from zoolens.cli.render import OutputFormat, emit

app = typer.Typer(help="Model references.", no_args_is_help=True)


@app.command("info")
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
    if fmt is OutputFormat.table:  # csv/json stay machine-readable: the header line only goes with the table
        Console(stderr=False).print(_header(ref, model))
    emit(df, fmt, title=f"{len(df)} layers", keys=["layer"])


def _header(ref: str, model) -> str:
    """One line: parameters, classes and the preprocessing (timm eval transform) of ``model``."""
    p = model.preprocess
    total = sum(t.numel() for t in model.net.parameters())
    reinit = "own init" if model.reinitializer and model.reinitializer.exact else "reset_parameters"
    return (f"[bold]{ref}[/bold]  params={total:,}  classes={model.num_classes}  input={p.input_size}  "
            f"resize={p.interpolation} crop_pct={p.crop_pct:g}  mean={tuple(round(v, 4) for v in p.mean)}  "
            f"std={tuple(round(v, 4) for v in p.std)}  reinit={reinit}")


__all__ = ["app", "models_info"]
