"""Per-model metadata of every zoo, through one interface: :func:`zoo_metadata`.

The analyses need, per model, its family, training category and method, the
adversarial-training norm and budget (in the norm's own unit), the published top-1,
the 13 SAT components and the paper's SAT cluster (Table 1). Each zoo keeps these in
its own manifest; each registered zoo (:class:`zoolens.zoo.registry.Zoo`) reads its own
into the same columns (:data:`META_COLUMNS`), so that no analysis needs to know which
zoo a model came from.
"""

from __future__ import annotations

import functools
import math

import pandas as pd

from zoolens.zoo.architectures import COMPONENT_COLUMNS
from zoolens.zoo.registry import get_zoo, list_zoos


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


def known_zoos() -> list[str]:
    """Names of the zoos whose metadata zoolens knows (every registered zoo)."""
    return list_zoos()


@functools.lru_cache(maxsize=None)
def _cached(zoo: str) -> pd.DataFrame:
    df = get_zoo(zoo).metadata()
    return df[list(META_COLUMNS)]


def zoo_metadata(zoo: str) -> pd.DataFrame:
    """Metadata of every model of ``zoo``, index = model name, columns :data:`META_COLUMNS`.

    Raises
    ------
    ZoolensError
        For a zoo zoolens does not know.
    """
    get_zoo(zoo)  # an unknown zoo raises, listing the registered ones
    return _cached(zoo).copy()


#: The columns ``zoolens zoo list`` shows for a zoo listed from its metadata (those it knows).
LISTING_COLUMNS = ("name", "category", "method", "norm", "epsilon", "published_top1", "paper_cluster", "published_id")


def metadata_listing(zoo: str, all_columns: bool = False) -> pd.DataFrame:
    """The ``zoolens zoo list`` table of a zoo from its metadata: :data:`LISTING_COLUMNS` it knows, or all."""
    meta = zoo_metadata(zoo).reset_index()
    cols = list(LISTING_COLUMNS)
    shown = [c for c in cols if meta[c].notna().any()]
    return meta[shown + ([] if not all_columns else [c for c in meta.columns if c not in cols])]


__all__ = ["COMPONENT_COLUMNS", "LISTING_COLUMNS", "META_COLUMNS", "blank_row", "known_zoos", "metadata_listing",
           "zoo_metadata"]
