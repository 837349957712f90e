"""``zoolens analyze MYRUN --against REF``: where a run's models sit among a reference run's.

The reference is any run of the same kind — typically the papers' published data,
imported on demand when ``REF`` is ``published`` (into ``$ZOOLENS_CACHE/published/``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from zoolens.analysis import criticality_stats as cs
from zoolens.analysis import placement
from zoolens.analysis.meta import model_metadata
from zoolens.analysis.result import Analysis, fmt_p, run_kind
from zoolens.analysis.sat_run import read_sat, run_members
from zoolens.data.cache import cache_root
from zoolens.errors import ZoolensError
from zoolens.published import PUBLISHED_FILES
from zoolens.published.criticality_import import import_criticality
from zoolens.published.imported import imported_info
from zoolens.published.sat_import import import_sat

TOP = 5


def resolve_reference(against: str | Path, kind: str) -> Path:
    """A reference run directory; ``published`` imports the shipped data of that kind once into the cache."""
    if str(against) != "published":
        ref = Path(against)
        if not ref.is_dir():
            raise ZoolensError(f"reference run {ref} does not exist", "pass a run directory or 'published'")
        if run_kind(ref) != kind:
            raise ZoolensError(f"reference run {ref} is a {run_kind(ref)} run, not a {kind} run",
                               f"pass a {kind} run to compare with")
        return ref
    name = "criticality" if kind == "criticality" else "sat"
    ref = cache_root() / "published" / name
    source = "layer_criticality_results.csv" if name == "criticality" else "SAT_release.csv"
    fresh = imported_info(ref, kind).get("source", {}).get("sha256") == PUBLISHED_FILES[source]
    if not fresh:
        if name == "criticality":
            import_criticality("published", ref)
        else:
            import_sat("published", ref)
    return ref


def place(a: Analysis, against: str | Path) -> None:
    """Add the placement of ``a``'s models among the reference run's to the analysis ``a``."""
    ref = resolve_reference(against, a.kind)
    if ref.resolve() == a.run.resolve():
        raise ZoolensError(f"the reference run {ref} (--against) is the run itself",
                           "compare with another run (e.g. 'published')")
    a.summary["reference_run"] = str(ref)
    if a.kind == "criticality":
        _place_criticality(a, ref)
    else:
        _place_sat(a, ref)


def _matrix(run: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    summary = pd.read_csv(run / "criticality_summary.csv", dtype={"label": str, "layer": str, "model": str})
    models = pd.read_csv(run / "models.csv")
    return cs.layer_matrix(summary, "criticality_mean"), models


def _place_criticality(a: Analysis, ref: Path) -> None:
    user, _ = _matrix(a.run)
    reference, ref_models = _matrix(ref)
    dist = placement.profile_distances(user, reference)
    meta = model_metadata(dict(zip(ref_models["model"], ref_models["reference"].astype(str))),
                          local=ref_models.set_index("model"))
    dist["category"] = dist["reference_model"].map(meta["category"])
    dist["method"] = dist["reference_model"].map(meta["method"])
    a.table("placement_criticality", dist[dist["rank"] <= TOP],
            f"Nearest criticality profiles in {ref} (RMS difference over {int(dist['n_layers'].max())} shared layers)")
    order = cs.model_order(list(reference.index), meta)
    a.plot("placement_heatmap", "Your models in the reference heatmap",
           f"The reference run's criticality profiles ({ref}), grouped by category, with this run's models as "
           "the bottom rows; layers matched by paper-style label.", reference.loc[order], user, meta.loc[order, "category"].tolist())
    for m, g in dist.groupby("model", sort=False):
        near = ", ".join(f"{r.reference_model} ({r.category}, {r.distance:.3f})" for r in g.head(3).itertuples())
        a.notes.append(f"{m}: nearest reference profiles {near}")


def _place_sat(a: Analysis, ref: Path) -> None:
    user, reference = read_sat(a.run), read_sat(ref)
    refs, _ = run_members(a.run)
    names = placement.sat69_names({m: refs.get(m, m) for m in user.index})
    names.update({m: m for m in user.index if m in reference.index and m not in names})
    pairs, corr = placement.shared_pairs(user, reference, names)
    if len(pairs) == 0:
        a.notes.append(f"No model of this run is among the reference run's ({ref}): nothing to compare.")
        return
    a.table("placement_sat_pairs", pairs, f"SAT of the model pairs shared with {ref}")
    a.summary["placement_sat"] = corr
    a.plot("shared_pairs_figure", "SAT against the reference matrix",
           f"{corr['n']} shared pairs: Pearson r = {corr['pearson_r']:.2f} (p = {fmt_p(corr['pearson_p'])}), "
           f"Spearman ρ = {corr['spearman_rho']:.2f}.", pairs, corr)


__all__ = ["place", "resolve_reference"]
