"""Architectures for planning: build a network without weights and count its FLOPs (no data, no weights).

The network is built on PyTorch's ``meta`` device when the constructor allows it, else on
the CPU with its own initialization, and one image of its input size goes through
``torch.utils.flop_counter.FlopCounterMode`` (which counts a multiply-add as 2 FLOPs,
and only matmul/conv-like ops — elementwise work is not counted). So planning the
papers' studies needs neither weights nor data. References that differ only in their
weights share an architecture (the source's ``arch_key``) and are counted once.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from zoolens.errors import ZoolensError
from zoolens.models import discover_layers, get_source, parse_ref


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


@contextlib.contextmanager
def _quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


__all__ = ["ArchInfo", "arch_info", "count_layers"]
