"""One source of truth per setting: the CLI, the Python API, study files and plans agree with the configs.

Walks every field of CriticalityConfig, SatConfig and ExecutorConfig; a default
written anywhere else than the config would make one of these fail.
"""

from __future__ import annotations

import dataclasses
import inspect

import click
import pytest
import typer

from zoolens.cli import app
from zoolens.config import defaults, flag_of, recorded
from zoolens.criticality import CriticalityConfig, criticality
from zoolens.distill import DistillConfig, run_distill
from zoolens.errors import ZoolensError
from zoolens.runtime.executors import ExecutorConfig
from zoolens.runtime.spec import FROM_DATA, resolve_study, study_parts
from zoolens.similarity import SatConfig, run_sat, sat_matrix
from zoolens.similarity.measures.config import MeasuresConfig
from zoolens.similarity.measures.run import run_measures

COMMANDS = {"criticality": CriticalityConfig, "similarity": SatConfig, "measures": MeasuresConfig,
            "distill": DistillConfig}
# What a CLI option gives the config: seeds and fractions are typed as text.
PARSE = {"seeds": lambda text: [int(s) for s in text.split(",")]}


def _command(name: str) -> click.Command:
    return typer.main.get_command(app).commands[name]


def _params(name: str) -> dict[str, click.Parameter]:
    return {p.name: p for p in _command(name).params}


def _cli_name(cls: type, field: str) -> str:
    return "adv_precision" if (cls, field) == (SatConfig, "precision") else field


@pytest.mark.parametrize("command,cls", COMMANDS.items())
def test_every_field_has_a_cli_option_with_the_configs_default(command, cls):
    params = _params(command)
    cfg = cls()
    for f in dataclasses.fields(cls):
        p = params.get(_cli_name(cls, f.name))
        assert p is not None, f"zoolens {command} has no option for {cls.__name__}.{f.name}"
        assert flag_of(f).split("/")[0] in p.opts, (f.name, p.opts)
        value = PARSE.get(f.name, lambda v: v)(p.default) if isinstance(p.default, str) else p.default
        # through the config, so '8/255' and 0.0313… compare as the same number
        assert getattr(cls(**{f.name: value}), f.name) == getattr(cfg, f.name), f"{command} --{f.name}"


@pytest.mark.parametrize("command", ["criticality", "similarity", "measures", "distill"])
def test_executor_options_default_to_the_executor_config(command):
    params = _params(command)
    cfg = ExecutorConfig()
    for f in dataclasses.fields(ExecutorConfig):
        if f.name in ("max_retries", "runtime_env"):  # study-file only ([executor]); the CLI keeps Ray's retries
            continue
        name = "executor" if f.name == "kind" else f.name
        assert params[name].default == getattr(cfg, f.name), name


@pytest.mark.parametrize("api,cls", [(criticality, CriticalityConfig), (run_sat, SatConfig),
                                     (sat_matrix, SatConfig), (run_measures, MeasuresConfig),
                                     (run_distill, DistillConfig)])
def test_api_has_no_defaults_of_its_own(api, cls):
    # settings reach the API only through the config (or keywords forwarded to it)
    own = set(inspect.signature(api).parameters) & {f.name for f in dataclasses.fields(cls)}
    assert not own, f"{api.__name__} spells config fields itself: {own}"
    assert inspect.signature(api).parameters["config"].default is None


@pytest.mark.parametrize("section,cls", [("criticality", CriticalityConfig), ("similarity", SatConfig),
                                         ("measures", MeasuresConfig), ("distill", DistillConfig)])
def test_an_empty_study_section_resolves_to_the_config_defaults(section, cls):
    spec = resolve_study({"models": {"refs": ["py:tests.factories:tiny_a"]}, section: {}})
    want = defaults(cls)
    kept = recorded(cls())  # less the settings recorded only when used (record_if)
    for f in dataclasses.fields(cls):
        if f.name in kept:
            assert spec[section][f.name] == want[f.name], f"[{section}] {f.name}"
        else:
            assert f.name not in spec[section], f"[{section}] {f.name} is recorded though unused"
    assert spec["executor"] == defaults(ExecutorConfig)
    (exp, config), = study_parts(spec)
    assert config == cls()


