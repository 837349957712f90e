"""The tables of a SAT run, assembled from its parts: SAT matrix, intervals, transfer, clean, attack."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.runtime.rundir import RunDir
from zoolens.similarity.members import pair_id
from zoolens.similarity.sat import sat_ci_table, sat_matrix_from_transfer


@dataclass
class SatResult:
    """All tables of a SAT run (the same ones written to the run directory)."""

    sat: pd.DataFrame
    sat_ci: pd.DataFrame
    transfer: pd.DataFrame
    transfer_images: pd.DataFrame
    clean: pd.DataFrame
    attack: pd.DataFrame
    out: Path | None
    timings: dict[str, float] = field(default_factory=dict)


TRANSFER_COLUMNS = ["source", "target", "n_both_correct", "n_fooled", "rate", "n_images", "n_fooled_all",
                    "rate_all_images"]
IMAGE_COLUMNS = ["source", "target", "image", "both_correct", "fooled", "adv_pred", "source_pred"]


def transfer_table(images: pd.DataFrame, clean_all: dict[str, pd.DataFrame], pairs: list[tuple[str, str]]
                   ) -> pd.DataFrame:
    """Transfer success of every ordered pair under both conventions.

    ``rate`` = ``n_fooled / n_both_correct`` over X_ST (the images both classify
    correctly; the convention of Eq. 1, so SAT reads these counts). ``rate_all_images``
    = ``n_fooled_all / n_images`` over every eval image: the target's error under the
    source's attack, where an image the source already misclassifies is shown to the
    target unperturbed (it is not attacked; AutoAttack's robust-accuracy convention).
    """
    groups = {k: g for k, g in images.groupby(["source", "target"], sort=False)} if len(images) else {}
    rows = []
    for s, t in pairs:
        g = groups.get((s, t), images.iloc[:0])
        x = g[g["both_correct"]]
        n_both, n_fooled = len(x), int(x["fooled"].sum())
        tc = clean_all[t]
        attacked = set(g["image"].tolist())
        # images the source did not attack (it misclassifies them): the target sees them clean
        unattacked = tc[~tc["image"].isin(attacked)]
        n_all = len(tc)
        n_fooled_all = int(g["fooled"].sum()) + int((unattacked["pred"] != unattacked["label"]).sum())
        rows.append({"source": s, "target": t, "n_both_correct": n_both, "n_fooled": n_fooled,
                     "rate": n_fooled / n_both if n_both else math.nan, "n_images": n_all,
                     "n_fooled_all": n_fooled_all, "rate_all_images": n_fooled_all / n_all if n_all else math.nan})
    return pd.DataFrame(rows, columns=TRANSFER_COLUMNS)


def _images_table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The pair parts as one table, with ``source_pred``: the source's white-box class on the same x_S
    (the ``adv_pred`` of its diagonal pair (S, S), which every source has)."""
    images = (pd.concat(frames, ignore_index=True) if frames
              else pd.DataFrame(columns=[c for c in IMAGE_COLUMNS if c != "source_pred"]))
    images = images.astype({"image": np.int64, "fooled": bool, "both_correct": bool, "adv_pred": np.int64})
    diag = images[images["source"] == images["target"]][["source", "image", "adv_pred"]]
    diag = diag.rename(columns={"adv_pred": "source_pred"})
    images = images.merge(diag, on=["source", "image"], how="left", validate="many_to_one")
    images["source_pred"] = images["source_pred"].astype("Int64")
    return images[IMAGE_COLUMNS]


def assemble_tables(run: RunDir, names: list[str], pairs: list[tuple[str, str]], clean_all: dict[str, pd.DataFrame],
              eps_s: float, n_resamples: int, ci_level: float, ci_seed: int) -> SatResult:
    images = _images_table([run.read_part("pair", pair_id(s, t)) for s, t in pairs])
    transfer = transfer_table(images, clean_all, pairs)
    x_ab = images[images["both_correct"]]  # X_AB: what Eq. 1 and its intervals use
    sat = sat_matrix_from_transfer(transfer, names, eps_s)
    ci = sat_ci_table(x_ab, transfer, names, n_resamples=n_resamples, level=ci_level, seed=ci_seed, eps_s=eps_s)
    clean = pd.concat([clean_all[m][[c for c in ("model", "image", "label", "pred", "logits") if c in clean_all[m]]]
                       for m in names], ignore_index=True)
    attack_rows = [run.read_part("attack", m) for m in names if run.has_part("attack", m)]
    attack = (pd.concat(attack_rows, ignore_index=True)[["model", "clean_accuracy", "adversarial_accuracy",
                                                         "success_rate", "n_images", "n_correct", "n_fooled"]]
              if attack_rows else pd.DataFrame(columns=["model", "clean_accuracy", "adversarial_accuracy",
                                                        "success_rate", "n_images", "n_correct", "n_fooled"]))
    run.write_table("clean", clean, csv=False)
    run.write_table("attack", attack, parquet=False)
    run.write_table("transfer", transfer)
    run.write_table("transfer_images", images, csv=False)
    run.write_table("sat_ci", ci, parquet=False)
    _write_matrix(run, "sat_matrix.csv", sat)
    rate = transfer.pivot(index="source", columns="target", values="rate") if len(transfer) else pd.DataFrame()
    _write_matrix(run, "transfer_matrix.csv", rate.reindex(index=[m for m in names if m in rate.index],
                                                                 columns=[m for m in names if m in rate.columns]))
    return SatResult(sat=sat, sat_ci=ci, transfer=transfer, transfer_images=images, clean=clean, attack=attack,
                     out=run.path)


def _write_matrix(run: RunDir, name: str, df: pd.DataFrame) -> None:
    run.write_file(name, lambda tmp: df.to_csv(tmp, index_label="model"))


__all__ = ["IMAGE_COLUMNS", "SatResult", "TRANSFER_COLUMNS", "assemble_tables", "transfer_table"]
