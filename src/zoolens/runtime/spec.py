"""Study files: a TOML description of a whole study, equivalent to the CLI flags.

```toml
[study]
name = "mini-zoo demo"
out = "runs/demo"                 # criticality/ and similarity/ run directories go inside

[models]
zoo = "fmnist-mini"               # and/or
refs = ["timm:resnet50@/weights/r50.pth"]
only = ["resnet_baseline"]        # with zoo: only these

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

:func:`resolve_study` fills every default, so the manifest records exactly what ran.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from zoolens.errors import ZoolensError
from zoolens.runtime.executors import ExecutorConfig

CRITICALITY_DEFAULTS: dict[str, Any] = {"n_images": None, "seeds": 3, "randomize": "init", "engine": "fast",
                                        "include_norm": False, "layers": None, "precision": "fp32",
                                        "batch_size": 64, "device": "cpu", "layers_per_unit": 0,
                                        "auxiliary_below": 0.05, "critical_above": 0.5, "trust_checkpoint": False}
SIMILARITY_DEFAULTS: dict[str, Any] = {"n_images": None, "attack": "pgd", "eps": "8/255", "alpha": "2/255",
                                       "steps": 50, "random_start": True, "seed": 0, "precision": "uint8",
                                       "preset": None, "batch_size": 256, "device": None, "eps_s": None,
                                       "trust_checkpoint": False}
DATA_DEFAULTS: dict[str, Any] = {"source": "fashion-mnist", "n_images": 500, "seed": 0}
TOP_KEYS = {"study", "models", "data", "criticality", "similarity", "executor"}

# The TOML types each key accepts (an int is fine where a float is asked for; a bool is never a number).
_NUM, _INT, _STR, _BOOL = (int, float), (int,), (str,), (bool,)
TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "study": {"name": _STR, "out": _STR},
    "models": {"zoo": _STR, "refs": (list,), "only": (list,)},
    "data": {"source": _STR, "n_images": _INT, "seed": _INT},
    "criticality": {"n_images": _INT, "seeds": (int, list), "randomize": _STR, "engine": _STR, "include_norm": _BOOL,
                    "layers": _STR, "precision": _STR, "batch_size": _INT, "device": _STR, "layers_per_unit": _INT,
                    "auxiliary_below": _NUM, "critical_above": _NUM, "trust_checkpoint": _BOOL},
    "similarity": {"n_images": _INT, "attack": _STR, "eps": (str, int, float), "alpha": (str, int, float),
                   "steps": _INT, "random_start": _BOOL, "seed": _INT, "precision": _STR, "preset": _STR,
                   "batch_size": _INT, "device": _STR, "eps_s": _NUM, "trust_checkpoint": _BOOL},
    "executor": {"kind": _STR, "address": _STR, "gpus_per_unit": _NUM, "cpus_per_unit": _NUM,
                 "max_retries": _INT, "runtime_env": (dict,)},
}
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
            raise ZoolensError(f"[{where}] {key} must be {want}, got {value!r}", "see examples/*.toml")
    for key in ("refs", "only"):  # lists of names
        if where == "models" and key in table and not all(isinstance(v, str) for v in table[key]):
            raise ZoolensError(f"[models] {key} must be a list of strings, got {table[key]!r}",
                               'e.g. refs = ["timm:resnet18@/weights/r18.safetensors"]')


def _check_values(out: dict[str, Any]) -> None:
    """Value checks that need no data or model (counts, seeds, fractions); preflight does the rest."""
    from zoolens.checks import positive_int, seed_list

    positive_int(out["data"]["n_images"], "[data] n_images", allow_none=True)
    positive_int(out["data"]["seed"], "[data] seed", minimum=0)
    if not out["study"]["out"].strip():
        raise ZoolensError("[study] out is empty", 'e.g. out = "runs/study"')
    c = out.get("criticality")
    if c is not None:
        seed_list(c["seeds"], "[criticality] seeds")
        positive_int(c["n_images"], "[criticality] n_images", allow_none=True)
        positive_int(c["batch_size"], "[criticality] batch_size")
        positive_int(c["layers_per_unit"], "[criticality] layers_per_unit", minimum=0)
    sim = out.get("similarity")
    if sim is not None:
        positive_int(sim["n_images"], "[similarity] n_images", allow_none=True)
        positive_int(sim["batch_size"], "[similarity] batch_size")
        positive_int(sim["seed"], "[similarity] seed", minimum=0)
        attack_of(sim)


def resolve_study(raw: dict[str, Any], *, base: str | Path | None = None, resolve_zoo: bool = True
                  ) -> dict[str, Any]:
    """The study with every default filled in and the model list expanded.

    ``base`` is the study file's name (recorded); relative ``out`` paths are relative
    to the working directory, as on the command line.
    """
    raw = copy.deepcopy(raw)
    _check_keys(raw, TOP_KEYS, "top level")
    for section in TOP_KEYS & set(raw):
        _check_keys(raw[section], TYPES[section], section)
    study = {"name": "study", "out": "runs/study", **raw.get("study", {})}
    models = raw.get("models", {})
    refs = list(models.get("refs", []))
    if models.get("zoo") and resolve_zoo:
        from zoolens.zoo.selection import model_refs

        refs = model_refs(refs, models["zoo"], models.get("only"))
    if not refs:
        raise ZoolensError("the study lists no models", "add [models] refs = [...] or zoo = \"fmnist-mini\"")
    data = {**DATA_DEFAULTS, **raw.get("data", {})}
    _check_keys(data, DATA_DEFAULTS, "data")
    out: dict[str, Any] = {"study": study, "models": refs, "data": data, "source_file": str(base) if base else None}
    for section, defaults in (("criticality", CRITICALITY_DEFAULTS), ("similarity", SIMILARITY_DEFAULTS)):
        if section in raw:
            settings = {**defaults, **raw[section]}
            _check_keys(settings, defaults, section)
            if settings["n_images"] is None:  # a section without its own count uses [data]'s
                settings["n_images"] = data["n_images"]
            out[section] = settings
    if "criticality" not in out and "similarity" not in out:
        raise ZoolensError("the study has neither [criticality] nor [similarity]", "add at least one of them")
    ex = raw.get("executor", {})
    _check_keys(ex, set(ExecutorConfig().as_dict()), "executor")
    out["executor"] = ExecutorConfig(**ex).validate().as_dict()
    _check_values(out)
    return out


def preflight_study(spec: dict[str, Any]) -> None:
    """Check a resolved study's references, data and settings before anything is written."""
    d = spec["data"]
    if "criticality" in spec:
        from zoolens.criticality.run import CriticalitySettings, preflight

        c = spec["criticality"]
        settings = CriticalitySettings(data=d["source"], n_images=c["n_images"], data_seed=d["seed"],
                                       seeds=seeds_of(c["seeds"]), randomize=c["randomize"],
                                       include_norm=c["include_norm"], layers=c["layers"], precision=c["precision"])
        preflight(spec["models"], settings, engine=c["engine"], batch_size=c["batch_size"], device=c["device"],
                  auxiliary_below=c["auxiliary_below"], critical_above=c["critical_above"])
    if "similarity" in spec:
        from zoolens.similarity.run import sat_preflight
        from zoolens.similarity.sat import EPS_S

        s = spec["similarity"]
        _, n = attack_of(s)
        sat_preflight(spec["models"], data=d["source"], n_images=n, data_seed=d["seed"], batch_size=s["batch_size"],
                      device=s["device"], eps_s=EPS_S if s["eps_s"] is None else s["eps_s"])