def test_data_section_fills_every_experiment_and_a_section_count_wins():
    spec = resolve_study({"models": {"refs": ["py:tests.factories:tiny_a"]},
                          "data": {"source": "digits", "seed": 4, "n_images": 30},
                          "criticality": {}, "similarity": {"n_images": 20}})
    assert (spec["criticality"]["data"], spec["criticality"]["data_seed"], spec["criticality"]["n_images"]) == \
        ("digits", 4, 30)
    assert spec["similarity"]["n_images"] == 20


def test_a_study_section_cannot_set_the_data_itself():
    for key in FROM_DATA:
        with pytest.raises(ZoolensError, match=rf"unknown key\(s\) {key} in \[criticality\]"):
            resolve_study({"models": {"refs": ["py:tests.factories:tiny_a"]}, "criticality": {key: 1}})


def test_the_plan_costs_what_the_run_would_do():
    from zoolens.runtime.plan import arch_info, plan_study

    spec = resolve_study({"models": {"refs": ["py:tests.factories:tiny_a"]}, "criticality": {}, "similarity": {}})
    plan = plan_study(spec, device_flops={"device": "cpu", "conv": 1e9, "matmul": 1e9}, measure=False)
    by_unit = {u.unit: u for u in plan.units}
    layers = arch_info("py:tests.factories:tiny_a").n_layers
    crit = CriticalityConfig()
    assert by_unit["criticality:py:tests.factories:tiny_a"].forward_passes == \
        crit.n_images * (1 + layers * len(crit.seeds))
    sat = SatConfig()
    assert by_unit["sat:attack:py:tests.factories:tiny_a"].backward_passes == sat.image_count() * sat.steps


@pytest.mark.parametrize("cls,field,value,fragment", [
    (CriticalityConfig, "n_images", 0, "n_images (--n-images) must be an integer ≥ 1"),
    (CriticalityConfig, "seeds", [1, 1], "repeats seed"),
    (CriticalityConfig, "engine", "turbo", "unknown engine (--engine) 'turbo'"),
    (CriticalityConfig, "include_norm", "yes", "include_norm (--include-norm) must be true or false"),
    (SatConfig, "eps", "8/x", "cannot read eps (--eps)"),
    (SatConfig, "precision", "fp8", "precision (--adv-precision)"),
    (ExecutorConfig, "cpus_per_unit", -1, "cpus_per_unit (--cpus-per-unit) must be ≥ 0"),
])
def test_each_field_is_checked_once_with_a_one_line_error(cls, field, value, fragment):
    with pytest.raises(ZoolensError) as err:
        cls(**{field: value})
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_study_errors_name_the_section_and_key():
    with pytest.raises(ZoolensError, match=r"\[similarity\] steps must be an integer ≥ 1, got 0"):
        resolve_study({"models": {"refs": ["py:tests.factories:tiny_a"]}, "similarity": {"steps": 0}})


def test_a_gpu_study_plans_on_a_cpu_machine_and_refuses_to_run_there(tmp_path):
    import torch

    from zoolens.runtime.spec import run_study

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    raw = {"study": {"out": str(tmp_path / "study")}, "models": {"refs": ["py:tests.factories:tiny_a"]},
           "criticality": {"device": "cuda"}, "similarity": {"device": "cuda:0"}}
    spec = resolve_study(raw)  # planning needs no GPU: the config checks the spelling only
    from zoolens.runtime.plan import plan_study

    assert plan_study(spec, device_flops={"device": "cpu", "conv": 1e9, "matmul": 1e9}, measure=False).units
    with pytest.raises(ZoolensError, match="CUDA is not available"):
        run_study(spec)
    assert not (tmp_path / "study").exists()  # refused before anything was written
    with pytest.raises(ZoolensError, match="device \\(--device\\) .tpu"):
        CriticalityConfig(device="tpu")
