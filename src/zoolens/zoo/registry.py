"""Shipped zoos: manifests, weights on disk, and loading zoo models as :class:`WrappedModel`."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.zoo.recipes import ZOO_RECIPES, Recipe

#: zoo name → package directory holding ``manifest.json`` and ``weights/``.
ZOO_DIRS: dict[str, Path] = {"fmnist-mini": Path(__file__).parent / "fmnist_mini"}

LIST_COLUMNS = ["name", "family", "method", "category", "accuracy", "params", "input_size"]


def list_zoos() -> list[str]:
    """Names of the zoos shipped with zoolens."""
    return sorted(ZOO_DIRS)


def check_zoo(zoo: str) -> str:
    if zoo not in ZOO_DIRS:
        raise ZoolensError(f"unknown zoo {zoo!r}", f"valid zoos: {', '.join(list_zoos())}")
    return zoo


def zoo_dir(zoo: str) -> Path:
    return ZOO_DIRS[check_zoo(zoo)]


@lru_cache(maxsize=8)
def _manifest_rows(path: str, mtime: float) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(Path(path).read_text())["models"])


def manifest_rows(zoo: str) -> list[dict[str, Any]]:
    """The manifest's per-model rows (as written by ``zoolens zoo train``); [] before training."""
    path = zoo_dir(zoo) / "manifest.json"
    if not path.is_file():
        return []
    return [dict(r) for r in _manifest_rows(str(path), path.stat().st_mtime)]


def zoo_model_names(zoo: str) -> list[str]:
    """Names of the models of ``zoo`` (every recipe, in manifest order)."""
    return list(ZOO_RECIPES[check_zoo(zoo)])


def zoo_manifest(zoo: str) -> pd.DataFrame:
    """One row per trained model.

    Columns: name, family, method, category, accuracy (clean top-1 %, 10k test images),
    params, input_size (C, H, W), seed, train_wall_time_s, sha256, the 13 SAT component
    columns under their CSV names, and the full training config (dict) in ``config``.
    Raises :class:`ZoolensError` for an unknown zoo.
    """
    rows = []
    for r in manifest_rows(zoo):
        flat = {k: v for k, v in r.items() if k != "components"}
        flat["input_size"] = tuple(r["input_size"])
        flat.update(r["components"])
        rows.append(flat)
    cols = LIST_COLUMNS + ["seed", "train_wall_time_s", "sha256"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows)
    return df[cols + [c for c in df.columns if c not in cols]]


def recipe_for(zoo: str, name: str) -> Recipe:
    recipes = ZOO_RECIPES[check_zoo(zoo)]
    if name not in recipes:
        raise ZoolensError(f"unknown model {name!r} in zoo {zoo!r}", f"valid names: {', '.join(recipes)}")
    return recipes[name]


def load_zoo_model(zoo: str, name: str):
    """Load shipped zoo model ``zoo:ZOO/NAME`` as a :class:`~zoolens.models.wrapper.WrappedModel` in eval mode.

    Weights come from ``weights/NAME.safetensors`` (no unpickling); every tensor's
    shape is checked against a freshly built net of the recipe's architecture. The
    wrapper's re-initializer rebuilds that architecture with its own init.
    """
    from safetensors.torch import load_file

    from zoolens.zoo.train import build_net, wrap

    recipe = recipe_for(zoo, name)
    row = next((r for r in manifest_rows(zoo) if r["name"] == name), None)
    path = zoo_dir(zoo) / "weights" / f"{name}.safetensors"
    if row is None or not path.is_file():
        raise ZoolensError(f"zoo model {zoo}/{name} has no weights at {path}",
                           f"train it with `zoolens zoo train {zoo} --only {name}`")
    state = load_file(str(path))
    net = build_net(recipe)
    expected = net.state_dict()
    bad = [k for k in expected if k not in state or tuple(state[k].shape) != tuple(expected[k].shape)]
    extra = [k for k in state if k not in expected]
    if bad or extra:
        raise ZoolensError(f"weights {path} do not match architecture {recipe.family} "
                           f"(mismatched: {(bad + extra)[:5]})", f"retrain with `zoolens zoo train {zoo} --only {name}`")
    net.load_state_dict(state)
    info = {k: v for k, v in row.items() if k != "config"}
    info["config"] = row.get("config")
    model = wrap(net, recipe, zoo, info=info)
    return model.eval()
