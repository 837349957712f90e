"""The ``zoolens`` command line: a thin typer layer over the Python API.

One module per command group, each command reading parse → config → API → render:

========================  ==========================================================
module                    commands
========================  ==========================================================
:mod:`.data`              ``data info``
:mod:`.models`            ``models info``
:mod:`.criticality`       ``criticality``
:mod:`.similarity`        ``similarity``
:mod:`.measures`          ``measures`` (CKA, error consistency, decision-boundary similarity)
:mod:`.distill`           ``distill`` (hard distillation from many teachers, with their SAT)
:mod:`.runtime`           ``run``, ``plan`` and the ``--executor`` options
:mod:`.analysis`          ``analyze``, ``report``, ``demo``
:mod:`.imports`           ``import criticality|sat``
:mod:`.doctor`            ``doctor``
:mod:`.zoo`               ``zoo list|zoos|train|status|fetch``
:mod:`.guard`             :func:`main`'s outer guard (one-line errors, exit codes)
========================  ==========================================================

Errors caused by input print one line on stderr and exit with code 2; ``--debug``
shows the traceback instead. Library code never imports this package.
"""

from __future__ import annotations

import sys

import typer

from zoolens.cli.analysis import analyze_command, demo_command, report_command
from zoolens.cli.criticality import criticality_command
from zoolens.cli.data import app as data_app
from zoolens.cli.distill import distill_command
from zoolens.cli.doctor import doctor_command
from zoolens.cli.imports import app as import_app
from zoolens.cli.measures import measures_command
from zoolens.cli.models import app as models_app
from zoolens.cli.runtime import plan_command, run_command
from zoolens.cli.similarity import similarity_command
from zoolens.cli.zoo import app as zoo_app

app = typer.Typer(help="Look inside a zoo of image classifiers: layer criticality and attack-transferability "
                       "similarity (SAT).", no_args_is_help=True, pretty_exceptions_enable=False,
                  add_completion=False)


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
          online: bool = typer.Option(False, "--online", help="Allow downloading pretrained weights.")) -> None:
    # --debug itself is read by the guard from argv (it must act before typer parses anything).
    from zoolens.offline import set_online

    set_online(online)


# Registration order is the order of `zoolens --help`.
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.command("criticality")(criticality_command)
app.command("similarity")(similarity_command)
app.command("measures")(measures_command)
app.command("distill")(distill_command)
app.command("run")(run_command)
app.command("plan")(plan_command)
app.command("analyze")(analyze_command)
app.command("report")(report_command)
app.command("demo")(demo_command)
app.add_typer(import_app, name="import")
app.command("doctor")(doctor_command)
app.add_typer(zoo_app, name="zoo")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry ``zoolens``.

    Parameters
    ----------
    argv:
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 on success, 2 for bad input (one line on stderr), 130 on
        Ctrl-C, 143 on SIGTERM (see :mod:`zoolens.cli.guard`).
    """
    from zoolens.cli.guard import guarded_main

    return guarded_main(app, argv)


__all__ = ["app", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
