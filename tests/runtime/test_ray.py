"""The Ray executor on a local Ray instance: same tables as the local executor, dead workers retried."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from zoolens.criticality import criticality  # noqa: E402
from zoolens.runtime import RunDir  # noqa: E402
from zoolens.runtime.executors import ExecutorConfig, make_executor, run_units  # noqa: E402
from zoolens.runtime.units import WorkUnit  # noqa: E402

RAY = ExecutorConfig(kind="ray", cpus_per_unit=1, max_retries=2)
pytestmark = pytest.mark.ray  # `make test-quick` leaves Ray out (starting it takes seconds)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _zoo_refs() -> list[str] | None:
    """Two or three mini-zoo models if their weights exist (the zoo is trained separately)."""
    try:
        from zoolens.zoo.mini import zoo_dir

        have = [p.stem for p in sorted((zoo_dir("fmnist-mini") / "weights").glob("*.safetensors"))]
    except Exception:  # noqa: BLE001
        return None
    return [f"zoo:fmnist-mini/{n}" for n in have[:3]] if len(have) >= 2 else None


def test_ray_criticality_equals_local(local_ray, tmp_path):
    from zoolens.models import discover_layers, load_model

    refs = ["zoo:fmnist-mini/resnet_baseline", "zoo:fmnist-mini/vgg_baseline"]  # the shipped mini zoo
    kw = dict(data="fashion-mnist", n_images=40, seeds=2)
    local = criticality(refs, out=tmp_path / "local", **kw)
    # Ray, and slices of 4 layers per unit: several units per model over 2 workers
    remote = criticality(refs, out=tmp_path / "ray", executor=RAY, layers_per_unit=4, **kw)
    pd.testing.assert_frame_equal(local, remote, check_exact=False, rtol=1e-6, atol=1e-7)
    import json

    units = json.loads((tmp_path / "ray" / "manifest.json").read_text())["runs"]["criticality"]["units"]
    n_units = 0
    for ref in refs:
        m = load_model(ref)
        n_units += -(-len(discover_layers(m.net, m.input_size)) // 4)
    assert len(units["executed"]) == n_units > len(refs) and not units["failed"]
    pids = {r["pid"] for r in map(json.loads, (tmp_path / "ray" / "units.jsonl").read_text().splitlines())}
    assert os.getpid() not in pids  # the driver only gathered


def test_ray_sat_equals_local(local_ray, tmp_path):
    from zoolens.similarity import AttackConfig, run_sat

    zoo = _zoo_refs()
    if zoo:
        refs, data, n = zoo, "fashion-mnist", 24
    else:
        refs, data, n = (["py:tests.factories:digits_linear", "py:tests.factories:digits_features",
                          "py:tests.factories:digits_features2"], "digits", 60)
    kw = dict(data=data, n_images=n, attack=AttackConfig("pgd", steps=3, seed=1), batch_size=64, n_resamples=50)
    local = run_sat(refs, out=tmp_path / "local", **kw)
    remote = run_sat(refs, out=tmp_path / "ray", executor=RAY, **kw)
    pd.testing.assert_frame_equal(local.transfer, remote.transfer)
    pd.testing.assert_frame_equal(local.sat, remote.sat)
    assert local.transfer["n_both_correct"].sum() > 0  # the comparison is over real pairs
    for m in refs:  # the adversarial caches are the same bytes
        a = np.load(next((tmp_path / "local" / "adv").rglob(f"*{m.split('/')[-1].split(':')[-1]}*.npz")))["images"]
        b = np.load(next((tmp_path / "ray" / "adv").rglob(f"*{m.split('/')[-1].split(':')[-1]}*.npz")))["images"]
        np.testing.assert_array_equal(a, b)


def die_once(payload: dict, run: RunDir, context: dict) -> dict:
    """A unit whose worker process dies (os._exit) on its first attempt and succeeds on the retry."""
    marker = Path(payload["marker"])
    attempts = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(attempts + 1))
    if attempts == 0 or payload.get("always"):
        os._exit(1)
    run.write_part("demo", payload["id"], pd.DataFrame({"attempt": [attempts + 1]}))
    return {}


def ok_unit(payload: dict, run: RunDir, context: dict) -> dict:
    run.write_part("demo", payload["id"], pd.DataFrame({"attempt": [1]}))
    return {}


def _unit(uid: str, fn: str, tmp_path: Path, **kw) -> WorkUnit:
    return WorkUnit(uid, f"tests.runtime.test_ray:{fn}", {"id": uid, "marker": str(tmp_path / f"{uid}.n"), **kw},
                    (("demo", uid),))


def test_dead_worker_is_retried_and_completed_units_are_kept(local_ray, tmp_path):
    run = RunDir(tmp_path / "run")
    units = [_unit("dies-once", "die_once", tmp_path), _unit("fine", "ok_unit", tmp_path),
             _unit("always-dies", "die_once", tmp_path, always=True)]
    with run.open():
        report = run_units(run, units, make_executor(RAY))
    assert sorted(report.executed) == ["dies-once", "fine"]
    assert list(report.failed) == ["always-dies"]
    assert (tmp_path / "dies-once.n").read_text() == "2"  # died once, retried once
    assert (tmp_path / "always-dies.n").read_text() == str(RAY.max_retries + 1)  # bounded retries
    assert run.read_part("demo", "dies-once")["attempt"].tolist() == [2]
    with run.open():  # rerun: only the failed unit is tried again
        again = run_units(run, units, make_executor(ExecutorConfig(kind="ray", max_retries=0)))
    assert sorted(again.already_done) == ["dies-once", "fine"] and list(again.failed) == ["always-dies"]


def threads_unit(payload: dict, run: RunDir, context: dict) -> dict:
    import torch

    run.write_part("threads", payload["id"], pd.DataFrame({"threads": [torch.get_num_threads()]}))
    return {}


def test_a_ray_unit_runs_as_many_threads_as_cpus_it_reserved(local_ray, tmp_path):
    """Workers are reused between tasks of other sizes: each task sets its own thread count."""
    from zoolens.threads import available_cores, ray_unit_threads

    got = {}
    for cpus in (2, 1, 2):  # local_ray has 2 CPUs
        run = RunDir(tmp_path / f"run{len(got)}")
        unit = WorkUnit(f"u{cpus}", "tests.runtime.test_ray:threads_unit", {"id": "u"}, (("threads", "u"),))
        with run.open():
            report = run_units(run, [unit], make_executor(ExecutorConfig(kind="ray", cpus_per_unit=cpus)))
        assert report.executed == [unit.id]
        got[len(got)] = (cpus, int(run.read_part("threads", "u")["threads"].iloc[0]))
    assert all(n == ray_unit_threads(c, available_cores()) for c, n in got.values()), got
    if available_cores() >= 2:
        assert [n for _, n in got.values()] == [2, 1, 2]
