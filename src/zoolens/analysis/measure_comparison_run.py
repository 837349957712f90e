"""``zoolens analyze`` of a SAT run beside a ``measures`` run: SAT against the other similarity measures
(SAT paper Sec. 3, Sec. 5.1 Fig. 10, App. A.1-A.2, Table A.1; issue #16 item 3; docs/measures.md).

Runs after :func:`zoolens.analysis.sat_run.analyze_sat` and reads what it left: the models kept
for the clustering (``summary["models"]``), SAT's K and, when the ensemble analyses ran in this
call, ``ensemble_pairs.csv`` (pair ERR, Fig. 6). The measures run is ``--measures DIR`` or, by
default, the sibling ``../measures`` a study file writes next to ``similarity/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from zoolens.analysis import measure_comparison as mc
from zoolens.analysis import measure_findings as mf
from zoolens.analysis.arch_kmeans import architecture_kmeans
from zoolens.analysis.measure_stability import stability_table
from zoolens.analysis.result import Analysis
from zoolens.analysis.sat_run import read_sat
from zoolens.errors import ZoolensError
from zoolens.runtime.rundir import RunDir
from zoolens.zoo.architectures import COMPONENT_COLUMNS

#: Disjoint groups of images / triplets for the stability comparison (Table A.1 uses ten sets).
STABILITY_GROUPS = 5
#: Keys of the two specs that must agree: the same images.
SAME_IMAGES = ("data", "n_images", "data_seed")
CLAIM_IDS = ("sat.only_sat_predicts_err", "sat.cheaper_than_somepalli", "sat.more_stable_than_somepalli",
             "sat.best_cluster_ensembles")


def find_measures_run(sat_run: Path, explicit: str | Path | None) -> Path | None:
    """The measures run to compare with: ``explicit``, else ``sat_run/../measures`` if it holds one."""
    if explicit is not None:
        p = Path(explicit)
        if not (p / "measures.parquet").is_file():
            raise ZoolensError(f"{p} holds no finished measures run (no measures.parquet)",
                               "pass the --out directory of `zoolens measures` (same data, n_images, data_seed)")
        return p
    sibling = sat_run.resolve().parent / "measures"
    return sibling if (sibling / "measures.parquet").is_file() else None


def _spec(path: Path, kind: str) -> dict:
    f = path / f"{kind}_spec.json"
    return json.loads(f.read_text()) if f.is_file() else {}


def _not_testable(a: Analysis, why: str) -> None:
    for cid in CLAIM_IDS:
        a.finding(cid, "not testable", why)


def compare_measures(a: Analysis, *, measures: str | Path | None = None, seed: int = 0,
                     permutations: int = 9999) -> None:
    """Tables, figure and findings of SAT against the measures of a ``measures`` run on the same images."""
    mdir = find_measures_run(a.run, measures)
    if mdir is None:
        _not_testable(a, "no measures run beside this SAT run (zoolens measures … --out DIR; "
                         "zoolens analyze --measures DIR, or a study with [measures])")
        return
    sat_spec, m_spec = _spec(a.run, "similarity"), _spec(mdir, "measures")
    diff = [k for k in SAME_IMAGES if sat_spec.get(k) != m_spec.get(k)]
    if diff:
        msg = ", ".join(f"{k} {sat_spec.get(k)!r} vs {m_spec.get(k)!r}" for k in diff)
        if measures is not None:
            raise ZoolensError(f"the measures run {mdir} saw other images than the SAT run ({msg})",
                               "run `zoolens measures` with the SAT run's data, n_images and data_seed")
        a.notes.append(f"Measures comparison skipped: {mdir} saw other images ({msg}).")
        _not_testable(a, "the measures run beside this one saw other images")
        return
    table = pd.read_parquet(mdir / "measures.parquet")
    in_table = set(table["model_a"]) | set(table["model_b"])
    names = [m for m in a.summary.get("models", []) if m in in_table]
    if len(names) < 3:
        a.notes.append(f"Measures comparison skipped: {len(names)} models in both runs (needs 3).")
        _not_testable(a, f"{len(names)} models are in both the SAT and the measures run (needs 3)")
        return
    sat = read_sat(a.run).loc[names, names]
    raw = {"sat": mc.symmetric_sat(sat)}
    for col in mc.DIRECTIONS:
        if col in table.columns and table[col].notna().any():
            raw[col] = mc.pair_matrix(table, names, col)
    mats = {m: mc.oriented(m, v) for m, v in raw.items()}
    a.summary["measure_comparison"] = {"measures_run": str(mdir), "models": names, "measures": list(raw)}

    # ---- Spearman matrix with Mantel p-values
    rho, corr = mc.correlation_matrix(mats, permutations=permutations, seed=seed)
    a.table("measure_correlation_matrix", rho.rename_axis("measure"),
            f"Spearman ρ between the measures over {len(names) * (len(names) - 1) // 2} model pairs (all oriented "
            "as similarities)", index=True)
    a.table("measure_correlations", corr, "Spearman ρ between every two measures, Mantel permutation p-value "
                                          "(models permuted)")

    # ---- clusters (same K as SAT's) and ARI against SAT's; ERR (Fig. 10)
    k = int((a.summary.get("clustering") or {}).get("k") or 2)
    ari, labels = mc.measure_clusters(raw, k, seed=seed)
    a.table("measure_cluster_labels", labels, f"Spectral clusters of each measure (K = {min(k, len(names))})",
            index=True)
    summary = ari.assign(direction=ari["measure"].map(mc.DIRECTIONS))
    err = None
    if any(t["file"] == "ensemble_pairs.csv" for t in a.tables):
        pe = pd.read_csv(a.folder / "ensemble_pairs.csv")
        err = mc.err_correlations(mats, mc.pair_matrix(pe, names, "err_rate"), permutations=permutations, seed=seed)
        summary = summary.merge(err.drop(columns=["direction"]), on="measure", how="outer")
    else:
        a.notes.append("Measures vs ensemble ERR skipped: the ensemble analyses did not run.")
    a.table("measure_summary", summary, "Per measure: ARI of its spectral clusters against SAT's"
            + (", Spearman ρ of its diversity with pair ensemble ERR (Mantel p)" if err is not None else ""))

    # ---- ensembles across each clustering's clusters (App. A.2, Tables A.2-A.3)
    cells = _cluster_ensembles(a, labels, names, k, seed)

    # ---- cost in forward passes at the runs' settings (App. A.1)
    costs = mc.forward_passes(list(raw), sat_spec, m_spec, len(names)) if sat_spec.get("n_images") else None
    if costs is not None:
        a.table("measure_costs", costs, "Forward passes per measure at the runs' settings (App. A.1 accounting)")

    # ---- stability over disjoint samples (Table A.1)
    stab = _stability(a, mdir, names, sat_spec, m_spec, seed)

    a.plot("measure_comparison_figure", "SAT vs other similarity measures (Fig. 10, App. A)",
           "Left: Spearman ρ between the measures over model pairs (Mantel p in brackets). Right: Spearman ρ of "
           "each measure's diversity (−similarity) with the 2-model ensemble's ERR; filled: Mantel p < 0.05.",
           rho, corr, err)
    a.finding("sat.only_sat_predicts_err", *mf.only_sat_predicts_err(err))
    a.finding("sat.cheaper_than_somepalli", *mf.cheaper_than_somepalli(costs))
    a.finding("sat.more_stable_than_somepalli", *mf.more_stable_than_somepalli(stab))
    a.finding("sat.best_cluster_ensembles", *mf.best_cluster_ensembles(cells))


def _cluster_ensembles(a: Analysis, labels: pd.DataFrame, names: list[str], k: int, seed: int
                       ) -> pd.DataFrame | None:
    """Tables A.2-A.3: the ensembles of Table 3 grouped by each measure's clusters and by architecture K-means."""
    held = a.scratch.get("ensemble_logits")
    if held is None:
        a.notes.append("Tables A.2-A.3 skipped: the ensemble analyses did not run (no clean logits).")
        return None
    logits, y = held
    clusterings = {m: {n: int(labels.loc[n, m]) for n in names} for m in labels.columns}
    meta = a.scratch.get("metadata")
    cols = [c for c in COMPONENT_COLUMNS if meta is not None and c in meta.columns]
    if cols and meta.loc[names, cols].notna().all(axis=1).all():
        arch = architecture_kmeans(meta.loc[names, cols], min(k, len(names)), seed=seed)
        clusterings["arch_kmeans"] = {n: int(arch.loc[n]) for n in names}
    else:
        a.notes.append("Table A.3's architecture K-means skipped: not every model has its components.")
    sizes = [n for n in (2, 3, 4, 5) if n <= len(names)]
    cells = mc.cluster_ensemble_comparison({n: logits[n] for n in names}, y, clusterings, sizes, seed=seed)
    a.table("measure_cluster_ensembles", cells, "Mean ERR (%) of N-ensembles by the number k of clusters they "
            "span, with each measure's clusters and K-means on architecture components (App. A.2, Tables A.2-A.3)")
    return cells


