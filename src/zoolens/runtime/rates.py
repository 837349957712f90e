"""This machine's attained FLOP/s: on the plan's own architectures (timed real passes), or a synthetic probe.

``zoolens plan`` estimates the time of a unit here as its FLOPs divided by the rate its
architecture attained in :func:`measure_attained`: a few real passes (forward, or forward
+ backward for units that take gradients) of the network with random weights, at the
unit's batch size cut down to what fits a fraction of a second, under a time cap. A
timed pass gives both rates (the forward part and the whole pass are timed apart). The
conv/matmul probe of :func:`measure_device_flops` remains the fallback for architectures
that cannot be built for real here.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch
from torch import nn

MEASURED, PROBE = "measured", "probe"


@dataclass
class AttainedRate:
    """The FLOP/s a plan divides an architecture's units' FLOPs by.

    ``forward`` is the rate of inference passes; ``backward`` that of forward + backward
    passes (``None`` when none was timed: units with gradients then use ``forward``).
    ``source`` is ``measured`` (timed on the architecture) or ``probe`` (the synthetic conv
    probe, with ``note`` saying why).
    """

    arch: str
    forward: float
    backward: float | None = None
    source: str = MEASURED
    batch_size: int = 0  # images per timed pass
    passes: int = 0  # timed passes the rates come from
    seconds: float = 0.0  # their time
    pass_flops: float = 0.0  # FLOPs of one forward pass of the batch (FlopCounterMode)
    pass_flops_backward: float = 0.0  # FLOPs of its backward pass
    note: str = ""

    def for_unit(self, backward_passes: float) -> float:
        """The rate of a unit: the forward + backward one if it takes gradients and one was timed."""
        return self.backward if backward_passes > 0 and self.backward is not None else self.forward

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe_rate(device_flops: dict[str, Any], arch: str = "", note: str = "") -> AttainedRate:
    """The synthetic conv probe's rate as an :class:`AttainedRate` (the fallback)."""
    return AttainedRate(arch, float(device_flops["conv"]), None, PROBE, note=note)


def measure_attained(net: nn.Module, input_size: tuple[int, ...], batch_size: int, *, backward: bool = False,
                     seconds: float = 0.5, device: str = "cpu", arch: str = "",
                     clock: Callable[[], float] = time.perf_counter) -> AttainedRate:
    """Time real passes of ``net`` (random weights will do) on ``batch_size`` random images of ``input_size``.

    A pass of one image under ``torch.utils.flop_counter.FlopCounterMode`` counts the FLOPs
    of its forward and (with ``backward``) backward part, which grow linearly with the
    batch; then timed passes of the batch run while the next one is expected to end within
    ``seconds`` of the start — at least one. When several ran, the first (warm-up) is left
    out. ``forward`` = forward FLOPs / forward time, ``backward`` = pass FLOPs / pass time.
    ``clock`` is injectable so that tests are deterministic.
    """
    from torch.utils.flop_counter import FlopCounterMode

    dev = torch.device(device)
    net = net.to(dev).eval()
    x = torch.rand(batch_size, *input_size, device=dev)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def one_pass(inp: torch.Tensor, counter: FlopCounterMode | None) -> tuple[float, float, float, float]:
        """(forward s, backward s, forward FLOPs, backward FLOPs) of one pass (FLOPs only with ``counter``)."""
        fwd_flops = bwd_flops = 0.0
        grad = backward or counter is not None  # FlopCounterMode's module tracker asserts on some nets under no_grad
        with torch.set_grad_enabled(grad), counter or contextlib.nullcontext():
            inp = inp.detach().requires_grad_(backward)
            t0 = clock()
            out = net(inp)
            out = out[0] if isinstance(out, (tuple, list)) else out
            sync()
            t1 = clock()
            if counter is not None:
                fwd_flops = float(counter.get_total_flops())
            if backward:
                out.float().sum().backward()
                sync()
            t2 = clock()
            if counter is not None:
                bwd_flops = float(counter.get_total_flops()) - fwd_flops
        if backward:
            net.zero_grad(set_to_none=True)
        return t1 - t0, t2 - t1, fwd_flops, bwd_flops

    start = clock()
    counted = one_pass(x[:1], FlopCounterMode(display=False))  # also the timed pass when the batch is one image
    times = [counted[:2]] if batch_size == 1 else []
    while not times or clock() - start + sum(times[-1]) <= seconds:
        times.append(one_pass(x, None)[:2])
    timed = times[1:] or times
    n = len(timed)
    fwd_flops, bwd_flops = counted[2] * batch_size, counted[3] * batch_size
    t_fwd = max(sum(t[0] for t in timed), 1e-12)
    t_all = max(sum(t[0] + t[1] for t in timed), 1e-12)
    return AttainedRate(arch, n * fwd_flops / t_fwd, n * (fwd_flops + bwd_flops) / t_all if backward else None,
                        MEASURED, batch_size, n, t_all, fwd_flops, bwd_flops)


def measure_device_flops(seconds: float = 0.5, device: str | None = None) -> dict[str, float]:
    """This machine's attained FLOP/s on a short fp32 matmul and a 3×3 conv probe.

    Returns ``{"matmul": …, "conv": …, "device": …}``; the plan falls back to the conv
    figure for architectures it cannot time (real models usually attain less).
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


__all__ = ["MEASURED", "PROBE", "AttainedRate", "measure_attained", "measure_device_flops", "probe_rate"]
