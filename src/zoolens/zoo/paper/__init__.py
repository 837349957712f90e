"""The papers' own zoos: ``zoo:paper-r50`` (criticality seed, 50 ResNet-50s) and
``zoo:paper-sat69`` (SAT seed, 69 timm models). See ``docs/paper_zoos.md``.

Public API: :func:`paper_zoos`, :func:`paper_manifest`, :func:`paper_model_names`,
:func:`load_paper_model`, :func:`imagenet_val_source`.
"""

from __future__ import annotations

import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.zoo.paper.imagenet import imagenet_subset, imagenet_synsets, imagenet_val_source

PAPER_ZOOS = ("paper-r50", "paper-sat69")


def paper_zoos() -> list[str]:
    return list(PAPER_ZOOS)


def _check(zoo: str) -> None:
    if zoo not in PAPER_ZOOS:
        raise ZoolensError(f"unknown paper zoo {zoo!r}", f"use one of {', '.join(PAPER_ZOOS)}")


def paper_manifest(zoo: str) -> pd.DataFrame:
    """One row per model. ``paper-r50``: method, category, budget, published top-1, weight
    source, files, remap. ``paper-sat69``: the component columns of ``sat69_models.csv``
    plus the resolved timm reference."""
    _check(zoo)
    if zoo == "paper-r50":
        from zoolens.zoo.paper.r50 import r50_manifest

        return r50_manifest()
    from zoolens.zoo.paper.sat69 import sat69_manifest

    return sat69_manifest()


def paper_model_names(zoo: str) -> list[str]:
    return list(paper_manifest(zoo)["name"])


def load_paper_model(zoo: str, name: str, *, trust_checkpoint: bool = False):
    """Load ``zoo:ZOO/NAME`` of a paper zoo as a :class:`~zoolens.models.WrappedModel`."""
    _check(zoo)
    if zoo == "paper-r50":
        from zoolens.zoo.paper.r50 import load_r50_model

        return load_r50_model(name, trust_checkpoint=trust_checkpoint)
    from zoolens.zoo.paper.sat69 import load_sat69_model

    return load_sat69_model(name, trust_checkpoint=trust_checkpoint)


__all__ = ["PAPER_ZOOS", "imagenet_subset", "imagenet_synsets", "imagenet_val_source", "load_paper_model",
           "paper_manifest", "paper_model_names", "paper_zoos"]
