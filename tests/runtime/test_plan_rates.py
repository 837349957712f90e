"""The plan's time here: each unit's FLOPs over the FLOP/s its architecture attained, timed once per architecture."""

from __future__ import annotations

import itertools
import json

import pytest
import torch

from zoolens.errors import ZoolensError
from zoolens.runtime import archs, rates
from zoolens.runtime.plan import PlannedUnit, Plan, arch_info, attained_rates, plan_study, time_architecture
from zoolens.runtime.rates import AttainedRate, measure_attained
from zoolens.runtime.spec import resolve_study

PROBE = {"device": "cpu", "conv": 1e10, "matmul": 1e10}
TINY = "py:tests.factories:tiny_a"


def fake_clock(step: float = 0.1):
    """A clock that advances ``step`` seconds at every reading."""
    ticks = itertools.count()
    return lambda: next(ticks) * step


class FakeTimer:
    """Stands in for :func:`time_architecture`: fixed rates per architecture, and a log of what was timed."""

    def __init__(self, fail: set[str] = frozenset()):
        self.calls: list[tuple[str, int, bool]] = []
        self.fail = fail

    def __call__(self, ref, batch_size, *, backward, seconds, budget_flops, device):
        self.calls.append((ref, batch_size, backward))
        if ref in self.fail:
            raise ZoolensError(f"cannot build {ref}", "its estimate uses the conv probe")
        key = archs._arch_key(ref)[0]
        return AttainedRate(key, forward=1e9 * (1 + len(self.calls)), backward=3e8 * len(self.calls))


def test_estimates_are_flops_over_the_rate_each_architecture_attained():
    spec = resolve_study({"models": {"refs": [TINY, "timm:resnet18@/w/a.pth", "timm:resnet18@/w/b.pth"]},
                          "criticality": {"n_images": 10, "batch_size": 8},
                          "similarity": {"n_images": 10, "steps": 2, "batch_size": 32}})
    timer = FakeTimer()
    plan = plan_study(spec, device_flops=PROBE, measure=timer)
    # one timing per architecture (the two resnet18 references share one), at the largest batch of its units,
    # with a backward pass because its attack takes gradients
    # (the architecture with more FLOPs in the plan first)
    assert timer.calls == [("timm:resnet18@/w/a.pth", 32, True), (TINY, 32, True)]
    assert {plan.rate(u).forward for u in plan.units if u.ref == TINY} == {3e9}
    assert {plan.rate(u).forward for u in plan.units if u.ref.startswith("timm:resnet18")} == {2e9}
    assert {u.ref for u in plan.units} == {TINY, "timm:resnet18@/w/a.pth", "timm:resnet18@/w/b.pth"}
    for u in plan.units:
        rate = plan.rates[u.unit]
        expected = rate.backward if u.backward_passes > 0 else rate.forward
        assert plan.seconds_here(u) == pytest.approx(u.flops / expected)
        if u.flops_fast is not None:
            assert plan.seconds_here(u, fast=True) == pytest.approx(u.flops_fast / expected)
    totals = plan.totals()
    for part, t in totals.items():
        mine = [u for u in plan.units if u.study == part]
        assert t["seconds_here"] == pytest.approx(sum(u.flops / plan.rate(u).for_unit(u.backward_passes)
                                                      for u in mine))
        assert t["units_measured"] == t["units"] == len(mine)
    attack = next(u for u in plan.units if u.unit == "sat:attack:py:tests.factories:tiny_a")
    assert attack.ref == TINY and attack.batch_size == 32 and plan.rate(attack).for_unit(1) == 6e8


def test_an_architecture_that_cannot_be_timed_falls_back_to_the_probe():
    spec = resolve_study({"models": {"refs": [TINY, "py:tests.factories:tiny_b"]}, "criticality": {"n_images": 10}})
    plan = plan_study(spec, device_flops=PROBE, measure=FakeTimer(fail={"py:tests.factories:tiny_b"}))
    by = {u.unit: u for u in plan.units}
    b = by["criticality:py:tests.factories:tiny_b"]
    assert plan.rate(b).source == "probe" and "cannot build" in plan.rate(b).note
    # the probe, scaled by what the timed architecture attained relative to it (2e9 / 1e10)
    assert plan.seconds_here(b) == pytest.approx(b.flops / (PROBE["conv"] * 0.2))
    assert "scaled by 0.2" in plan.rate(b).note
    assert plan.rate(by[f"criticality:{TINY}"]).source == "measured"
    assert plan.totals()["criticality"]["units_measured"] == 1
    # no measuring at all: every unit on the probe; a unit without an architecture too
    probe_only = plan_study(spec, device_flops=PROBE, measure=False)
    assert not probe_only.rates and probe_only.totals()["criticality"]["units_measured"] == 0
    assert probe_only.totals()["criticality"]["seconds_here"] == pytest.approx(
        sum(u.flops for u in probe_only.units) / PROBE["conv"])
    bare = Plan([PlannedUnit("x", "s", "m", 1, 0, 5e9)], PROBE, 50.0, {})
    assert bare.totals()["s"]["seconds_here"] == 0.5


