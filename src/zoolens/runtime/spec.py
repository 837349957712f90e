"""Study files: a TOML description of a whole study, equivalent to the CLI flags.

```toml
[study]
name = "mini-zoo demo"
out = "runs/demo"                 # criticality/ and similarity/ run directories go inside

[models]
zoo = "fmnist-mini"               # and/or
refs = ["timm:resnet50@/weights/r50.pth"]
only = ["resnet_baseline"]        # with zoo: only these
one_sided = { resnet_baseline = "source" }   # optional: newcomers of [similarity] (source|target|full)

[data]
source = "fashion-mnist"
n_images = 200
seed = 0

[criticality]                     # present → run criticality (keys as the CLI flags)
seeds = 3
engine = "fast"
layers_per_unit = 0               # 0: one unit per model

[similarity]                      # present → run SAT
attack = "pgd"
steps = 50
eps = "8/255"

[executor]
kind = "local"                    # or "ray"
address = "auto"
gpus_per_unit = 1
```

:func:`resolve_study` fills every default, so the manifest records exactly what ran
(a setting declared with ``record_if``, such as ``[criticality] target_se``, only when
used: studies written before it existed resolve, and resume, exactly as before).
A section is any registered experiment (:mod:`zoolens.runtime.experiment`); its keys
are the fields of the experiment's config class, with the same defaults as the CLI
and the Python API. ``[data]`` gives every section its source, seed and (unless the
section has its own) image count.

``[models] one_sided`` gives some of the study's models a role (App. G.1 of the SAT paper,
as ``zoolens similarity --add REF --one-sided ROLE``): its keys are models of the study (a
reference or a display name), its values ``source``, ``target`` or ``full``. The roles go,
as ``context["roles"]``, to the experiments that declare the roles they accept (an
attribute ``roles``: ``[similarity]``); the other experiments do not see them. The
resolved spec records them as ``one_sided`` (``{reference: role}``, ``full`` left out:
it is the default) only when some model is one-sided, so a study without them resolves
exactly as before.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

from zoolens.config import from_mapping, integer, recorded
from zoolens.errors import ZoolensError
from zoolens.models.refs import display_name
from zoolens.runtime.driver import run_experiment
from zoolens.runtime.executors import ExecutorConfig, make_executor
from zoolens.runtime.experiment import experiments, get_experiment
from zoolens.runtime.rundir import RunDir
from zoolens.runtime.units import UnitsFailed
from zoolens.zoo.selection import model_refs

# n_images None: each experiment's own default (criticality 1,000 images, SAT 500 or its preset's).
DATA_DEFAULTS: dict[str, Any] = {"source": "fashion-mnist", "n_images": None, "seed": 0}
FIXED_KEYS = {"study", "models", "data", "executor"}
FROM_DATA = {"data": "source", "data_seed": "seed"}  # experiment fields that only [data] sets

# The TOML types each key of the fixed sections accepts (experiment sections are checked by their configs).
_INT, _STR = (int,), (str,)
TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "study": {"name": _STR, "out": _STR},
    "models": {"zoo": _STR, "refs": (list,), "only": (list,), "one_sided": (dict,)},
    "data": {"source": _STR, "n_images": _INT, "seed": _INT},
}
_EXAMPLES = {("models", "one_sided"): 'e.g. one_sided = { "zoo:fmnist-mini/vit_improved" = "source" }'}
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list",
               dict: "a table"}


def load_study(path: str | Path) -> dict[str, Any]:
    """Read a study TOML file (raw, unresolved)."""
    path = Path(path)
    if not path.is_file():
        raise ZoolensError(f"study file {path} does not exist", "see examples/*.toml")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ZoolensError(f"cannot read {path}: {exc}", "check the TOML syntax") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise ZoolensError(f"cannot read {path} as a UTF-8 text file ({exc})", "give a study TOML file") from None


def _check_keys(table: Any, allowed: dict[str, Any] | set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise ZoolensError(f"[{where}] must be a table, got {table!r}", f"write it as [{where}] with key = value lines")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ZoolensError(f"unknown key(s) {', '.join(unknown)} in [{where}]",
                           f"allowed: {', '.join(sorted(allowed))}")
    for key, value in table.items():
        kinds = TYPES.get(where, {}).get(key)
        if kinds is None or value is None:
            continue
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            want = " or ".join(dict.fromkeys(_TYPE_NAMES[k] for k in kinds))
            raise ZoolensError(f"[{where}] {key} must be {want}, got {value!r}",
                               _EXAMPLES.get((where, key), "see examples/*.toml"))
    for key in ("refs", "only"):  # lists of names
        if where == "models" and key in table and not all(isinstance(v, str) for v in table[key]):
            raise ZoolensError(f"[models] {key} must be a list of strings, got {table[key]!r}",
                               'e.g. refs = ["timm:resnet18@/weights/r18.safetensors"]')


def _check_data(data: dict[str, Any]) -> None:
    integer(1, allow_none=True)(data["n_images"], "[data] n_images")
    integer(0)(data["seed"], "[data] seed")


def role_experiments(names: Any) -> list[Any]:
    """The experiments among ``names`` that take model roles (those with a ``roles`` attribute)."""
    known = experiments()
    return [known[n] for n in names if n in known and getattr(known[n], "roles", None)]


def _one_sided(table: dict[str, Any], refs: list[str], sections: list[str]) -> dict[str, str]:
    """``[models] one_sided`` checked and keyed by reference; only the one-sided (non-``full``) models."""
    takers = role_experiments(sections)
    if not takers:
        raise ZoolensError("[models] one_sided is set but no section of the study uses model roles",
                           "add a [similarity] section, or remove one_sided")
    allowed = list(dict.fromkeys(r for exp in takers for r in exp.roles))
    by_name: dict[str, list[str]] = {}
    for ref in refs:
        by_name.setdefault(display_name(ref), []).append(ref)
    out: dict[str, str] = {}
    for key, role in table.items():
        if not isinstance(role, str):
            raise ZoolensError(f"[models] one_sided role of {key!r} must be a string, got {role!r}",
                               f'e.g. one_sided = {{ {display_name(refs[-1])!r} = "source" }}')
        if role not in allowed:
            raise ZoolensError(f"unknown role {role!r} for {key!r} in [models] one_sided",
                               f"use one of {', '.join(allowed)}")
        matches = [key] if key in refs else by_name.get(key, [])
        if len(matches) > 1:
            raise ZoolensError(f"[models] one_sided names {key!r}, the display name of {len(matches)} models",
                               f"use the full reference, one of {', '.join(matches)}")
        if not matches:
            names = list(by_name)
            shown = ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
            raise ZoolensError(f"[models] one_sided names {key!r}, which is not a model of the study",
                               f"use a reference or name of the study's models ({shown}), or add it to refs/only")
        if matches[0] in out:
            raise ZoolensError(f"[models] one_sided gives {matches[0]} twice", "give each model one role")
        out[matches[0]] = role
    return {ref: role for ref, role in out.items() if role != "full"}


def section_config(name: str, section: dict[str, Any], data: dict[str, Any]) -> Any:
    """The config of experiment ``name`` from its study section and ``[data]``."""
    exp = get_experiment(name)
    _check_keys(section, {f.name for f in dataclasses.fields(exp.config_class)} - set(FROM_DATA), name)
    values = {**{field: data[key] for field, key in FROM_DATA.items()}, **section}
    if "n_images" not in section and data["n_images"] is not None:
        values["n_images"] = data["n_images"]
    return from_mapping(exp.config_class, values, where=name)


def resolve_study(raw: dict[str, Any], *, base: str | Path | None = None, resolve_zoo: bool = True
                  ) -> dict[str, Any]:
    """The study with every default filled in and the model list expanded.

    ``base`` is the study file's name (recorded); relative ``out`` paths are relative
    to the working directory, as on the command line. Each experiment section becomes
    the full field dict of its config (``resolved[name]``).
    """
    raw = copy.deepcopy(raw)
    known = experiments()
    _check_keys(raw, FIXED_KEYS | set(known), "top level")
    for section in FIXED_KEYS & set(raw):
        _check_keys(raw[section], TYPES.get(section, set(dataclasses.asdict(ExecutorConfig()))), section)
    study = {"name": "study", "out": "runs/study", **raw.get("study", {})}
    if not study["out"].strip():
        raise ZoolensError("[study] out is empty", 'e.g. out = "runs/study"')
    models = raw.get("models", {})
    refs = list(models.get("refs", []))
    if models.get("zoo") and resolve_zoo:
        refs = model_refs(refs, models["zoo"], models.get("only"))
    if not refs:
        raise ZoolensError("the study lists no models", "add [models] refs = [...] or zoo = \"fmnist-mini\"")
    data = {**DATA_DEFAULTS, **raw.get("data", {})}
    _check_data(data)
    out: dict[str, Any] = {"study": study, "models": refs, "data": data, "source_file": str(base) if base else None}
    if "one_sided" in models:
        one_sided = _one_sided(models["one_sided"], refs, [n for n in known if n in raw])
        if one_sided:  # recorded only when used: studies without it resolve (and resume) exactly as before
            out["one_sided"] = one_sided
    for name in known:
        if name in raw:
            out[name] = recorded(section_config(name, raw[name], data))  # less unused later additions
    if not set(known) & set(out):
        raise ZoolensError(f"the study has no experiment section ({', '.join(f'[{n}]' for n in sorted(known))})",
                           "add at least one of them")
    out["executor"] = dataclasses.asdict(from_mapping(ExecutorConfig, raw.get("executor", {}), where="executor"))
    return out


def study_parts(spec: dict[str, Any]) -> list[tuple[Any, Any]]:
    """``(experiment, config)`` for every experiment section of a resolved study, in registry order."""
    return [(exp, exp.config_class(**spec[name])) for name, exp in experiments().items() if name in spec]


def preflight_study(spec: dict[str, Any]) -> None:
    """Check a resolved study's references, data and settings before anything is written."""
    for exp, config in study_parts(spec):
        exp.preflight(spec["models"], config)


