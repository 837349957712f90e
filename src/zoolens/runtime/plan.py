"""Cost planning: FLOPs and passes of every work unit, and the time they would take — without running anything.

FLOPs come from the architecture alone: the network is built without weights
(on PyTorch's ``meta`` device when the constructor allows it, else on the CPU with
its own initialization) and one image of its input size goes through
``torch.utils.flop_counter.FlopCounterMode`` (which counts a multiply-add as 2 FLOPs,
and only matmul/conv-like ops — elementwise work is not counted). So planning the
papers' studies needs neither weights nor data.

Each experiment turns these into the cost of its units (``Experiment.cost``): e.g.
criticality's naive engine costs (1 + L·S)·F per image and its fast engine
F + S·Σ_l suffix_l, where suffix_l is the FLOPs from layer l's first execution to the
output (measured here with module hooks); a SAT attack costs about (2 + 3·steps)·F.

The time a unit takes here is its FLOPs over the rate its architecture attains on this
machine (:mod:`zoolens.runtime.rates`): each architecture of the plan is built once with
random weights and timed for a fraction of a second, forward (and forward + backward when
one of its units takes gradients); the synthetic conv probe is the fallback for an
architecture that cannot be built for real (and the rate of every unit with ``measure=False``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from zoolens.errors import ZoolensError
from zoolens.models import discover_layers, get_source, parse_ref
from zoolens.runtime.rates import MEASURED, AttainedRate, measure_attained, measure_device_flops, probe_rate
from zoolens.runtime.spec import study_parts

MAX_TIMED_PARAMS = 1e9  # larger architectures are not built for real to be timed (≥ 4 GB of fp32 weights)


@dataclass
class ArchInfo:
    """What planning needs to know about one architecture."""

    key: str
    input_size: tuple[int, int, int]
    forward_flops: float
    layer_names: list[str]
    suffix_flops: list[float] = field(default_factory=list)  # per layer, same order as layer_names
    built_on: str = "meta"
    params: int = 0

    @property
    def n_layers(self) -> int:
        return len(self.layer_names)


def _arch_key(ref: str) -> tuple[str, str]:
    """(key, kind) — references that differ only in weights share an architecture (the source's ``arch_key``)."""
    r = parse_ref(ref)
    return get_source(r.scheme).arch_key(r), r.scheme


def _build(ref: str, cpu: bool = False) -> tuple[nn.Module, tuple[int, int, int], str]:
    """The untrained network of ``ref`` and its input size, on ``meta`` when possible (the source's ``architecture``)."""
    r = parse_ref(ref)
    arch = get_source(r.scheme).architecture(r)
    if not arch.meta_ok:  # e.g. py: factories, built for real on the CPU
        net = arch.make()
        return net, tuple(arch.input_size(net)), "cpu"
    net, where = _meta_or_cpu(arch.make, ref, cpu)
    return net, tuple(arch.input_size(net)), where


def _meta_or_cpu(make, ref: str, cpu: bool = False) -> tuple[nn.Module, str]:
    try:
        if cpu:
            raise RuntimeError("cpu build requested")
        with torch.device("meta"):
            return make().eval(), "meta"
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        # some constructors read tensor values (e.g. .tolist() of drop-path rates): build for real
        try:
            return make().eval(), "cpu"
        except Exception as exc:  # noqa: BLE001
            raise ZoolensError(f"cannot build the architecture of {ref} ({type(exc).__name__}: {exc})",
                               "check the model name against timm.list_models()") from None
    except Exception as exc:  # noqa: BLE001
        raise ZoolensError(f"cannot build the architecture of {ref} ({type(exc).__name__}: {exc})",
                           "check the model name against timm.list_models()") from None


_ARCH_INFO: dict[tuple[str, bool, str | None], ArchInfo] = {}  # refs differing only in weights share one


def _arch_info_cached(key: str, ref: str, include_norm: bool, pattern: str | None) -> ArchInfo:
    if (key, include_norm, pattern) not in _ARCH_INFO:
        if len(_ARCH_INFO) >= 256:
            _ARCH_INFO.clear()
        try:
            info = _count(key, ref, include_norm, pattern, cpu=False)
        except ZoolensError:
            # a forward on meta tensors can fail (asserts on autograd state, data-dependent shapes): count on the CPU
            info = _count(key, ref, include_norm, pattern, cpu=True)
        _ARCH_INFO[key, include_norm, pattern] = info
    return _ARCH_INFO[key, include_norm, pattern]


def _count(key: str, ref: str, include_norm: bool, pattern: str | None, *, cpu: bool) -> ArchInfo:
    from torch.utils.flop_counter import FlopCounterMode

    net, input_size, where = _build(ref, cpu)
    layers = discover_layers(net, None, include_norm=include_norm, pattern=pattern)
    modules = dict(net.named_modules())
    first_entry: dict[str, float] = {}
    counter = FlopCounterMode(display=False)

    def total() -> float:
        return float(sum(counter.get_flop_counts().get("Global", {}).values()))

    def hook(name):
        def pre(_module, _args):
            first_entry.setdefault(name, total())
        return pre

    handles = [modules[l.name].register_forward_pre_hook(hook(l.name)) for l in layers if l.name in modules]
    x = torch.zeros(1, *input_size, device="meta" if where == "meta" else "cpu")
    try:
        # grad mode on: FlopCounterMode's module tracker asserts on some models under no_grad
        with counter:
            net(x)
    except Exception as exc:  # noqa: BLE001
        raise ZoolensError(f"cannot count the FLOPs of {ref} ({type(exc).__name__}: {exc})",
                           "report this architecture") from None
    finally:
        for h in handles:
            h.remove()
    fwd = counter.get_total_flops()
    # execution order, and the FLOPs from each layer's first execution to the output
    ordered = sorted(layers, key=lambda l: first_entry.get(l.name, math.inf))
    suffix = [float(fwd - first_entry[l.name]) if l.name in first_entry else float(fwd) for l in ordered]
    return ArchInfo(key=key, input_size=tuple(input_size), forward_flops=float(fwd),
                    layer_names=[l.name for l in ordered], suffix_flops=suffix, built_on=where,
                    params=sum(p.numel() for p in net.parameters()))


def arch_info(ref: str, *, include_norm: bool = False, pattern: str | None = None) -> ArchInfo:
    """FLOPs of one forward pass of one image and the layers of ``ref``'s architecture (no weights needed)."""
    key, _ = _arch_key(ref)  # timm:/tv: builds ignore the weights part of the reference
    return _arch_info_cached(key, ref, include_norm, pattern)


def count_layers(ref: str, *, include_norm: bool = False, pattern: str | None = None) -> int:
    """Number of criticality layers of ``ref`` (from the architecture; used to slice work units)."""
    return arch_info(ref, include_norm=include_norm, pattern=pattern).n_layers


# ------------------------------------------------------------------ throughput
def time_architecture(ref: str, batch_size: int, *, backward: bool, seconds: float = 0.5,
                      budget_flops: float | None = None, device: str = "cpu") -> AttainedRate:
    """Build ``ref``'s network for real (random weights, on the CPU) and time it (:func:`measure_attained`).

    The batch is ``batch_size`` cut down so that one pass is about ``budget_flops`` (at least
    one image). Raises :class:`ZoolensError` when the network cannot be built or run here.
    """
    info = arch_info(ref)
    if info.params > MAX_TIMED_PARAMS:
        raise ZoolensError(f"{info.key} has {info.params:.3g} parameters: too large to build here to be timed",
                           "its estimate uses the conv probe")
    per_image = info.forward_flops * (3 if backward else 1)
    if budget_flops is not None and per_image > 0:
        batch_size = max(1, min(batch_size, int(budget_flops // per_image)))
    with torch.random.fork_rng(devices=[]), _quiet():  # random init must not move the caller's RNG
        net, input_size, _ = _build(ref, cpu=True)
        try:
            return measure_attained(net, input_size, batch_size, backward=backward, seconds=seconds,
                                    device=device, arch=info.key)
        except Exception as exc:  # noqa: BLE001 — e.g. out of memory, or a net that cannot take gradients
            raise ZoolensError(f"cannot time {info.key} ({type(exc).__name__}: {str(exc)[:200]})",
                               "its estimate uses the conv probe") from None


Measure = Callable[..., AttainedRate]  # (ref, batch_size, *, backward, seconds, budget_flops, device)


def attained_rates(units: list["PlannedUnit"], device_flops: dict[str, Any], *, measure: Measure | None = None,
                   seconds: float = 0.5, device: str | None = None) -> dict[str, AttainedRate]:
    """The rate each unit's time is estimated with, by unit id.

    Each architecture is timed once (:func:`time_architecture`, or the injected ``measure``)
    at the largest batch of its units, with a backward pass when any of them takes
    gradients. Units without an architecture (``ref``), and architectures that cannot be
    timed, get the conv probe's rate.
    """
    measure = measure or time_architecture
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    groups: dict[str, list[PlannedUnit]] = {}
    for u in units:
        if u.ref is not None:
            groups.setdefault(_arch_key(u.ref)[0], []).append(u)
    out: dict[str, AttainedRate] = {}
    for key, members in groups.items():
        batch = max(u.batch_size or 1 for u in members)
        backward = any(u.backward_passes > 0 for u in members)
        try:
            rate = measure(members[0].ref, batch, backward=backward, seconds=seconds,
                           budget_flops=device_flops["conv"] * seconds / 4, device=device)
        except ZoolensError as exc:
            rate = probe_rate(device_flops, key, str(exc))
        out.update({u.unit: rate for u in members})
    return out


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
               measure: bool | Measure = True, seconds_per_arch: float = 0.5) -> Plan:
    """Plan a resolved study (see :func:`zoolens.runtime.spec.resolve_study`) without running it.

    Each experiment section is costed by its experiment (:meth:`Experiment.cost`), with
    the same config — and so the same defaults — the run would use. ``measure`` times each
    architecture for about ``seconds_per_arch`` (:func:`attained_rates`; a callable replaces
    :func:`time_architecture`, e.g. in tests); ``False`` estimates every unit with the conv probe.
    """
    units: list[PlannedUnit] = []
    with _quiet():
        for exp, config in study_parts(spec):
            units += exp.cost(spec["models"], config)
    device_flops = device_flops or measure_device_flops()
    rates = {} if measure is False else attained_rates(units, device_flops, seconds=seconds_per_arch,
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


@contextlib.contextmanager
def _quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


__all__ = ["ArchInfo", "AttainedRate", "Plan", "PlannedUnit", "arch_info", "attained_rates", "count_layers",
           "human_flops", "human_seconds", "measure_device_flops", "plan_study", "time_architecture"]
