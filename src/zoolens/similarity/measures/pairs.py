"""From each model's parts to the per-pair table of a ``measures`` run (no model is loaded here)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.similarity.measures.agreement import disagreement_matrix, error_consistency_matrix
from zoolens.similarity.measures.boundary import somepalli_similarity
from zoolens.similarity.measures.cka import linear_cka
from zoolens.similarity.measures.tramer import ADVERSARIAL, DIRECTIONS, SHARED, boundary_gaps, inter_boundary

CKA_ROWS = 4096  # rows per accumulation step when streaming two feature files


def check_same_images(preds: dict[str, pd.DataFrame]) -> None:
    """Every model saw the same images with the same labels, in the same order."""
    first = None
    for name, df in preds.items():
        key = (df["image"].tolist(), df["label"].tolist())
        if first is None:
            first = (name, key)
        elif key != first[1]:
            raise ZoolensError(f"models {first[0]} and {name} were evaluated on different images or labels",
                               "use one data source and seed for the whole run")


def pair_table(names: Sequence[str], measures: Sequence[str], preds: dict[str, pd.DataFrame],
               features: dict[str, Path] | None = None, planes: dict[str, np.ndarray] | None = None,
               tramer: dict[str, pd.DataFrame] | None = None,
               adversarial: dict[tuple[str, str], pd.DataFrame] | None = None,
               progress: Callable | None = None) -> pd.DataFrame:
    """One row per unordered pair (a before b in ``names``' order) with a column per measure.

    Parameters
    ----------
    preds:
        Per model: its ``measures_pred`` part (image, label, pred).
    features:
        Per model: its features ``.npy`` file (read memory-mapped, in :data:`CKA_ROWS` chunks).
    planes:
        Per model: its (triplets × points) grid predictions.
    tramer:
        Per model: its ``measures_tramer`` part.
    adversarial:
        Per ordered pair (source, target): its ``measures_tramer_adv`` part, d_target(x, u_source).

    Tramèr's adversarial direction is the source's, so it gives one gap per direction of the pair:
    ``tramer_adversarial_ab`` (a's directions), ``tramer_adversarial_ba``; ``tramer_adversarial`` is
    the mean over both directions' images (counts summed), the pair's one value.
    """
    check_same_images(preds)
    n = len(next(iter(preds.values()))) if preds else 0
    pred = np.stack([preds[m]["pred"].to_numpy() for m in names]) if names else np.zeros((0, 0), int)
    labels = preds[names[0]]["label"].to_numpy() if names else np.zeros(0, int)
    correct = pred == labels[None, :]
    ec = error_consistency_matrix(correct) if "error_consistency" in measures and len(names) else None
    dis = disagreement_matrix(pred) if "disagreement" in measures and len(names) else None
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    rows = []
    for i, j in (progress(pairs) if progress else pairs):
        a, b = names[i], names[j]
        row: dict = {"model_a": a, "model_b": b, "n_images": n}
        if "cka" in measures:
            fa, fb = (np.load(features[m], mmap_mode="r") for m in (a, b))
            row["cka"] = linear_cka(fa, fb, batch_size=CKA_ROWS, names=(a, b))
        if ec is not None:
            row.update(error_consistency=float(ec["error_consistency"][i, j]), c_obs=float(ec["c_obs"][i, j]),
                       c_exp=float(ec["c_exp"][i, j]))
        if dis is not None:
            row["disagreement"] = float(dis[i, j])
        if "somepalli" in measures:
            row.update(somepalli_similarity(planes[a], planes[b]))
            row["somepalli_points"] = int(planes[a].size)
        if "tramer" in measures:
            ta, tb = tramer[a], tramer[b]
            for kind in SHARED:
                da, db = ta[ta["direction"] == kind], tb[tb["direction"] == kind]
                r = inter_boundary(da["distance"].to_numpy(), db["distance"].to_numpy(),
                                   (da["pred"] == da["label"]).to_numpy(), (db["pred"] == db["label"]).to_numpy())
                row.update({k.replace("tramer", f"tramer_{kind}"): v for k, v in r.items()})
            row.update(_adversarial_gap(ta, tb, adversarial[(a, b)], adversarial[(b, a)]))
        rows.append(row)
    return pd.DataFrame(rows)


def _adversarial_gap(ta: pd.DataFrame, tb: pd.DataFrame, ab: pd.DataFrame, ba: pd.DataFrame) -> dict:
    """|d_A(x, u_A) − d_B(x, u_A)| and the same with B's directions, pooled into one value per pair."""
    own_a, own_b = (t[t["direction"] == ADVERSARIAL] for t in (ta, tb))
    ca, cb = ((t["pred"] == t["label"]).to_numpy() for t in (own_a, own_b))
    out: dict = {"tramer_adversarial_n": 0, "tramer_adversarial_unconverged": 0}
    pooled = []
    for tag, own, other, c1, c2 in (("ab", own_a, ab, ca, cb), ("ba", own_b, ba, cb, ca)):
        gap, unconverged = boundary_gaps(own["distance"].to_numpy(), other["distance"].to_numpy(), c1, c2)
        out[f"tramer_adversarial_{tag}"] = float(gap.mean()) if len(gap) else float("nan")
        out["tramer_adversarial_n"] += len(gap)
        out["tramer_adversarial_unconverged"] += unconverged
        pooled.append(gap)
    gaps = np.concatenate(pooled)
    out["tramer_adversarial"] = float(gaps.mean()) if len(gaps) else float("nan")
    return out


def model_table(names: Sequence[str], preds: dict[str, pd.DataFrame], dims: dict[str, int] | None = None,
                tramer: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per model: accuracy, feature dimension, and how often its boundary search found no boundary."""
    rows = []
    for m in names:
        p = preds[m]
        row = {"model": m, "accuracy": float((p["pred"] == p["label"]).mean()), "n_images": len(p)}
        if dims is not None:
            row["feature_dim"] = int(dims[m])
        if tramer is not None:
            t = tramer[m]
            for kind in DIRECTIONS:
                row[f"tramer_{kind}_unconverged"] = int(t.loc[t["direction"] == kind, "distance"].isna().sum())
                row[f"tramer_{kind}_searched"] = int((t["direction"] == kind).sum())
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["CKA_ROWS", "check_same_images", "model_table", "pair_table"]
