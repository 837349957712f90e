"""Per-model metadata for the analyses: every zoo's through :func:`zoolens.zoo.metadata.zoo_metadata`,
completed by what a run directory itself records (an imported run's ``models.csv``)."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import pandas as pd

from zoolens.models.refs import display_name
from zoolens.zoo.metadata import META_COLUMNS, blank_row, zoo_metadata


def _is_set(v) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return not (isinstance(v, str) and v == "")


def model_metadata(refs: Mapping[str, str] | Sequence[str], local: pd.DataFrame | None = None) -> pd.DataFrame:
    """Metadata of models by display name → reference.

    Parameters
    ----------
    refs:
        Display name → model reference (or a list of references). ``zoo:ZOO/NAME``
        references take their zoo's metadata (:data:`~zoolens.zoo.metadata.META_COLUMNS`).
    local:
        Optional per-run table (index = display name) whose metadata columns fill what the
        zoo does not know — e.g. an imported run's ``models.csv`` for a model outside the zoo.

    Returns
    -------
    pandas.DataFrame
        Index = display name, columns ``zoo`` + :data:`META_COLUMNS`. Models without any
        metadata get ``family``/``category`` = ``unknown`` and are listed in
        ``attrs["missing"]`` so the analyses can name them instead of labelling them silently.

    Raises
    ------
    ZoolensError
        For a ``zoo:`` reference to a zoo zoolens does not know.
    """
    if not isinstance(refs, Mapping):
        refs = {display_name(r): r for r in refs}
    zoos: dict[str, pd.DataFrame] = {}
    rows, missing = [], []
    for name, ref in refs.items():
        row = {**blank_row(name), "model": name, "zoo": None}
        if ref.startswith("zoo:") and "/" in ref:
            zoo, zname = ref[4:].split("/", 1)
            zname = zname.split("@", 1)[0]  # zoo:ZOO/NAME@FILE (a checkpoint) is still that member
            if zoo not in zoos:
                zoos[zoo] = zoo_metadata(zoo)
            if zname in zoos[zoo].index:
                row.update(zoos[zoo].loc[zname].to_dict(), zoo=zoo)
        if local is not None and name in local.index:
            for c in META_COLUMNS:
                if c in local.columns and not _is_set(row.get(c)) and _is_set(local.at[name, c]):
                    row[c] = local.at[name, c]
        if not _is_set(row.get("category")):
            missing.append(name)
            row["category"] = "unknown"
        if not _is_set(row.get("family")):
            row["family"] = "unknown"
        rows.append(row)
    out = pd.DataFrame(rows, columns=["model", "zoo", *META_COLUMNS]).set_index("model")
    out.attrs["missing"] = missing
    return out


__all__ = ["model_metadata"]