def attack_of(section: dict[str, Any]):
    """The (AttackConfig, image count) of a resolved ``[similarity]`` section."""
    from zoolens.similarity.run import build_attack

    return build_attack(section["attack"], eps=section["eps"], alpha=section["alpha"], steps=section["steps"],
                        random_start=section["random_start"], seed=section["seed"], precision=section["precision"],
                        preset=section["preset"], n_images=section["n_images"])


def seeds_of(value: int | list[int]) -> list[int]:
    """A study's ``seeds`` (a count or a list) as a checked list."""
    from zoolens.checks import seed_list

    return seed_list(value, "[criticality] seeds")


def run_study(spec: dict[str, Any], *, progress: bool = False) -> dict[str, Any]:
    """Run a resolved study: criticality into ``OUT/criticality``, SAT into ``OUT/similarity``.

    Returns ``{"criticality": DataFrame, "similarity": SatResult}`` for the parts that ran.
    Each part is a resumable run directory; rerunning the same study after a crash
    executes only the missing units. ``OUT/study.json`` records the resolved spec.
    """
    from zoolens.runtime.rundir import RunDir
    from zoolens.runtime.units import UnitsFailed

    out = Path(spec["study"]["out"])
    ex = ExecutorConfig(**spec["executor"])
    # The executor is not part of what determines the results: a run killed locally may resume on Ray.
    checked = {k: v for k, v in spec.items() if k not in ("executor", "source_file")}
    preflight_study(spec)  # a typo must not reach the directory
    top = RunDir(out, checked, kind="study")
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    with top.open():
        if "criticality" in spec:
            from zoolens.criticality.run import criticality

            c, d = spec["criticality"], spec["data"]
            try:
                results["criticality"] = criticality(
                    spec["models"], data=d["source"], n_images=c["n_images"], seeds=seeds_of(c["seeds"]),
                    randomize=c["randomize"], engine=c["engine"], include_norm=c["include_norm"], layers=c["layers"],
                    data_seed=d["seed"], precision=c["precision"], batch_size=c["batch_size"], device=c["device"],
                    out=out / "criticality", trust_checkpoint=c["trust_checkpoint"],
                    auxiliary_below=c["auxiliary_below"], critical_above=c["critical_above"], progress=progress,
                    layers_per_unit=c["layers_per_unit"] or None, executor=ex)
            except UnitsFailed as exc:  # go on with SAT; report everything at the end
                failures.update(exc.failures)
        if "similarity" in spec:
            from zoolens.similarity.run import run_sat
            from zoolens.similarity.sat import EPS_S

            s, d = spec["similarity"], spec["data"]
            cfg, n = attack_of(s)
            try:
                results["similarity"] = run_sat(
                    spec["models"], data=d["source"], n_images=n, data_seed=d["seed"], attack=cfg,
                    out=out / "similarity", batch_size=s["batch_size"], device=s["device"],
                    eps_s=EPS_S if s["eps_s"] is None else s["eps_s"], progress=progress,
                    trust_checkpoint=s["trust_checkpoint"], executor=ex)
            except UnitsFailed as exc:
                failures.update(exc.failures)
        top.write_manifest({"resolved_spec": spec, "complete": not failures, "failed_units": failures})
        top._write_text(out / "study.json", __import__("json").dumps(spec, indent=1, default=str))
    if failures:
        raise UnitsFailed(failures, out)
    return results


__all__ = ["load_study", "preflight_study", "resolve_study", "run_study"]
