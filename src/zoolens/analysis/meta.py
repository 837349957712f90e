"""Per-model metadata (family, category, method, adversarial budget, components) from the zoo manifest."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import pandas as pd

from zoolens.analysis.components import COMPONENT_COLUMNS


def model_metadata(refs: Mapping[str, str] | Sequence[str]) -> pd.DataFrame:
    """Metadata for models by display name → reference.

    Zoo models (``zoo:ZOO/NAME``) take ``family``, ``category``, ``method``, ``adv_eps``
    (training config) and the component columns from the zoo manifest; others get
    ``family``/``category`` = ``unknown`` and no components.

    Returns
    -------
    pandas.DataFrame
        Index = model display name.
    """
    if not isinstance(refs, Mapping):
        refs = {r.split("/", 1)[1] if r.startswith("zoo:") else r: r for r in refs}
    rows = []
    manifests: dict[str, pd.DataFrame] = {}
    for name, ref in refs.items():
        row = {"model": name, "family": "unknown", "category": "unknown", "method": "", "adv_eps": math.nan}
        if ref.startswith("zoo:") and "/" in ref:
            zoo, zname = ref[4:].split("/", 1)
            if zoo not in manifests:
                try:
                    from zoolens.zoo import zoo_manifest

                    manifests[zoo] = zoo_manifest(zoo).set_index("name")
                except Exception:  # unknown zoo: no metadata
                    manifests[zoo] = pd.DataFrame()
            man = manifests[zoo]
            if zname in man.index:
                r = man.loc[zname]
                cfg = r.get("config") or {}
                row.update(family=r["family"], category=r["category"], method=r["method"],
                           adv_eps=float(cfg.get("adv_eps", 0.0)) if isinstance(cfg, dict) else math.nan)
                for c in COMPONENT_COLUMNS:
                    if c in man.columns:
                        row[c] = r[c]
            else:
                try:  # not trained yet: the recipe still tells family and category
                    from zoolens.zoo.registry import recipe_for

                    rec = recipe_for(zoo, zname)
                    row.update(family=rec.family, category=rec.category, method=rec.method, adv_eps=rec.adv_eps)
                except Exception:
                    pass
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


__all__ = ["model_metadata"]
