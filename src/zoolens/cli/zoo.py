"""``zoolens zoo``: list every registered zoo, (re)train the shipped mini zoo, status and fetch of zoos' weights.

Bad input raises :class:`~zoolens.errors.ZoolensError`, which :func:`zoolens.cli.main`
prints as one line with exit code 2. ``status`` never touches the network; ``fetch``
refuses to run without the global ``--online``.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from zoolens.cli.render import OutputFormat, emit

app = typer.Typer(help="Model zoos: the shipped mini zoo and the papers' zoos.", no_args_is_help=True)


@app.command("list")
def list_cmd(zoo: str = typer.Argument("fmnist-mini", help="Zoo name (see `zoolens zoo zoos`)."),
             fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json."),
             all_columns: bool = typer.Option(False, "--all", help="Also show seed, train time, components.")) -> None:
    """Models of a zoo: the mini zoo with accuracy, parameters and input size; the papers' zoos
    (paper-r50, paper-sat69) with their category, method, budget, published top-1 or Table 1
    cluster, and the authors' id (``published_id``) used by ``zoolens import``."""
    from zoolens.zoo import get_zoo

    emit(get_zoo(zoo).listing(all_columns), fmt, title=f"zoo:{zoo}")


@app.command("zoos")
def zoos_cmd() -> None:
    """Names of the registered zoos."""
    from zoolens.zoo import list_zoos

    for z in list_zoos():
        typer.echo(z)


@app.command("train")
def train_cmd(zoo: str = typer.Argument("fmnist-mini", help="Zoo name."),
              only: Optional[List[str]] = typer.Option(None, "--only", help="Train only these models (repeatable)."),
              out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default: the package's zoo "
                                                 "directory, overwriting the shipped weights)."),
              jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1,
                                                 help="Models trained at once, one process each (default and "
                                                 "most: CPU cores // the recipes' threads). Weights do not "
                                                 "depend on it."),
              save_every: Optional[int] = typer.Option(None, "--save-every", min=1,
                                                       help="Also save epoch checkpoints every N epochs (plus epoch "
                                                       "0 and the last) to OUT/checkpoints/NAME/epoch_EEE.safetensors "
                                                       "with a JSON sidecar; load one as zoo:ZOO/NAME@FILE. The final "
                                                       "weights do not depend on it.")) -> None:
    """Train a zoo (or some of its models) from the recipes, deterministically on CPU.

    Each model trains with a fixed thread count (its recipe's ``num_threads``), so the
    weights are bitwise reproducible on the same software stack whatever ``--jobs`` is.
    Jobs × threads never exceed the cores: a larger ``--jobs`` is cut down, saying so.
    """
    import time

    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    from zoolens.zoo.mini import check_zoo, recipe_for, zoo_dir
    from zoolens.zoo.recipes import ZOO_RECIPES
    from zoolens.zoo.train_zoo import train_zoo, zoo_jobs

    check_zoo(zoo)
    names = list(only) if only else list(ZOO_RECIPES[zoo])
    recipes = [recipe_for(zoo, n) for n in names]
    out_dir = out if out is not None else zoo_dir(zoo)
    n_jobs, notice = zoo_jobs(recipes, jobs)
    t0 = time.perf_counter()
    console = Console(stderr=True)
    if notice:
        console.print(f"zoolens: {notice}", highlight=False, markup=False)
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        overall = progress.add_task("zoo", total=len(recipes), loss="")

        def start(recipe, steps):
            task = progress.add_task(recipe.name, total=steps, loss="-")

            def on_step(step: int, total: int, loss: float) -> None:
                progress.update(task, completed=step, loss=f"{loss:.3f}")
            return on_step

        def done(recipe, row):
            progress.advance(overall)
            console.print(f"{row['name']}: acc {row['accuracy']:.2f}%  {row['train_wall_time_s']:.0f}s")

        train_zoo(zoo, recipes, out_dir, jobs=n_jobs, save_every=save_every, on_model_start=start,
                  on_model_done=done)
    console.print(f"wrote {len(recipes)} model(s) to {out_dir} in {time.perf_counter() - t0:.0f}s "
                  f"({n_jobs} job(s))")


@app.command("status")
def status_command(zoo: str = typer.Argument(..., help="A zoo name (see `zoolens zoo zoos`)."),
                   fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json.")) -> None:
    """List each weight file of a zoo: present, missing or wrong (SHA-256), and where it must go."""
    from zoolens.zoo.weights import status_table

    df = status_table(zoo)
    emit(df, fmt, title=f"zoo:{zoo} weights")
    if fmt == OutputFormat.table:  # the tally goes to stderr so that the table itself stays the only output
        counts = df["state"].value_counts().to_dict()
        typer.echo(", ".join(f"{v} {k}" for k, v in counts.items()), err=True)


@app.command("fetch")
def fetch_command(zoo: str = typer.Argument(..., help="A zoo name, e.g. paper-r50 or paper-sat69."),
                  only: Optional[List[str]] = typer.Option(None, "--only", help="Only these models (repeatable).")
                  ) -> None:
    """Download a zoo's weights into the cache, checking SHA-256 digests (needs --online)."""
    from zoolens.zoo.weights import fetch

    df = fetch(zoo, list(only) if only else None)
    emit(df, OutputFormat.table, title=f"zoo fetch {zoo}")


__all__ = ["app", "fetch_command", "list_cmd", "status_command", "train_cmd", "zoos_cmd"]