def test_the_largest_architectures_are_timed_first_within_the_budget_the_rest_scaled_from_the_probe():
    units = [PlannedUnit(f"u{i}", "s", f"m{i}", 1, 0, flops, ref=f"py:tests.factories:{name}", batch_size=8)
             for i, (name, flops) in enumerate([("tiny_a", 1e9), ("tiny_b", 3e9), ("digits_linear", 2e9)])]
    units.append(PlannedUnit("free", "s", "x", 1, 0, 1e9))  # no architecture
    timer = FakeTimer()
    ticks = itertools.count()
    out = attained_rates(units, PROBE, measure=timer, budget_s=25, clock=lambda: 10.0 * next(ticks))
    # every clock reading is 10 s later: the budget of 25 s lets two architectures be timed, the largest ones
    assert [c[0] for c in timer.calls] == ["py:tests.factories:tiny_b", "py:tests.factories:digits_linear"]
    assert out["u1"].forward == 2e9 and out["u2"].forward == 3e9 and out["u1"].source == "measured"
    median = (2e9 + 3e9) / 2 / PROBE["conv"]
    for left in ("u0", "free"):
        assert out[left].source == "probe" and out[left].forward == pytest.approx(PROBE["conv"] * median)
    assert "was spent" in out["u0"].note and "scaled by 0.25" in out["u0"].note


def test_measure_attained_divides_the_counted_flops_by_the_timed_passes():
    net, input_size, _ = archs._build(TINY, cpu=True)
    flops = arch_info(TINY).forward_flops  # FlopCounterMode's count of one image
    # every clock reading advances 0.1 s: a forward part lasts 0.1 s and a backward part 0.1 s
    r = measure_attained(net, input_size, 4, flops, backward=True, seconds=0.5, clock=fake_clock())
    assert r.source == "measured" and r.batch_size == 4 and r.passes == 1
    assert r.pass_flops == 4 * flops and r.pass_flops_backward == 2 * 4 * flops  # backward ≈ 2F, as in unit costs
    assert r.forward == pytest.approx(4 * flops / 0.1)
    assert r.backward == pytest.approx(3 * 4 * flops / 0.2)
    longer = measure_attained(net, input_size, 4, flops, backward=False, seconds=2.0, clock=fake_clock())
    assert longer.passes == 4 and longer.backward is None  # 5 passes fit in 2 s; the warm-up one is left out
    assert longer.forward == pytest.approx(4 * flops / 0.1)


def test_time_architecture_builds_for_real_and_fits_the_batch_to_the_budget(monkeypatch):
    flops = arch_info(TINY).forward_flops
    state = torch.get_rng_state()
    r = time_architecture(TINY, 64, backward=False, seconds=0.05, budget_flops=flops * 3)
    assert r.source == "measured" and r.batch_size == 3 and r.forward > 0 and r.arch == TINY
    assert torch.equal(torch.get_rng_state(), state)  # random init did not move the caller's generator
    monkeypatch.setattr(rates, "MAX_TIMED_PARAMS", 10)
    with pytest.raises(ZoolensError, match="too large to build here"):
        time_architecture(TINY, 64, backward=False)
    units = [PlannedUnit("u", "s", "m", 1, 0, 1.0, ref=TINY, batch_size=8)]
    assert attained_rates(units, PROBE, measure=time_architecture)["u"].source == "probe"


def test_timing_in_a_child_process_stops_when_the_budget_is_spent():
    """The default timing runs in a spawned process, ended at the budget even in the middle of a pass."""
    job = ("k", TINY, {"batch_size": 2, "backward": True, "seconds": 0.05, "device": "cpu"})
    assert rates._time_jobs_in_child([job] * 3, budget_s=0) == {}
    got = rates._time_jobs_in_child([job], budget_s=120)
    assert got["k"].source == "measured" and got["k"].batch_size == 2 and got["k"].backward > 0


def test_refs_that_differ_only_in_weights_are_counted_once(monkeypatch):
    counted = []
    real = archs._count
    monkeypatch.setattr(archs, "_ARCH_INFO", {})
    monkeypatch.setattr(archs, "_count", lambda key, *a, **kw: counted.append(key) or real(key, *a, **kw))
    assert arch_info("timm:resnet18@/w/a.pth") is arch_info("timm:resnet18@/w/b.pth")
    assert counted == ["timm:resnet18"]


def test_the_plan_command_says_which_rate_it_used(tmp_path, capsys):
    from zoolens.cli import main

    study = tmp_path / "s.toml"
    study.write_text(f'[models]\nrefs = ["{TINY}"]\n[data]\nsource = "digits"\n[criticality]\nn_images = 10\n')
    assert main(["plan", str(study), "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["part"] == "criticality" and row["rate here"] == "measured"
    assert main(["plan", str(study), "--probe", "--units", "--format", "json"]) == 0
    units, end = json.JSONDecoder().raw_decode(capsys.readouterr().out)  # the units, then the totals
    assert units[0]["unit"] == f"criticality:{TINY}" and units[0]["rate"] == "probe"
    assert units[0]["seconds_here"] == pytest.approx(units[0]["flops"] / (units[0]["gflops_here"] * 1e9), rel=1e-4)
    assert main(["plan", str(study), "--probe"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "probe" in out and "conv probe" in out
