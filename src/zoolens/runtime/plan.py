"""Cost planning: FLOPs and passes of every work unit, and the time they would take — without running any.

FLOPs come from the architecture alone (:mod:`zoolens.runtime.archs`: the network built
without weights, one image through ``torch.utils.flop_counter.FlopCounterMode``), so
planning the papers' studies needs neither weights nor data.

Each experiment turns these into the cost of its units (``Experiment.cost``): e.g.
criticality's naive engine costs (1 + L·S)·F per image and its fast engine
F + S·Σ_l suffix_l, where suffix_l is the FLOPs from layer l's first execution to the
output (measured here with module hooks); a SAT attack costs about (2 + 3·steps)·F.

The time a unit takes here is its FLOPs over the rate its architecture attains on this
machine (:mod:`zoolens.runtime.rates`): each architecture of the plan is built once with
random weights and timed for a fraction of a second, forward (and forward + backward when
one of its units takes gradients), within a budget for the whole plan; the synthetic conv
probe (scaled by what the timed ones attained) stands in for an architecture that cannot be
built for real or is left untimed, and for every unit with ``measure=False`` (unscaled).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from zoolens.runtime.archs import ArchInfo, _quiet, arch_info, count_layers
from zoolens.runtime.rates import (MEASURED, AttainedRate, Measure, attained_rates, measure_device_flops, probe_rate,
                                   time_architecture)
from zoolens.runtime.spec import study_parts


# ------------------------------------------------------------------------ plan
@dataclass
class PlannedUnit:
    """One work unit's cost."""

    unit: str
    study: str
    model: str
    forward_passes: float
    backward_passes: float
    flops: float
    flops_fast: float | None = None
    ref: str | None = None  # the architecture the unit runs: its time is estimated with that one's attained rate
    batch_size: int | None = None  # images per pass in the run

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    """All planned units, their totals and time estimates.

    ``device`` is the conv/matmul probe (:func:`measure_device_flops`); ``rates`` the rate
    each unit's time here is estimated with (by unit id; a unit missing there uses the probe).
    """

    units: list[PlannedUnit]
    device: dict[str, Any]
    throughput_tflops: float
    rates: dict[str, AttainedRate] = field(default_factory=dict)

    def rate(self, unit: PlannedUnit) -> AttainedRate:
        """The rate ``unit``'s time here is estimated with."""
        return self.rates.get(unit.unit) or probe_rate(self.device)

    def seconds_here(self, unit: PlannedUnit, fast: bool = False) -> float:
        """``unit``'s FLOPs (``flops_fast`` with ``fast``) over its architecture's attained FLOP/s here."""
        flops = unit.flops_fast if fast and unit.flops_fast is not None else unit.flops
        return flops / self.rate(unit).for_unit(unit.backward_passes)

    def totals(self) -> dict[str, dict[str, float]]:
        """Per study part: units, passes, FLOPs, and seconds here (``units_measured`` of them timed on
        their architecture, the rest on the probe) and at ``throughput_tflops``."""
        out: dict[str, dict[str, float]] = {}
        for u in self.units:
            t = out.setdefault(u.study, {"units": 0, "forward_passes": 0.0, "backward_passes": 0.0, "flops": 0.0,
                                         "flops_fast": 0.0, "seconds_here": 0.0, "seconds_here_fast": 0.0,
                                         "units_measured": 0})
            t["units"] += 1
            t["forward_passes"] += u.forward_passes
            t["backward_passes"] += u.backward_passes
            t["flops"] += u.flops
            t["flops_fast"] += u.flops_fast if u.flops_fast is not None else u.flops
            t["seconds_here"] += self.seconds_here(u)
            t["seconds_here_fast"] += self.seconds_here(u, fast=True)
            t["units_measured"] += self.rate(u).source == MEASURED
        for t in out.values():
            t["seconds_at_throughput"] = t["flops"] / (self.throughput_tflops * 1e12)
            t["seconds_at_throughput_fast"] = t["flops_fast"] / (self.throughput_tflops * 1e12)
        return out


def plan_study(spec: dict[str, Any], *, throughput_tflops: float = 50.0, device_flops: dict[str, Any] | None = None,
               measure: bool | Measure = True, seconds_per_arch: float = 0.5, budget_s: float = 30.0) -> Plan:
    """Plan a resolved study (see :func:`zoolens.runtime.spec.resolve_study`) without running it.

    Each experiment section is costed by its experiment (:meth:`Experiment.cost`), with
    the same config — and so the same defaults — the run would use. ``measure`` times each
    architecture for about ``seconds_per_arch``, the largest first, until ``budget_s`` is
    spent (:func:`attained_rates`; a callable replaces :func:`time_architecture`, e.g. in
    tests); ``False`` estimates every unit with the conv probe.
    """
    units: list[PlannedUnit] = []
    with _quiet():
        for exp, config in study_parts(spec):
            units += exp.cost(spec["models"], config)
    device_flops = device_flops or measure_device_flops()
    rates = {} if measure is False else attained_rates(units, device_flops, seconds=seconds_per_arch, budget_s=budget_s,
                                                       measure=None if measure is True else measure)
    return Plan(units, device_flops, throughput_tflops, rates)


def human_seconds(s: float) -> str:
    """``93784`` → ``1.1 d``; readable durations for the plan table."""
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s:.1f} s"


def human_flops(f: float) -> str:
    for unit, size in (("EFLOP", 1e18), ("PFLOP", 1e15), ("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6)):
        if f >= size:
            return f"{f / size:.3g} {unit}"
    return f"{f:.3g} FLOP"


# ArchInfo, arch_info, count_layers (archs) and the rates are re-exported: experiments and users import them here
__all__ = ["ArchInfo", "AttainedRate", "Plan", "PlannedUnit", "arch_info", "attained_rates", "count_layers",
           "human_flops", "human_seconds", "measure_device_flops", "plan_study", "time_architecture"]
