"""The shipped, trainable zoo ``fmnist-mini``: manifest, weights on disk, loading, metadata;
registered as a :class:`~zoolens.zoo.registry.Zoo`."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.models.source import Architecture
from zoolens.models.wrapper import WrappedModel
from zoolens.zoo.architectures import COMPONENT_COLUMNS
from zoolens.zoo.build import architecture, build_net, wrap
from zoolens.zoo.metadata import blank_row
from zoolens.zoo.paper.fetch import FileSpec, WeightEntries
from zoolens.zoo.recipes import ZOO_NAME, ZOO_RECIPES, Recipe
from zoolens.zoo.registry import Zoo, register_zoo

#: Trainable zoo name → package directory holding ``manifest.json`` and ``weights/``.
ZOO_DIRS: dict[str, Path] = {ZOO_NAME: Path(__file__).parent / "fmnist_mini"}

LIST_COLUMNS = ["name", "family", "method", "category", "accuracy", "params", "input_size"]


def check_zoo(zoo: str) -> str:
    """``zoo`` when it is a trainable (recipe) zoo; else a one-line :class:`ZoolensError`."""
    if zoo not in ZOO_DIRS:
        raise ZoolensError(f"unknown zoo {zoo!r} (or not trainable)", f"valid zoos: {', '.join(sorted(ZOO_DIRS))}")
    return zoo


def zoo_dir(zoo: str) -> Path:
    """The folder of a trainable zoo (``manifest.json``, ``weights/``)."""
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
    """The recipe of ``zoo:ZOO/NAME`` in a trainable zoo."""
    recipes = ZOO_RECIPES[check_zoo(zoo)]
    if name not in recipes:
        raise ZoolensError(f"unknown model {name!r} in zoo {zoo!r}", f"valid names: {', '.join(recipes)}")
    return recipes[name]


def load(zoo: str, name: str, path: str | Path | None = None) -> WrappedModel:
    """Load ``zoo:ZOO/NAME`` (or ``zoo:ZOO/NAME@PATH``) of a trainable zoo in eval mode.

    Weights come from ``weights/NAME.safetensors``, or from ``path`` (a safetensors file of
    the same architecture, e.g. an epoch checkpoint; its JSON sidecar, if any, becomes the
    model's ``info``) — never unpickled; every tensor's shape is checked against a freshly
    built net of the recipe's architecture. The wrapper's re-initializer rebuilds that
    architecture with its own init.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from zoolens.zoo.checkpoints import read_sidecar

    recipe = recipe_for(zoo, name)
    if path is None:
        row = next((r for r in manifest_rows(zoo) if r["name"] == name), None)
        path = zoo_dir(zoo) / "weights" / f"{name}.safetensors"
        retrain = f"retrain it (zoolens zoo train {zoo} --only {name}, or zoolens.zoo.train_zoo.train_zoo)"
        if row is None or not path.is_file():
            raise ZoolensError(f"zoo model {zoo}/{name} has no weights at {path}", retrain)
    else:
        path = Path(path)
        row = {"name": name, **(read_sidecar(path) or {}), "weights": str(path)}
        row.pop("recipe", None)
        retrain = f"point '@' at a safetensors file of {zoo}/{name} (zoolens zoo train {zoo} --save-every N)"
        if not path.is_file():
            raise ZoolensError(f"weights file {path} does not exist", retrain)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise ZoolensError(f"{path} is not a readable safetensors file ({str(exc)[:80]})", retrain) from None
    net = build_net(recipe)
    expected = net.state_dict()
    bad = [k for k in expected if k not in state or tuple(state[k].shape) != tuple(expected[k].shape)]
    extra = [k for k in state if k not in expected]
    if bad or extra:
        raise ZoolensError(f"weights {path} do not match architecture {recipe.family} "
                           f"(mismatched: {(bad + extra)[:5]})", retrain)
    net.load_state_dict(state)
    info = {k: v for k, v in row.items() if k != "config"}
    info["config"] = row.get("config")
    return wrap(net, recipe, zoo, info=info).eval()


def metadata(zoo: str) -> pd.DataFrame:
    """:data:`~zoolens.zoo.metadata.META_COLUMNS` of every recipe (components once trained)."""
    trained = {r["name"]: r for r in manifest_rows(zoo)}
    rows = []
    for name, rec in ZOO_RECIPES[zoo].items():
        row = blank_row(name)
        row.update(family=rec.family, category=rec.category, method=rec.method, adv_eps=float(rec.adv_eps or 0.0))
        if rec.adv_eps:
            row.update(norm="linf", epsilon=float(rec.adv_eps), epsilon_unit="[0,1] pixels")
        comps = (trained.get(name) or {}).get("components") or {}
        row.update({c: comps.get(c) for c in COMPONENT_COLUMNS if c in comps})
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def listing(zoo: str, all_columns: bool = False) -> pd.DataFrame:
    """The trained models with accuracy, parameters and input size (``--all``: seed, train time, components)."""
    df = zoo_manifest(zoo)
    if df.empty:
        raise ZoolensError(f"zoo {zoo!r} has no trained models yet",
                           f"train it (zoolens zoo train {zoo}, or zoolens.zoo.train_zoo.train_zoo)")
    df = df[LIST_COLUMNS] if not all_columns else df.drop(columns=["config"], errors="ignore")
    return df.assign(input_size=df["input_size"].map(lambda s: "x".join(map(str, s))))


def weights(zoo: str) -> WeightEntries:
    """One shipped ``weights/NAME.safetensors`` per recipe, checked against the manifest's SHA-256."""
    sha = {r["name"]: r.get("sha256") for r in manifest_rows(zoo)}
    names = list(ZOO_RECIPES[zoo])
    files = [FileSpec(model=n, role="weights", path=zoo_dir(zoo) / "weights" / f"{n}.safetensors", url=None,
                      sha256=sha.get(n)) for n in names]
    return WeightEntries(names=names, files=files, no_url=f"(shipped; retrain: zoolens zoo train {zoo})")


def _architecture(zoo: str, name: str) -> Architecture:
    return architecture(recipe_for(zoo, name))


def register(zoo: str = ZOO_NAME) -> Zoo:
    """Register the trainable zoo ``zoo`` (its recipes in :data:`~zoolens.zoo.recipes.ZOO_RECIPES`)."""
    return register_zoo(Zoo(
        name=zoo, description="shipped Fashion-MNIST mini zoo (trainable from recipes)",
        members=lambda: list(ZOO_RECIPES[check_zoo(zoo)]),
        load=lambda name, *, trust_checkpoint=False: load(zoo, name),
        load_file=lambda name, path: load(zoo, name, path),
        metadata=lambda: metadata(zoo), manifest=lambda: zoo_manifest(zoo),
        listing=lambda all_columns=False: listing(zoo, all_columns), weights=lambda: weights(zoo),
        architecture=lambda name: _architecture(zoo, name)))


ZOO = register()

__all__ = ["LIST_COLUMNS", "ZOO", "ZOO_DIRS", "check_zoo", "load", "manifest_rows", "metadata", "recipe_for",
           "register", "zoo_dir", "zoo_manifest"]
