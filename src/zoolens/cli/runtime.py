"""``zoolens run STUDY.toml`` and ``zoolens plan STUDY.toml`` (a thin layer over :mod:`zoolens.runtime`).

Also the ``--executor/--address/--gpus-per-unit/--cpus-per-unit`` options that
``criticality`` and ``similarity`` share (:func:`executor_option`).
"""

from __future__ import annotations

from typing import Any, Optional

import typer

from zoolens.cli.options import config_option
from zoolens.errors import ZoolensError
from zoolens.runtime.executors import ExecutorConfig


# ------------------------------------------------------------ executor options
def executor_option(name: str) -> Any:
    """The option of :class:`ExecutorConfig` field ``name`` (a fresh ``typer.Option`` per command)."""
    return config_option(ExecutorConfig, name)


# ------------------------------------------------------------------- commands
def run_command(
    study: str = typer.Argument(..., help="Study TOML file (see examples/)."),
    executor: Optional[str] = typer.Option(None, "--executor", help="Override [executor] kind: local or ray."),
    address: Optional[str] = typer.Option(None, "--address", help="Override the Ray cluster address."),
    gpus_per_unit: Optional[float] = typer.Option(None, "--gpus-per-unit", help="Override GPUs per work unit."),
    cpus_per_unit: Optional[float] = typer.Option(None, "--cpus-per-unit", help="Override CPUs per work unit."),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="Override [study] out."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Run a study file: criticality and/or SAT, resumably (rerun the same command after a crash).

    Failed units are reported in one line (exit 2); rerunning retries only those.
    """
    from rich.console import Console

    from zoolens.runtime.spec import load_study, resolve_study, run_study

    raw = load_study(study)
    _override(raw, executor, address, gpus_per_unit, cpus_per_unit, out)
    spec = resolve_study(raw, base=study)
    results = run_study(spec, progress=not quiet)
    con = Console()
    if "criticality" in results:
        t = results["criticality"]
        con.print(f"criticality: {len(t)} rows for {t['model'].nunique()} model(s) → "
                  f"[bold]{spec['study']['out']}/criticality[/bold]")
    if "similarity" in results:
        con.print(f"similarity: SAT of {len(results['similarity'].sat)} model(s) → "
                  f"[bold]{spec['study']['out']}/similarity[/bold]")
    if "distill" in results:
        con.print(f"distill: {len(results['distill'])} teacher(s) → [bold]{spec['study']['out']}/distill[/bold]")


def plan_command(
    study: str = typer.Argument(..., help="Study TOML file (see examples/)."),
    throughput: float = typer.Option(50.0, "--throughput",
                                     help="Attained GPU throughput in TFLOP/s for the second estimate."),
    units: bool = typer.Option(False, "--units", help="List every work unit (default: totals per study part)."),
    probe: bool = typer.Option(False, "--probe", help="Estimate time here with a synthetic conv probe instead of "
                               "timing each architecture (faster, less accurate)."),
    time_budget: float = typer.Option(30.0, "--time-budget", help="Seconds to spend timing architectures, largest "
                                      "first (the rest use the conv probe scaled by what the timed ones attained)."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """FLOPs, forward/backward passes and estimated time of every work unit — without running anything.

    FLOPs are counted from the architectures (no weights needed). Time here is each unit's
    FLOPs over the FLOP/s its architecture attains on this machine: every architecture is
    built with random weights and timed for about half a second (forward, and forward +
    backward where a unit takes gradients), the largest first, within --time-budget; a
    conv probe stands in where one cannot be built or was left untimed.
    """
    import pandas as pd
    from rich.console import Console

    from zoolens.config import number
    from zoolens.runtime.plan import human_flops, human_seconds, plan_study
    from zoolens.runtime.spec import load_study, resolve_study
    from zoolens.cli.render import emit

    number(positive=True)(throughput, "--throughput")  # the attained TFLOP/s, e.g. 50
    number(minimum=0)(time_budget, "--time-budget")
    if fmt not in ("table", "csv", "json"):
        raise ZoolensError(f"unknown --format {fmt!r}", "use table, csv or json")
    spec = resolve_study(load_study(study), base=study)
    plan = plan_study(spec, throughput_tflops=throughput, measure=not probe, budget_s=time_budget)
    if units:
        emit(pd.DataFrame([{**u.as_dict(), "seconds_here": plan.seconds_here(u), "rate": plan.rate(u).source,
                            "gflops_here": plan.rate(u).for_unit(u.backward_passes) / 1e9} for u in plan.units]),
             fmt, title=f"{len(plan.units)} work units")
    rows = []
    for part, t in plan.totals().items():
        fast = part == "criticality"
        rows.append({"part": part, "units": t["units"], "fwd": f"{t['forward_passes']:.3g}",
                     "bwd": f"{t['backward_passes']:.3g}", "FLOPs": human_flops(t["flops"]),
                     "here": human_seconds(t["seconds_here"]), "rate here": _rate_label(t),
                     f"@{throughput:g}TF": human_seconds(t["seconds_at_throughput"]),
                     "FLOPs fast": human_flops(t["flops_fast"]) if fast else "-",
                     "fast here": human_seconds(t["seconds_here_fast"]) if fast else "-",
                     f"fast @{throughput:g}TF": human_seconds(t["seconds_at_throughput_fast"]) if fast else "-"})
    emit(pd.DataFrame(rows), fmt, title=f"plan of {spec['study']['name']} ({len(spec['models'])} models)")
    if fmt == "table":
        Console().print(_rates_note(plan, throughput), highlight=False, markup=False)


def _rate_label(t: dict[str, float]) -> str:
    """``measured`` (every unit timed on its architecture), ``probe`` (none) or ``k/n measured``."""
    k, n = int(t["units_measured"]), int(t["units"])
    return "measured" if k == n else "probe" if k == 0 else f"{k}/{n} measured"


def _rates_note(plan: Any, throughput: float) -> str:
    """The line under the plan table: which rates the estimates here used."""
    measured = {r.arch: r for r in plan.rates.values() if r.source == "measured"}
    others = {r.arch or "units without an architecture": r for r in plan.rates.values() if r.source != "measured"}
    note = f"this machine ({plan.device['device']}): time here = FLOPs / "
    if measured:
        fwd = sorted(r.forward / 1e9 for r in measured.values())
        span = f"{fwd[0]:.3g}" + (f"–{fwd[-1]:.3g}" if len(fwd) > 1 else "")
        note += f"the FLOP/s each architecture attained in timed passes ({len(measured)} timed, forward {span} GFLOP/s)"
    probe = f"a conv probe's {plan.device['conv'] / 1e9:.1f} GFLOP/s"
    if others:
        scale = next(iter(others.values())).forward / plan.device["conv"]
        names = sorted(others)
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        why = {r.note.split(";")[0] for r in others.values()}
        note += (("; " if measured else "") + f"{probe}" + (f" × {scale:.3g}" if scale != 1 else "")
                 + f" for {shown}" + (f" ({why.pop()})" if len(why) == 1 and why != {""} else ""))
    elif not measured:
        note += probe
    return note + f"; @{throughput:g}TF = FLOPs / {throughput:g} TFLOP/s."


def _override(raw: dict, executor: Optional[str], address: Optional[str], gpus: Optional[float],
              cpus: Optional[float], out: Optional[str]) -> None:
    """Apply the command-line overrides to a study file's raw sections (in place; ``None`` keeps the file's)."""
    ex = raw.setdefault("executor", {})
    for key, val in (("kind", executor), ("address", address), ("gpus_per_unit", gpus), ("cpus_per_unit", cpus)):
        if val is not None:
            ex[key] = val
    if out is not None:
        raw.setdefault("study", {})["out"] = out


__all__ = ["executor_option", "plan_command", "run_command"]
