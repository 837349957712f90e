"""The runtime is generic: a new experiment is one object, and studies, plans and resume work for it unchanged."""

from __future__ import annotations

import contextlib
import dataclasses

import pandas as pd
import pytest

from zoolens.config import integer, setting, validate
from zoolens.errors import ZoolensError
from zoolens.runtime.driver import run_experiment
from zoolens.runtime.experiment import experiments, get_experiment, register_experiment
from zoolens.runtime.plan import PlannedUnit, plan_study
from zoolens.runtime.spec import resolve_study, run_study
from zoolens.runtime.units import WorkUnit


@dataclasses.dataclass
class SquaresConfig:
    data: str = setting("digits")
    data_seed: int = setting(0, check=integer(0))
    n_images: int | None = setting(None)
    power: int = setting(2, check=integer(1), help="The exponent.")

    def __post_init__(self) -> None:
        validate(self)


CALLS: list[str] = []


def square_unit(payload: dict, run, context: dict) -> dict:
    CALLS.append(payload["name"])
    run.write_part("squares", payload["name"], pd.DataFrame({"model": [payload["name"]],
                                                             "value": [len(payload["name"]) ** payload["power"]]}))
    return {}


class Squares:
    """A toy experiment: one unit per model, writing len(name) ** power."""

    name = "squares"
    config_class = SquaresConfig

    def preflight(self, models, config):
        if not models:
            raise ZoolensError("no models", "give one")

    def result_spec(self, config):
        return {"power": config.power}

    def progress(self, enabled):
        return contextlib.nullcontext()

    def _units(self, models, config):
        return [WorkUnit(f"squares:{m}", f"{__name__}:square_unit", {"name": m, "power": config.power},
                         (("squares", m),)) for m in models]

    def stages(self, run, models, config, context):
        yield self._units(models, config)

    def assemble(self, run, models, config, report, executor, context):
        table = run.read_parts("squares", list(models))
        run.write_table("squares", table, parquet=False)
        return table

    def cost(self, models, config):
        return [PlannedUnit(f"squares:{m}", self.name, m, 1.0, 0.0, 1.0) for m in models]


@pytest.fixture
def squares():
    exp = register_experiment(Squares())
    yield exp
    from zoolens.runtime import experiment as registry

    registry._REGISTRY.pop("squares", None)


def test_the_built_in_experiments_are_registered():
    assert {"criticality", "similarity", "measures", "distill"} <= set(experiments())
    assert get_experiment("criticality").config_class.__name__ == "CriticalityConfig"
    with pytest.raises(ZoolensError, match="unknown experiment 'nope'"):
        get_experiment("nope")


def test_a_study_section_runs_a_new_experiment_and_resumes(squares, tmp_path):
    CALLS.clear()
    raw = {"study": {"out": str(tmp_path / "study")}, "models": {"refs": ["py:tests.factories:tiny_a"]},
           "squares": {"power": 3}}
    spec = resolve_study(raw)
    assert spec["squares"]["power"] == 3
    table = run_study(spec)["squares"]
    assert table["value"].tolist() == [len("py:tests.factories:tiny_a") ** 3]
    assert (tmp_path / "study" / "squares" / "squares.csv").is_file()
    run_study(spec)  # finished units are not run again
    assert CALLS == ["py:tests.factories:tiny_a"]
    plan = plan_study(spec, device_flops={"device": "cpu", "conv": 1.0, "matmul": 1.0})
    assert [u.unit for u in plan.units] == ["squares:py:tests.factories:tiny_a"]


def test_a_changed_result_spec_is_refused_not_mixed(squares, tmp_path):
    run_experiment(squares, ["a"], SquaresConfig(power=2), out=tmp_path)
    with pytest.raises(ZoolensError, match="other settings"):
        run_experiment(squares, ["a"], SquaresConfig(power=3), out=tmp_path)


def test_the_runtime_imports_no_experiment():
    import grimp

    graph = grimp.build_graph("zoolens", cache_dir=None)
    for module in graph.find_descendants("zoolens.runtime") | {"zoolens.runtime"}:
        imported = graph.find_modules_directly_imported_by(module)
        assert not {m for m in imported if m.startswith(("zoolens.criticality", "zoolens.similarity"))}, module


def test_a_declared_experiment_is_loaded_by_name_when_the_registry_is_read(monkeypatch):
    from zoolens.runtime import experiment as registry

    monkeypatch.setattr(registry, "_LOADED", False)
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_DECLARED", {"distill": "zoolens.distill.experiment:EXPERIMENT"})
    assert get_experiment("distill").config_class.__name__ == "DistillConfig"
    assert {"criticality", "similarity"} <= set(experiments())  # the entry points still load
