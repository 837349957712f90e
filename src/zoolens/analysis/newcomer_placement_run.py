"""``zoolens analyze`` on a SAT run with one-sided newcomers: place them in the existing clusters (App. G.1).

Newcomers are the members added with ``zoolens similarity --add REF --to DIR --one-sided
source|target`` (role ``source`` / ``target`` in the run's manifest). The SAT analysis
clusters the other members only — exactly as if the newcomers had never been added —
and :func:`place` then assigns each newcomer to the nearest of those clusters
(:func:`zoolens.analysis.newcomer_placement.place_newcomers`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pandas as pd

from zoolens.analysis import newcomer_placement as npl
from zoolens.analysis.result import Analysis
from zoolens.similarity.sat import EPS_S, pair_seed

#: Bootstrap replicates of each newcomer's SAT row (image resampling) behind ``image_agreement``.
N_RESAMPLES = 200


def run_roles(run: Path) -> dict[str, str]:
    """Model → role (``full``, ``source``, ``target``) recorded in a SAT run's manifest ({} if none)."""
    f = run / "manifest.json"
    man = json.loads(f.read_text()) if f.is_file() else {}
    recs = man.get("runs", {}).get("similarity", {}).get("models", [])
    return {r["model"]: r.get("role", "full") for r in recs if "model" in r}


def run_newcomers(run: Path, models: Sequence[str]) -> list[str]:
    """The one-sided newcomers among ``models`` (the SAT matrix's index) of a SAT run."""
    return npl.one_sided_newcomers(run_roles(run), models)


def place(a: Analysis, sat_full: pd.DataFrame, labels: pd.Series, newcomers: Sequence[str], *, spec: dict,
          seed: int) -> None:
    """Add the newcomers' placement (table ``sat_newcomer_placement``, a figure, notes) to ``a``.

    Parameters
    ----------
    a:
        The analysis of the SAT run.
    sat_full:
        The run's whole SAT matrix (existing models and newcomers).
    labels:
        Existing model → spectral cluster (computed without the newcomers).
    newcomers:
        The one-sided newcomers (:func:`run_newcomers`); nothing is added when empty.
    spec:
        The run's settings (``eps_s``).
    seed:
        Seeds the image bootstrap (per newcomer, independent of the other newcomers).
    """
    if not newcomers:
        return
    ti = a.transfer_images()
    members = list(labels.index)
    draws = None
    if ti is not None and len(ti):
        draws = {n: npl.image_bootstrap_draws(ti, n, members, n_resamples=N_RESAMPLES,
                                              seed=pair_seed(seed, n, "newcomer-placement"),
                                              eps_s=float(spec.get("eps_s", EPS_S)))
                 for n in newcomers}
    table = npl.place_newcomers(sat_full, labels, newcomers, draws=draws)
    roles = run_roles(a.run)
    table.insert(1, "role", [roles.get(n, "full") for n in table["newcomer"]])
    a.table("sat_newcomer_placement", table,
            "One-sided newcomers assigned to the existing clusters (App. G.1): highest mean SAT to the members; "
            "confidence = the smaller of the leave-one-member-out and image-bootstrap agreement shares")
    a.summary["newcomer_placement"] = table.to_dict("records")
    clusters = sorted(pd.unique(labels))
    scores = pd.DataFrame([npl.cluster_scores(sat_full.loc[n], labels).reindex(clusters) for n in newcomers],
                          index=list(newcomers))
    scores.columns = [f"cluster {c}" for c in clusters]
    a.plot("newcomer_placement_figure", "Newcomers among the existing clusters (App. G.1)",
           "Mean one-sided SAT of each newcomer to the members of each existing spectral cluster (clusters computed "
           "without the newcomers); the box marks the assigned cluster, each row label its confidence (chance level: "
           f"1/K = {1 / max(len(clusters), 1):.2f}).", scores, table["cluster"].tolist(), table["confidence"].tolist())
    for r in table.itertuples(index=False):
        if pd.isna(r.cluster):
            a.notes.append(f"Newcomer {r.newcomer}: no SAT measured against any clustered model; not placed.")
        else:
            a.notes.append(f"Newcomer {r.newcomer} ({r.role}-side SAT) → cluster {r.cluster} ({r.members}): mean SAT "
                           f"{r.mean_sat:.2f}, margin {r.margin:.2f}, confidence {r.confidence:.2f}.")


__all__ = ["N_RESAMPLES", "place", "run_newcomers", "run_roles"]