def run_study(spec: dict[str, Any], *, progress: bool = False) -> dict[str, Any]:
    """Run a resolved study: each experiment into ``OUT/<name>`` (``criticality/``, ``similarity/``).

    Returns ``{name: result}`` for the parts that ran (a DataFrame for criticality, a
    ``SatResult`` for similarity). Each part is a resumable run directory; rerunning the
    same study after a crash executes only the missing units. ``OUT/study.json`` records
    the resolved spec.
    """
    out = Path(spec["study"]["out"])
    ex = ExecutorConfig(**spec["executor"])
    # The executor is not part of what determines the results: a run killed locally may resume on Ray.
    checked = {k: v for k, v in spec.items() if k not in ("executor", "source_file")}
    parts = study_parts(spec)
    preflight_study(spec)  # a typo must not reach the directory
    top = RunDir(out, checked, kind="study")
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    runner = make_executor(ex)  # one for all parts: on Ray, one connection and the same warm workers
    with top.open(), runner.session():
        for exp, config in parts:
            takes_roles = "one_sided" in spec and bool(role_experiments([exp.name]))
            context = {"roles": dict(spec["one_sided"])} if takes_roles else None  # other parts never see them
            try:
                results[exp.name] = run_experiment(exp, spec["models"], config, out=out / exp.name, executor=runner,
                                                   progress=progress, preflight=False, context=context)
            except UnitsFailed as exc:  # go on with the next part; report everything at the end
                failures.update(exc.failures)
        top.write_manifest({"resolved_spec": spec, "complete": not failures, "failed_units": failures})
        top._write_text(out / "study.json", json.dumps(spec, indent=1, default=str))
    if failures:
        raise UnitsFailed(failures, out)
    return results


__all__ = ["DATA_DEFAULTS", "load_study", "preflight_study", "resolve_study", "role_experiments", "run_study",
           "section_config", "study_parts"]