def _stability(a: Analysis, mdir: Path, names: list[str], sat_spec: dict, m_spec: dict, seed: int
               ) -> pd.DataFrame | None:
    """Table A.1 analogue, when the SAT run kept per-image outcomes and the measures run per-triplet planes."""
    run = RunDir(mdir, kind="measures")
    if "somepalli" not in m_spec or not (a.run / "transfer_images.parquet").is_file() \
            or not all(run.has_part("measures_plane", m) for m in names):
        return None
    planes = {}
    for m in names:
        df = run.read_part("measures_plane", m).sort_values(["triplet"], kind="stable")
        planes[m] = df["pred"].to_numpy().reshape(int(df["triplet"].max()) + 1, -1)
    pairs = [(x, y) for i, x in enumerate(names) for y in names[i + 1:]]
    stab = stability_table(a.transfer_images(), planes, pairs,
                           groups=STABILITY_GROUPS, steps=int((sat_spec.get("attack") or {}).get("steps") or 1),
                           grid=int(m_spec["somepalli"]["grid"]), seed=seed)
    if len(stab):
        a.table("measure_stability", stab, f"Std over {STABILITY_GROUPS} disjoint samples: SAT (images of X_AB, "
                                           "percent, no log) vs Somepalli (triplets, percent) (Table A.1)")
    return stab


__all__ = ["CLAIM_IDS", "STABILITY_GROUPS", "compare_measures", "find_measures_run"]
