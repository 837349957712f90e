"""This machine's attained FLOP/s: on the plan's own architectures (timed real passes), or a synthetic probe.

``zoolens plan`` estimates the time of a unit here as its FLOPs divided by the rate its
architecture attained in :func:`measure_attained`: a few real passes (forward, or forward
+ backward for units that take gradients) of the network with random weights, at the
unit's batch size cut down to what fits a fraction of a second, under a time cap. A
timed pass gives both rates (the forward part and the whole pass are timed apart). The
conv/matmul probe of :func:`measure_device_flops` remains the fallback for architectures
that cannot be built for real here, or are left untimed when the plan's timing budget is
spent (then scaled by what the timed architectures attained relative to it).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import nn

from zoolens.errors import ZoolensError
from zoolens.runtime.archs import ArchInfo, _arch_key, _build, _quiet, arch_info

if TYPE_CHECKING:
    from zoolens.runtime.plan import PlannedUnit

MEASURED, PROBE = "measured", "probe"
MAX_TIMED_PARAMS = 1e9  # larger architectures are not built for real to be timed (≥ 4 GB of fp32 weights)


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
    pass_flops: float = 0.0  # FLOPs of one forward pass of the batch (the plan's FlopCounterMode count)
    pass_flops_backward: float = 0.0  # FLOPs of its backward pass (twice the forward's, as in the units' costs)
    note: str = ""

    def for_unit(self, backward_passes: float) -> float:
        """The rate of a unit: the forward + backward one if it takes gradients and one was timed."""
        return self.backward if backward_passes > 0 and self.backward is not None else self.forward

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe_rate(device_flops: dict[str, Any], arch: str = "", note: str = "", forward_scale: float = 1.0,
               backward_scale: float | None = None) -> AttainedRate:
    """The synthetic conv probe's rate as an :class:`AttainedRate` (the fallback), optionally scaled
    (by what the timed architectures attained relative to the probe)."""
    conv = float(device_flops["conv"])
    return AttainedRate(arch, conv * forward_scale, None if backward_scale is None else conv * backward_scale,
                        PROBE, note=note)


def measure_attained(net: nn.Module, input_size: tuple[int, ...], batch_size: int, forward_flops: float, *,
                     backward: bool = False, seconds: float = 0.5, device: str = "cpu", arch: str = "",
                     clock: Callable[[], float] = time.perf_counter) -> AttainedRate:
    """Time real passes of ``net`` (random weights will do) on ``batch_size`` random images of ``input_size``.

    ``forward_flops`` is the FLOPs of one image's forward pass as the plan counts them
    (``FlopCounterMode``); a backward pass counts twice that, as in the units' own costs
    (so a unit's seconds are its FLOPs over a rate in the same currency). Passes run while
    the next one is expected to end within ``seconds`` of the start — at least one; when
    several ran, the first (warm-up) is left out. ``forward`` = forward FLOPs / forward
    time (inference passes, under ``no_grad``, unless ``backward``); ``backward`` = pass
    FLOPs / pass time. ``clock`` is injectable so that tests are deterministic.
    """
    dev = torch.device(device)
    net = net.to(dev).eval()
    x = torch.rand(batch_size, *input_size, device=dev)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def one_pass() -> tuple[float, float]:
        """(forward s, backward s) of one pass."""
        with torch.set_grad_enabled(backward):
            inp = x.detach().requires_grad_(backward)
            t0 = clock()
            out = net(inp)
            out = out[0] if isinstance(out, (tuple, list)) else out
            sync()
            t1 = clock()
            if backward:
                out.float().sum().backward()
                sync()
            t2 = clock()
        if backward:
            net.zero_grad(set_to_none=True)
        return t1 - t0, t2 - t1

    start = clock()
    times = [one_pass()]
    while clock() - start + sum(times[-1]) <= seconds:
        times.append(one_pass())
    timed = times[1:] or times
    n = len(timed)
    fwd_flops = float(forward_flops) * batch_size
    bwd_flops = 2 * fwd_flops if backward else 0.0
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


# ------------------------------------------------------------------ the plan's architectures
def time_architecture(ref: str, batch_size: int, *, backward: bool, seconds: float = 0.5,
                      budget_flops: float | None = None, device: str = "cpu", info: ArchInfo | None = None
                      ) -> AttainedRate:
    """Build ``ref``'s network for real (random weights, on the CPU) and time it (:func:`measure_attained`).

    The batch is ``batch_size`` cut down so that one pass is about ``budget_flops`` (at least
    one image). Raises :class:`ZoolensError` when the network cannot be built or run here.
    ``info`` spares counting the architecture again (:func:`~zoolens.runtime.archs.arch_info`).
    """
    info = info or arch_info(ref)
    if info.params > MAX_TIMED_PARAMS:
        raise ZoolensError(f"{info.key} has {info.params:.3g} parameters: too large to build here to be timed",
                           "its estimate uses the conv probe")
    per_image = info.forward_flops * (3 if backward else 1)
    if budget_flops is not None and per_image > 0:
        batch_size = max(1, min(batch_size, int(budget_flops // per_image)))
    with torch.random.fork_rng(devices=[]), _quiet():  # random init must not move the caller's RNG
        net, input_size, _ = _build(ref, cpu=True)
        try:
            return measure_attained(net, input_size, batch_size, info.forward_flops, backward=backward,
                                    seconds=seconds, device=device, arch=info.key)
        except Exception as exc:  # noqa: BLE001 — e.g. out of memory, or a net that cannot take gradients
            raise ZoolensError(f"cannot time {info.key} ({type(exc).__name__}: {str(exc)[:200]})",
                               "its estimate uses the conv probe") from None


Measure = Callable[..., AttainedRate]  # (ref, batch_size, *, backward, seconds, budget_flops, device)
Job = tuple[str, str, dict[str, Any]]  # (architecture key, reference, keywords of time_architecture)


def _time_jobs(jobs: list[Job], measure: Measure, budget_s: float, clock: Callable[[], float]
               ) -> dict[str, AttainedRate | str]:
    """Time ``jobs`` in this process, in order, starting none once ``budget_s`` is spent (an injected ``measure``)."""
    out: dict[str, AttainedRate | str] = {}
    start = clock()
    for key, ref, kw in jobs:
        if clock() - start >= budget_s:
            break
        try:
            out[key] = measure(ref, **kw)
        except ZoolensError as exc:
            out[key] = str(exc)
    return out


def _timing_worker(jobs: list[Job], results: Any) -> None:
    """Child process: time each job with :func:`time_architecture`, sending ``(key, rate dict | error)``."""
    for key, ref, kw in jobs:
        try:
            results.put((key, time_architecture(ref, **kw).as_dict()))
        except Exception as exc:  # noqa: BLE001 — reported as this architecture's note
            results.put((key, str(exc) if isinstance(exc, ZoolensError) else f"cannot time {key} ({exc!r:.200})"))
    results.put(None)


def _time_jobs_in_child(jobs: list[Job], budget_s: float) -> dict[str, AttainedRate | str]:
    """Time ``jobs`` in a spawned process that is ended when ``budget_s`` has passed: the budget is a hard limit,
    even for a first pass that takes a minute (a cold backward pass on a slow CPU can)."""
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    child = ctx.Process(target=_timing_worker, args=(jobs, results), daemon=True)
    out: dict[str, AttainedRate | str] = {}
    deadline = time.monotonic() + budget_s
    child.start()
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = results.get(timeout=min(left, 1.0))
            except queue.Empty:
                if child.exitcode is not None:  # died without a word (killed, out of memory)
                    break
                continue
            if item is None:
                break
            key, got = item
            out[key] = AttainedRate(**got) if isinstance(got, dict) else got
    finally:
        if child.is_alive():
            child.terminate()
        child.join(5)
        results.close()
    return out


def attained_rates(units: list[PlannedUnit], device_flops: dict[str, Any], *, measure: Measure | None = None,
                   seconds: float = 0.5, budget_s: float = 30.0, device: str | None = None,
                   clock: Callable[[], float] = time.perf_counter) -> dict[str, AttainedRate]:
    """The rate each unit's time is estimated with, by unit id.

    Each architecture is timed once (:func:`time_architecture` in a child process, or the
    injected ``measure`` in this one) at the largest batch of its units, with a backward
    pass when any of them takes gradients — the architectures with the most FLOPs in the
    plan first, within ``budget_s`` seconds for all. An architecture left untimed (budget
    spent) or that cannot be timed, and a unit without an architecture (``ref``), get the
    conv probe's rate scaled by the median ratio of attained to probe rate of the timed
    architectures (unscaled when none was timed); their ``note`` says which.
    """
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    groups: dict[str, list[PlannedUnit]] = {}
    for u in units:
        if u.ref is not None:
            groups.setdefault(_arch_key(u.ref)[0], []).append(u)
    jobs: list[Job] = []
    for key, members in sorted(groups.items(), key=lambda kv: -sum(u.flops for u in kv[1])):
        kw = {"batch_size": max(u.batch_size or 1 for u in members), "seconds": seconds, "device": device,
              "backward": any(u.backward_passes > 0 for u in members),
              "budget_flops": device_flops["conv"] * seconds / 4}
        jobs.append((key, members[0].ref, kw if measure else {**kw, "info": arch_info(members[0].ref)}))
    got = _time_jobs(jobs, measure, budget_s, clock) if measure else _time_jobs_in_child(jobs, budget_s) if jobs else {}
    timed = {k: r for k, r in got.items() if isinstance(r, AttainedRate)}
    conv = float(device_flops["conv"])
    fwd = [r.forward / conv for r in timed.values()]
    bwd = [r.backward / conv for r in timed.values() if r.backward is not None]
    scale_f = statistics.median(fwd) if fwd else 1.0
    scale_b = statistics.median(bwd) if bwd else None
    how = (f"; the conv probe scaled by {scale_f:.3g}, the median attained/probe ratio of the timed architectures"
           if fwd else "")
    spent = f"left untimed: the plan's {budget_s:g} s for timing architectures was spent"
    fallback = {key: probe_rate(device_flops, key, (got.get(key) or spent) + how, scale_f, scale_b)
                for key in groups if key not in timed}
    out = {u.unit: timed.get(key) or fallback[key] for key, members in groups.items() for u in members}
    for u in units:
        if u.unit not in out:
            out[u.unit] = probe_rate(device_flops, "", "no architecture" + how, scale_f, scale_b)
    return out


__all__ = ["MAX_TIMED_PARAMS", "MEASURED", "PROBE", "AttainedRate", "Measure", "attained_rates", "measure_attained",
           "measure_device_flops", "probe_rate", "time_architecture"]
