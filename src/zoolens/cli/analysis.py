"""CLI commands ``zoolens analyze``, ``zoolens report`` and ``zoolens demo`` (plain functions; the app registers them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer


def analyze_command(
    run: List[Path] = typer.Argument(..., help="Run directories (criticality, SAT or distill runs)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Criticality: model the differences refer to "
                                                                    "(default: the first baseline-category model)."),
    exclude_category: str = typer.Option("adversarial_training", "--exclude-category",
                                         help="Criticality: category left out in the second accuracy correlation."),
    k: Optional[str] = typer.Option(None, "--k", help="SAT: number of spectral clusters, or 'eigengap' (default: "
                                                      "10 for the SAT paper's 69 models, else the eigengap)."),
    compare: Optional[Path] = typer.Option(None, "--compare", help="SAT: a SAT run of the same models with another "
                                                                   "attack (App. B.1 correlation)."),
    no_ensembles: bool = typer.Option(False, "--no-ensembles", help="SAT: skip the ensemble analyses (they load "
                                                                   "every model once for its logits)."),
    stability_pair: Optional[List[str]] = typer.Option(None, "--stability-pair", help="SAT: a pair A,B for the "
                                                       "stability table (App. A.1; repeatable; default: every pair "
                                                       "measured in both directions)."),
    seed: int = typer.Option(0, "--seed", help="Seed of K-means, t-SNE, the gradient boosting and the stability "
                                               "samples."),
    against: Optional[str] = typer.Option(None, "--against", help="A reference run of the same kind, or "
                                                                  "'published' (the papers' data): where this run's "
                                                                  "models sit among it."),
    measures: Optional[Path] = typer.Option(None, "--measures", help="SAT: a `zoolens measures` run on the same "
                                                                     "images to compare SAT with (default: a "
                                                                     "study's sibling measures/ folder)."),
    no_figures: bool = typer.Option(False, "--no-figures", help="Tables and the scorecard only: no PNG/PDF "
                                                               "figures (drawing is most of the time)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Analyses, CSV tables and PNG/PDF figures of runs, written to DIR/analysis/.

    Writes DIR/analysis/findings.json: the scorecard of the papers' claims on this run.
    """
    from rich.console import Console

    from zoolens.report import analyze

    from zoolens.analysis.sat_appendix import parse_pair

    k_value = _parse_k(k)
    pairs = [parse_pair(p) for p in stability_pair] if stability_pair else None
    from rich.markup import escape

    console = Console()
    for d in run:
        a = analyze(d, baseline=baseline, exclude_category=exclude_category, k=k_value, compare=compare, seed=seed,
                    progress=not quiet, ensembles=not no_ensembles, against=against, measures=measures,
                    stability_pairs=pairs, figures=not no_figures)
        console.print(escape(f"{d}: {len(a.figures)} figures, {len(a.tables)} tables → {a.folder}"), highlight=False)
        for f in a.findings:  # evidence is plain text: "[measures]" must print, not vanish as rich markup
            console.print(f"  {escape(f['id'])}: [bold]{escape(f['verdict'])}[/bold] — {escape(f['evidence'])}",
                          highlight=False)


def _parse_k(k: str | None) -> int | str | None:
    from zoolens.errors import ZoolensError

    if k is None or k == "eigengap":
        return k
    try:
        value = int(k)
    except ValueError:
        raise ZoolensError(f"--k {k!r} is neither a number nor 'eigengap'", "pass e.g. --k 10 or --k eigengap") from None
    if value < 1:
        raise ZoolensError(f"--k {value} must be at least 1", "pass a number of clusters ≥ 1")
    return value


def report_command(
    run: List[Path] = typer.Argument(..., help="Run directories (analysed first if needed)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Report file (default: DIR/report.html, or the "
                                                                 "runs' common folder)."),
    title: str = typer.Option("zoolens report", "--title", help="Report title."),
) -> None:
    """One self-contained report.html (embedded figures, tables, configuration, versions).

    It opens with the scorecard of the papers' claims. Given your run and an imported run of
    the same kind (`zoolens import ... published`), it also places your models among the
    published zoo.
    """
    from zoolens.report import build_report
    from zoolens.report.prepare import analyze_for_report

    analyze_for_report(run)
    path = build_report(run, out, title=title)
    typer.echo(str(path))


def demo_command(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Folder for the runs and the report "
                                                                    "(resumable)."),
    criticality_images: int = typer.Option(500, "--criticality-images", help="Criticality eval images."),
    seeds: int = typer.Option(3, "--seeds", help="Criticality randomization seeds."),
    sat_images: int = typer.Option(500, "--sat-images", help="SAT eval images."),
    steps: int = typer.Option(10, "--steps", help="PGD iterations for SAT."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Use only the zoo models that have weights."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="Only these zoo models (repeatable; at least "
                                                                  "one ResNet and two models in all)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """The whole pipeline on the shipped mini zoo (criticality, SAT, analyses, report); prints the report path."""
    from zoolens.demo import DemoSettings, demo

    s = DemoSettings(criticality_images=criticality_images, criticality_seeds=seeds, sat_images=sat_images,
                     pgd_steps=steps, only=list(only) if only else None)
    report = demo(out, s, skip_missing=skip_missing, progress=not quiet, log=typer.echo)
    t = json.loads((Path(out) / "demo_timings.json").read_text())["timings_s"]
    typer.echo(f"demo finished in {t['total_s']:.0f} s")
    typer.echo(f"report: {report}")


__all__ = ["analyze_command", "demo_command", "report_command"]
