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


def assemble_tables(run: RunDir, names: list[str], pairs: list[tuple[str, str]], clean_all: dict[str, pd.DataFrame],
              eps_s: float, n_resamples: int, ci_level: float, ci_seed: int) -> SatResult:
    frames, rows = [], []
    for s, t in pairs:
        part = run.read_part("pair", pair_id(s, t))
        frames.append(part)
        n_both = len(part)
        n_fooled = int(part["fooled"].sum()) if n_both else 0
        rows.append({"source": s, "target": t, "n_both_correct": n_both, "n_fooled": n_fooled,
                     "rate": n_fooled / n_both if n_both else math.nan})
    transfer = pd.DataFrame(rows, columns=["source", "target", "n_both_correct", "n_fooled", "rate"])
    images = (pd.concat(frames, ignore_index=True) if frames
              else pd.DataFrame(columns=["source", "target", "image", "fooled"]))
    images = images.astype({"image": np.int64, "fooled": bool})
    sat = sat_matrix_from_transfer(transfer, names, eps_s)
    ci = sat_ci_table(images, transfer, names, n_resamples=n_resamples, level=ci_level, seed=ci_seed, eps_s=eps_s)
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


__all__ = ["SatResult", "assemble_tables"]
