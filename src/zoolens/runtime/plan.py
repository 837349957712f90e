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
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from zoolens.errors import ZoolensError
from zoolens.models import discover_layers, get_source, parse_ref
from zoolens.runtime.spec import study_parts


@dataclass
class ArchInfo:
    """What planning needs to know about one architecture."""

    key: str
    input_size: tuple[int, int, int]
    forward_flops: float
    layer_names: list[str]
    suffix_flops: list[float] = field(default_factory=list)  # per layer, same order as layer_names
    built_on: str = "meta"

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


@functools.lru_cache(maxsize=256)
def _arch_info_cached(key: str, ref: str, include_norm: bool, pattern: str | None) -> ArchInfo:
    try:
        return _count(key, ref, include_norm, pattern, cpu=False)
    except ZoolensError:
        # a forward on meta tensors can fail (asserts on autograd state, data-dependent shapes): count on the CPU
        return _count(key, ref, include_norm, pattern, cpu=True)


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
                    layer_names=[l.name for l in ordered], suffix_flops=suffix, built_on=where)


def arch_info(ref: str, *, include_norm: bool = False, pattern: str | None = None) -> ArchInfo:
    """FLOPs of one forward pass of one image and the layers of ``ref``'s architecture (no weights needed)."""
    key, _ = _arch_key(ref)  # timm:/tv: builds ignore the weights part of the reference
    return _arch_info_cached(key, ref, include_norm, pattern)


def count_layers(ref: str, *, include_norm: bool = False, pattern: str | None = None) -> int:
    """Number of criticality layers of ``ref`` (from the architecture; used to slice work units)."""
    return arch_info(ref, include_norm=include_norm, pattern=pattern).n_layers


# ------------------------------------------------------------------ throughput
def measure_device_flops(seconds: float = 0.5, device: str | None = None) -> dict[str, float]:
    """This machine's attained FLOP/s on a short fp32 matmul and a 3×3 conv probe.

    Returns ``{"matmul": …, "conv": …, "device": …}``; the plan uses the conv figure
    for image models (attained model throughput is usually below it).
    """
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out: dict[str, Any] = {"device": str(dev) if dev.type == "cpu" else torch.cuda.get_device_name(dev)}
    n = 1024 if dev.type == "cuda" else 384
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    x = torch.randn(8, 64, 28, 28, device=dev)
    w = torch.randn(64, 64, 3, 3, device=dev)
    probes = {"matmul": (lambda: a @ b, 2 * n ** 3),
              "conv": (lambda: torch.nn.functional.conv2d(x, w, padding=1), 2 * 8 * 64 * 28 * 28 * 64 * 9)}
    with torch.no_grad():
        for name, (fn, flops) in probes.items():
            fn()  # warm-up
            reps, t0 = 0, time.perf_counter()
            while True:
                fn()
                reps += 1
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)
                el = time.perf_counter() - t0
                if el >= seconds / 2:
                    break
            out[name] = reps * flops / el
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    """All planned units, their totals and time estimates."""

    units: list[PlannedUnit]
    device: dict[str, Any]
    throughput_tflops: float

    def totals(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for u in self.units:
            t = out.setdefault(u.study, {"units": 0, "forward_passes": 0.0, "backward_passes": 0.0, "flops": 0.0,
                                         "flops_fast": 0.0})
            t["units"] += 1
            t["forward_passes"] += u.forward_passes
            t["backward_passes"] += u.backward_passes
            t["flops"] += u.flops
            t["flops_fast"] += u.flops_fast if u.flops_fast is not None else u.flops
        for t in out.values():
            t["seconds_here"] = t["flops"] / self.device["conv"]
            t["seconds_here_fast"] = t["flops_fast"] / self.device["conv"]
            t["seconds_at_throughput"] = t["flops"] / (self.throughput_tflops * 1e12)
            t["seconds_at_throughput_fast"] = t["flops_fast"] / (self.throughput_tflops * 1e12)
        return out


def plan_study(spec: dict[str, Any], *, throughput_tflops: float = 50.0,
               device_flops: dict[str, Any] | None = None) -> Plan:
    """Plan a resolved study (see :func:`zoolens.runtime.spec.resolve_study`) without running it.

    Each experiment section is costed by its experiment (:meth:`Experiment.cost`), with
    the same config — and so the same defaults — the run would use.
    """
    units: list[PlannedUnit] = []
    with _quiet():
        for exp, config in study_parts(spec):
            units += exp.cost(spec["models"], config)
    return Plan(units, device_flops or measure_device_flops(), throughput_tflops)


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


__all__ = ["ArchInfo", "Plan", "PlannedUnit", "arch_info", "count_layers", "human_flops", "human_seconds",
           "measure_device_flops", "plan_study"]
