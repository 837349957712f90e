"""Per-model metadata of every zoo, through one interface: :func:`zoo_metadata`.

The analyses need, per model, its family, training category and method, the
adversarial-training norm and budget (in the norm's own unit), the published top-1,
the 13 SAT components and the paper's SAT cluster (Table 1). Each zoo keeps these in
its own manifest; this module reads each into the same columns (:data:`META_COLUMNS`)
so that no analysis needs to know which zoo a model came from.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.zoo.architectures import COMPONENT_COLUMNS


#: Columns every zoo's metadata has (NaN/None where a zoo does not know them).
#: ``epsilon`` is the adversarial-training budget in its norm's own unit (``epsilon_unit``);
#: ``adv_eps`` is the same budget as a number comparable within one norm (the mini zoo's
#: L∞ budgets in [0, 1] pixels; the criticality paper's L∞ budgets in /255 units as printed).
META_COLUMNS: tuple[str, ...] = ("family", "category", "method", "norm", "epsilon", "epsilon_unit", "adv_eps",
                                 "published_top1", "paper_cluster", "published_id", *COMPONENT_COLUMNS)


def blank_row(name: str) -> dict:
    """A metadata row that knows nothing yet: every column None, the numeric ones NaN."""
    row = {c: None for c in META_COLUMNS}
    row.update(name=name, epsilon=math.nan, adv_eps=math.nan, published_top1=math.nan, paper_cluster=math.nan)
    return row


def _fmnist_mini() -> pd.DataFrame:
    from zoolens.zoo.recipes import ZOO_RECIPES
    from zoolens.zoo.registry import manifest_rows

    trained = {r["name"]: r for r in manifest_rows("fmnist-mini")}
    rows = []
    for name, rec in ZOO_RECIPES["fmnist-mini"].items():
        row = blank_row(name)
        row.update(family=rec.family, category=rec.category, method=rec.method, adv_eps=float(rec.adv_eps or 0.0))
        if rec.adv_eps:
            row.update(norm="linf", epsilon=float(rec.adv_eps), epsilon_unit="[0,1] pixels")
        comps = (trained.get(name) or {}).get("components") or {}
        row.update({c: comps.get(c) for c in COMPONENT_COLUMNS if c in comps})
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def _paper_r50() -> pd.DataFrame:
    from zoolens.zoo.paper.r50 import r50_entries

    rows = []
    for e in r50_entries():
        row = blank_row(e["name"])
        eps = math.nan if e["epsilon"] is None else float(e["epsilon"])
        norm = e["norm"] or None
        # The paper prints L∞ budgets as multiples of 1/255 and L2 budgets as they are.
        unit = {"linf": "/255", "l2": "[0,1] pixels"}.get(norm or "", None)
        row.update(family="resnet50", category=e["category"], method=e["method"], norm=norm, epsilon=eps,
                   epsilon_unit=unit, adv_eps=eps if e["category"] == "adversarial_training" else 0.0,
                   published_top1=float(e["published_top1"]), published_id=e.get("published_id"))
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


def _paper_sat69() -> pd.DataFrame:
    from zoolens.zoo.paper.sat69 import sat69_manifest

    rows = []
    for r in sat69_manifest().to_dict("records"):
        row = blank_row(r["name"])
        # Every one of the 69 is its own architecture: its family is itself.
        row.update(family=r["name"], category="sat69", method=r["paper_name"], paper_cluster=int(r["cluster"]),
                   published_id=r["timm_name"], adv_eps=0.0)
        row.update({c: r[c] for c in COMPONENT_COLUMNS})
        rows.append(row)
    return pd.DataFrame(rows).set_index("name")


#: zoo name → reader of its metadata. Adding a zoo = adding its reader here.
ZOO_METADATA: dict[str, Callable[[], pd.DataFrame]] = {
    "fmnist-mini": _fmnist_mini,
    "paper-r50": _paper_r50,
    "paper-sat69": _paper_sat69,
}


def known_zoos() -> list[str]:
    """Names of the zoos whose metadata zoolens knows."""
    return sorted(ZOO_METADATA)


@functools.lru_cache(maxsize=None)
def _cached(zoo: str) -> pd.DataFrame:
    df = ZOO_METADATA[zoo]()
    return df[list(META_COLUMNS)]


def zoo_metadata(zoo: str) -> pd.DataFrame:
    """Metadata of every model of ``zoo``, index = model name, columns :data:`META_COLUMNS`.

    Raises
    ------
    ZoolensError
        For a zoo zoolens does not know.
    """
    if zoo not in ZOO_METADATA:
        raise ZoolensError(f"unknown zoo {zoo!r}", f"valid zoos: {', '.join(known_zoos())}")
    return _cached(zoo).copy()


__all__ = ["COMPONENT_COLUMNS", "META_COLUMNS", "ZOO_METADATA", "blank_row", "known_zoos", "zoo_metadata"]
