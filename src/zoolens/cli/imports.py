"""CLI commands ``zoolens import criticality|sat``: the papers' published results as ordinary run directories."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Import the papers' published results (or files in their format) as run directories.",
                         no_args_is_help=True)


@app.command("criticality")
def import_criticality_command(
    source: str = typer.Argument("published", help="'published' (the shipped, unmodified results of the criticality "
                                                   "paper) or the path of a CSV in the authors' format."),
    out: Path = typer.Option(Path("runs/published-criticality"), "--out", "-o", help="Run directory to write."),
    keep_frozen_random: bool = typer.Option(False, "--keep-frozen-random",
                                            help="Keep resnet50_frozen_random (the authors' notebook drops it)."),
    categories: Optional[Path] = typer.Option(None, "--categories", help="The authors' category JSON "
                                                                          "(default: the shipped one)."),
    auxiliary_below: float = typer.Option(0.05, "--auxiliary-below", help="Mean criticality below this: "
                                                                          "role 'auxiliary'."),
    critical_above: float = typer.Option(0.5, "--critical-above", help="Mean criticality above this: "
                                                                       "role 'critical'."),
) -> None:
    """Criticality paper's raw results (51 ResNet-50 x 54 layers x 3 trials) → a criticality run directory.

    Then `zoolens analyze DIR` and `zoolens report DIR` give its figures and the scorecard.
    """
    from zoolens.published.criticality_import import import_criticality

    path = import_criticality(source, out, keep_frozen_random=keep_frozen_random, categories=categories,
                              auxiliary_below=auxiliary_below, critical_above=critical_above)
    typer.echo(f"imported criticality run: {path}")


@app.command("sat")
def import_sat_command(
    source: str = typer.Argument("published", help="'published' (the SAT paper's shipped 69 x 69 matrix) or the "
                                                   "path of a square SAT matrix CSV (natural log)."),
    out: Path = typer.Option(Path("runs/published-sat"), "--out", "-o", help="Run directory to write."),
    components: Optional[str] = typer.Option(None, "--components", help="Component table CSV in the authors' "
                                                                         "format (default for 'published': the "
                                                                         "shipped one)."),
) -> None:
    """SAT paper's published 69 x 69 matrix (and 13-component table) → a similarity run directory."""
    from zoolens.published.sat_import import import_sat

    path = import_sat(source, out, components=components)
    typer.echo(f"imported SAT run: {path}")


__all__ = ["app", "import_criticality_command", "import_sat_command"]
