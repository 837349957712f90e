"""Your models among a reference zoo (e.g. the papers' published data): pure pandas.

- Criticality: each of your models' layer-criticality profile against every reference
  profile, over the layers both share. Layers are matched by their paper-style label
  (``[2.0] conv1``, ``[1.0] downsample``, ``[Head] fc``), which timm's and torchvision's
  ResNet-50 module names map to identically (``layer2.0.conv1``, ``downsample.0``, ``fc``).
- SAT: your SAT matrix against the reference matrix over the model pairs both contain,
  models matched by their zoo name (``zoo:paper-sat69/NAME``) or timm architecture.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoolens.analysis.statistics import correlation
from zoolens.errors import ZoolensError
from zoolens.zoo.paper.sat69 import sat69_manifest

MIN_SHARED_FRACTION = 0.5


def profile_distances(user: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Root-mean-square difference of criticality profiles over the shared layers.

    Parameters
    ----------
    user, reference:
        Models × layer-label matrices of mean criticality (criticality paper Fig. 1).

    Returns
    -------
    pandas.DataFrame
        ``model, reference_model, rank, distance, n_layers``: for each of the user's
        models every reference model, nearest first (rank 1).

    Raises
    ------
    ZoolensError
        When fewer than half of the reference's layers are shared (another architecture).
    """
    shared = [c for c in reference.columns if c in set(user.columns)]
    if len(shared) < MIN_SHARED_FRACTION * len(reference.columns) or not shared:
        raise ZoolensError(f"the run shares {len(shared)} of the reference's {len(reference.columns)} layers",
                           "place a run of the same architecture (e.g. a ResNet-50 for the published criticality "
                           "zoo)")
    ref = reference[shared].to_numpy(dtype=float)
    rows = []
    for m in user.index:
        u = user.loc[m, shared].to_numpy(dtype=float)
        ok = np.isfinite(u)[None, :] & np.isfinite(ref)
        d = np.sqrt(np.where(ok, (ref - u[None, :]) ** 2, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1))
        order = np.argsort(d, kind="stable")
        for rank, i in enumerate(order, start=1):
            rows.append({"model": m, "reference_model": reference.index[i], "rank": rank, "distance": float(d[i]),
                         "n_layers": int(ok[i].sum())})
    return pd.DataFrame(rows, columns=["model", "reference_model", "rank", "distance", "n_layers"])


def shared_pairs(user: pd.DataFrame, reference: pd.DataFrame, names: dict[str, str]) -> tuple[pd.DataFrame, dict]:
    """SAT of the model pairs both matrices contain, and their Pearson/Spearman correlation.

    Parameters
    ----------
    user, reference:
        Square SAT matrices.
    names:
        The user's model name → the reference's name for the models both contain.

    Returns
    -------
    (pairs, corr)
        ``pairs``: ``model_a, model_b, reference_a, reference_b, sat, sat_reference``;
        ``corr``: :func:`zoolens.analysis.statistics.correlation` of the two columns.
    """
    common = [m for m in user.index if m in names and names[m] in reference.index]
    rows = []
    for i, a in enumerate(common):
        for b in common[i + 1:]:
            rows.append({"model_a": a, "model_b": b, "reference_a": names[a], "reference_b": names[b],
                         "sat": float(user.loc[a, b]), "sat_reference": float(reference.loc[names[a], names[b]])})
    pairs = pd.DataFrame(rows, columns=["model_a", "model_b", "reference_a", "reference_b", "sat", "sat_reference"])
    return pairs, correlation(pairs["sat"], pairs["sat_reference"])


def sat69_names(refs: dict[str, str]) -> dict[str, str]:
    """The user's model names → paper-sat69 names, for ``zoo:paper-sat69/NAME`` and ``timm:ARCH[.TAG][@...]``."""
    man = sat69_manifest()
    by_arch = {**dict(zip(man["timm_arch"], man["name"])), **dict(zip(man["name"], man["name"]))}
    out = {}
    for name, ref in refs.items():
        if ref.startswith("zoo:paper-sat69/"):
            out[name] = ref.split("/", 1)[1]
        elif ref.startswith("timm:"):
            arch = ref[5:].split("@", 1)[0].split(".", 1)[0]
            if arch in by_arch:
                out[name] = by_arch[arch]
    return out


__all__ = ["MIN_SHARED_FRACTION", "profile_distances", "sat69_names", "shared_pairs"]
