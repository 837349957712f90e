"""``zoolens data info``: what an evaluation source holds and where its preprocessed subsets are cached."""

from __future__ import annotations

from typing import Optional

import typer

from zoolens.cli.render import OutputFormat, emit

app = typer.Typer(help="Evaluation data sets.", no_args_is_help=True)


@app.command("info")
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
    if model is not None or n is not None:  # a subset was asked for: build (and cache) it
        from zoolens.models import load_model

        m = load_model(model) if model else None
        ds = load_data(source, n=n, seed=seed, model=m, strict=strict, progress=True)
        rows.update({"subset": len(ds), "subset_shape": "x".join(map(str, ds.images.shape[1:])),
                     "skipped": ds.n_skipped, "cache": str(ds.cache_path)})
    df = pd.DataFrame({"field": list(rows), "value": [str(v) for v in rows.values()]})
    if fmt is OutputFormat.table:  # a tall field/value table reads better than one wide row
        emit(df, fmt, title=f"data {source}")
    else:
        emit(pd.DataFrame([rows]), fmt)


__all__ = ["app", "data_info"]
