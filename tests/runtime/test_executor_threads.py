"""Ray units run ⌊cpus_per_unit⌋ torch threads; a local Ray instance that could never schedule a unit is refused."""

from __future__ import annotations

import torch
import pytest

from zoolens.errors import ZoolensError
from zoolens.runtime import RunDir
from zoolens.runtime.executors import ExecutorConfig, LocalExecutor, _ray_task, make_executor
from zoolens.runtime.units import WorkUnit
from zoolens.threads import available_cores, ray_unit_threads


def record_threads(payload: dict, run: RunDir, context: dict) -> dict:
    """A unit that reports the intra-op threads it ran with."""
    return {"threads": torch.get_num_threads()}


def train_like(payload: dict, run: RunDir, context: dict) -> dict:
    """A unit that trains the way the zoo does: with a fixed thread count, restored afterwards."""
    from zoolens.zoo.train import deterministic

    with deterministic(1):
        inner = torch.get_num_threads()
    return {"threads": inner}


def _unit(fn: str) -> WorkUnit:
    return WorkUnit(fn, f"tests.runtime.test_executor_threads:{fn}", {}, ())


def test_the_ray_task_sets_the_threads_of_its_reservation(tmp_path):
    before = torch.get_num_threads()
    try:
        for cpus in (1.0, 0.5, float(available_cores())):
            out = _ray_task(_unit("record_threads").as_dict(), str(tmp_path), cpus)
            assert out["ok"] and out["extra"]["threads"] == ray_unit_threads(cpus, available_cores())
        assert torch.get_num_threads() == available_cores()  # the whole node for a unit that reserved it
    finally:
        torch.set_num_threads(before)


def test_the_local_executor_leaves_the_thread_count_as_it_found_it(tmp_path):
    before = torch.get_num_threads()
    outcomes = LocalExecutor().run([_unit("train_like"), _unit("record_threads")], str(tmp_path), {}, lambda o: None)
    assert [o.extra["threads"] for o in outcomes] == [1, before]
    assert torch.get_num_threads() == before


def test_a_unit_larger_than_this_machine_is_refused_before_ray_starts(tmp_path):
    import sys

    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process (its own CPUs apply)")
    too_many = ExecutorConfig(kind="ray", cpus_per_unit=available_cores() + 1)
    with pytest.raises(ZoolensError) as err:
        make_executor(too_many)
    msg = str(err.value)
    assert "cpus_per_unit (--cpus-per-unit)" in msg and "never schedule" in msg and "\n" not in msg
    assert f"--cpus-per-unit {available_cores()} or less" in msg
    make_executor(ExecutorConfig(kind="ray", cpus_per_unit=available_cores() + 1, address="ray://head:10001"))
    make_executor(ExecutorConfig(kind="local", cpus_per_unit=available_cores() + 1))  # Ray's reservation only


def test_a_study_asking_too_many_cpus_writes_nothing(tmp_path):
    import sys

    from zoolens.runtime.spec import resolve_study, run_study

    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    spec = resolve_study({"study": {"out": str(tmp_path / "study")}, "models": {"refs": ["py:tests.factories:tiny_a"]},
                          "criticality": {"n_images": 8}, "data": {"source": "digits"},
                          "executor": {"kind": "ray", "cpus_per_unit": available_cores() + 1}})
    with pytest.raises(ZoolensError, match=r"\[executor\] cpus_per_unit|cpus_per_unit \(--cpus-per-unit\)"):
        run_study(spec)
    assert not (tmp_path / "study").exists()
