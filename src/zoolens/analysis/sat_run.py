"""Orchestration of the SAT analyses (SAT paper Sec. 4–5, App. B.1, D.1) for ``zoolens analyze``."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from zoolens.analysis import (clustering, components, embedding, paper_clusters, sat_appendix, sat_ensembles,
                              sat_findings, sat_more, sat_stats, sat_table2)
from zoolens.analysis import newcomer_placement_run as newcomers_run
from zoolens.analysis import ensembles as ens
from zoolens.analysis.logits import clean_logits
from zoolens.analysis.mantel import mantel
from zoolens.analysis.meta import model_metadata
from zoolens.analysis.pair_permutation import within_across_permutation
from zoolens.analysis.result import Analysis, fmt_p
from zoolens.analysis.statistics import correlation
from zoolens.errors import ZoolensError
from zoolens.published.imported import is_imported
from zoolens.zoo.paper.sat69 import table1_keywords


def read_sat(path: Path) -> pd.DataFrame:
    """``sat_matrix.csv`` of a SAT run as a square DataFrame."""
    sat = pd.read_csv(path / "sat_matrix.csv", index_col=0)
    sat.columns = [str(c) for c in sat.columns]
    sat.index = [str(i) for i in sat.index]
    return sat


def run_members(path: Path) -> tuple[dict[str, str], dict]:
    """(display name → reference, run spec) of a SAT run."""
    spec_file = path / "similarity_spec.json"
    spec = json.loads(spec_file.read_text()) if spec_file.is_file() else {}
    man = json.loads((path / "manifest.json").read_text()) if (path / "manifest.json").is_file() else {}
    recs = man.get("runs", {}).get("similarity", {}).get("models", [])
    refs = {r["model"]: r["ref"] for r in recs}
    if not refs:
        refs = {m: m for m in read_sat(path).index}
    return refs, spec


def run_models_table(path: Path) -> pd.DataFrame | None:
    """A run's own ``models.csv`` (index = model), e.g. an imported run's component table; None if absent."""
    f = path / "models.csv"
    if not f.is_file():
        return None
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    return df.set_index("model") if "model" in df.columns else None


def _run_metadata(names: list[str], refs: dict[str, str], local: pd.DataFrame | None) -> pd.DataFrame:
    """Model metadata (zoo first), with the components the run itself records taking precedence:
    an import with its own ``--components`` must be analysed on those, not on the zoo's transcription."""
    meta = model_metadata({m: refs.get(m, m) for m in names}, local=local)
    if local is not None:
        have = [m for m in names if m in local.index]
        for c in components.COMPONENT_COLUMNS:
            if c in local.columns and have:
                col = meta[c].astype(object)  # the zoo may hold numbers (input_resolution), the CSV strings
                col.loc[have] = local.loc[have, c].to_numpy()
                meta[c] = col
    return meta


def analyze_sat(a: Analysis, *, k: int | str | None, compare: Path | None, seed: int, progress: bool,
                ensembles: bool = True, stability_pairs: list[tuple[str, str]] | None = None) -> None:
    """Tables, figures and findings of a SAT run (SAT paper Sec. 4–5, App. A.1, G.3; see
    :func:`zoolens.analysis.run.compute`).

    ``k``: an integer, ``"eigengap"``, or None (K = 10 for exactly the paper's 69 models,
    else the eigengap; :func:`zoolens.analysis.paper_clusters.choose_k`).
    ``stability_pairs``: the pairs of the App. A.1 stability table (default: every two-sided pair).
    """
    sat_full = read_sat(a.run)
    refs, spec = run_members(a.run)
    imported = is_imported(a.run, "similarity")
    vals = sat_full.to_numpy(dtype=float)
    off = ~np.eye(len(vals), dtype=bool)
    # one-sided newcomers (App. G.1) are placed in the clusters of the others, not clustered with them
    newcomers = newcomers_run.run_newcomers(a.run, list(sat_full.index))
    complete = [m for i, m in enumerate(sat_full.index)
                if m not in newcomers and np.isfinite(vals[i][off[i] & ~sat_full.index.isin(newcomers)]).all()]
    dropped = [m for m in sat_full.index if m not in complete and m not in newcomers]
    if dropped:
        a.notes.append(f"Left out of the clustering (SAT not measured against every model, e.g. one-sided "
                       f"newcomers): {', '.join(dropped)}")
    sat = sat_full.loc[complete, complete]
    names = list(sat.index)
    if len(names) < 2:
        raise ZoolensError(f"{a.run} has fewer than 2 models with a full SAT row", "add models to the run")
    meta = _run_metadata(names, refs, run_models_table(a.run))
    a.scratch["metadata"] = meta  # the architecture K-means baseline (App. A.2) reads the components
    if meta.attrs.get("missing"):
        a.notes.append(f"No metadata (family, category, components) for: {', '.join(meta.attrs['missing'])}")
    paper_models = paper_clusters.is_paper_zoo(refs)
    a.summary.update({"models": names, "data": spec.get("data"), "n_images": spec.get("n_images"),
                      "attack": spec.get("attack"), "eps_s": spec.get("eps_s")})

    # ---- spectral clustering (Sec. 4.1, App. D.3)
    k_use, k_source = paper_clusters.choose_k(k, {m: r for m, r in refs.items() if m not in newcomers})
    res = clustering.spectral_clustering(sat, k_use, seed=seed)
    res.k_source = k_source
    labels = res.labels
    a.summary["clustering"] = {"k": res.k, "k_source": res.k_source, "inertia": res.inertia,
                               "eigengap_k": clustering.choose_k_eigengap(clustering.affinity_from_sat(sat))[0],
                               "eigenvalues": [float(v) for v in res.eigenvalues[:12]]}
    cl = pd.DataFrame({"model": names, "cluster": labels, "family": meta.loc[names, "family"].to_numpy(),
                       "category": meta.loc[names, "category"].to_numpy()})
    table1 = pd.to_numeric(meta.loc[names, "paper_cluster"], errors="coerce")
    if table1.notna().any():
        cl["table1_cluster"] = table1.astype("Int64").to_numpy()
    a.table("sat_clusters", cl, f"Spectral clusters (K = {res.k}, {res.k_source})")
    newcomers_run.place(a, sat_full, pd.Series(labels, index=names), newcomers, spec=spec, seed=seed)
    order = clustering.cluster_order(labels, sat.to_numpy())
    onames = [names[i] for i in order]
    sat_o = sat.loc[onames, onames]
    a.plot("sat_heatmap", "SAT matrix by cluster (Fig. D.1)",
           "Models ordered by spectral cluster; the diagonal is SAT of a model with itself.", sat_o, labels[order],
           hover={"ci": pd.read_csv(a.run / "sat_ci.csv") if (a.run / "sat_ci.csv").is_file() else None})
    a.plot("eigengap_figure", "Eigengap",
           f"Normalized-Laplacian eigenvalues; K = {res.k} ({res.k_source}).", res.eigenvalues, res.k, res.k_source)
    dist = pd.DataFrame(embedding.feature_distances(res.features), index=names, columns=names).loc[onames, onames]
    a.table("spectral_distances", dist, "Distances of spectral features (Fig. 4)", index=True)
    a.plot("feature_distance_heatmap", "Spectral-feature distances (Fig. 4)",
           "Euclidean distances between the models' rows of the K spectral eigenvectors.", dist, labels[order])
    coords = embedding.tsne_map(res.features, seed=seed)
    a.table("tsne", pd.DataFrame({"model": names, "x": coords[:, 0], "y": coords[:, 1], "cluster": labels}),
            "t-SNE coordinates (Fig. 1)")
    a.plot("tsne_figure", "t-SNE map (Fig. 1)",
           f"t-SNE of the spectral features (perplexity {embedding.tsne_perplexity(len(names)):.1f}), "
           "coloured by cluster.", coords, names, labels)

    # ---- components (Fig. 3, Table 1)
    comp_cols = [c for c in components.COMPONENT_COLUMNS if c in meta.columns]
    imp, kw = None, None
    if comp_cols and meta.loc[names, comp_cols].notna().all(axis=1).all():
        comp = meta.loc[names, comp_cols]
        pairs = components.hamming_features(comp, sat)
        a.table("hamming_features", pairs, "Per-component Hamming differences of every pair, with SAT")
        if len(pairs) < 4:
            a.notes.append(f"Component importance skipped: {len(pairs)} model pairs are too few to fit a regressor.")
        elif pairs[comp_cols].to_numpy().any():
            imp = components.component_importance(pairs, comp_cols, seed=seed)
            a.table("component_importance", imp, f"Component importance (Fig. 3; GBR train R² = "
                                                 f"{imp.attrs['r2']:.2f})")
            a.plot("importance_figure", "Component importance (Fig. 3)",
                   "Gradient boosting (500 stages, depth 12, min_samples_split 4, lr 0.02) on per-component "
                   "Hamming differences → SAT; permutation importance, 10 repeats. Components that never differ "
                   "in this zoo have importance 0.", imp)
        else:
            a.notes.append("Component importance skipped: the models' component vectors are all identical.")
        kw = components.tfidf_keywords(comp, labels)
        a.table("cluster_keywords", kw, "Top-5 TF-IDF component keywords per cluster (Table 1)")
    else:
        a.notes.append("Component analyses skipped: component vectors are known only for zoo models.")
    _table1(a, meta.loc[names], labels, res, kw)
    a.finding("sat.base_architecture_most_important", *sat_findings.base_architecture_most_important(imp))
    a.finding("sat.stem_as_important_as_basic_components", *sat_findings.stem_as_important_as_basic(imp))
    a.finding("sat.dwconv_least_important", *sat_findings.dwconv_least_important(imp))
    a.finding("sat.mean_all_pairs", *sat_findings.mean_all_pairs(sat, paper_models))
    a.finding("sat.self_similarity_below_oracle", *sat_findings.self_similarity(sat_full.loc[names, names]))

    # ---- within vs across families (Table 2), finding (ii)
    if (meta.loc[names, "family"] != "unknown").all():
        t2, test = sat_stats.within_across(sat, meta.loc[names])
        a.table("sat_within_across", t2, "SAT within one family vs across families")
        a.summary["within_across"] = test
        if test["n_within"] and test["n_across"]:
            ok = test["mean_within"] > test["mean_across"]
            # pairs sharing a model are not independent: the verdict's p permutes families across models
            perm = within_across_permutation(sat.to_numpy(), meta.loc[names, "family"].to_numpy(), seed=seed)
            a.summary["within_across_permutation"] = asdict(perm)
            sig = math.isfinite(perm.p) and perm.p < 0.05
            a.finding("sat.within_above_across", "reproduced" if ok and sig else "not reproduced",
                      f"mean SAT within a family {test['mean_within']:.2f} (n = {test['n_within']} pairs) vs across "
                      f"families {test['mean_across']:.2f} (n = {test['n_across']}); difference "
                      f"{test['difference']:+.2f}; one-sided permutation p over {perm.n_models} models "
                      f"= {fmt_p(perm.p)} ({'exact' if perm.exact else f'{perm.permutations} relabellings'}; "
                      f"Mann-Whitney over pairs, which overstates: p = {fmt_p(test['mannwhitney_p'])}); "
                      "rule: within > across with permutation p < 0.05", test["difference"])
        else:
            a.finding("sat.within_above_across", "not testable", "needs pairs both within and across families")
    else:
        a.finding("sat.within_above_across", "not testable", "model families are unknown (not zoo models)")

    # ---- Table 2 as the paper designs it: pairs among the variants of each setting
    if (meta.loc[names, "family"] != "unknown").all():
        t2d = sat_table2.table2(sat, meta.loc[names], a.transfer_images(), seed=seed)
        a.table("sat_table2", t2d, "Table 2: mean SAT among the variants of each setting, per family (95 % image "
                "bootstrap)")
        verdict, evidence, measured = sat_table2.table2_order(t2d)
        a.finding("sat.table2_order", verdict, evidence, measured)
        if len(t2d) > 2:
            a.plot("sat_table2_figure", "SAT among the variants of one architecture (Table 2)",
                   "Mean SAT over the pairs among each setting's models, per family, with 95 % image-bootstrap "
                   "intervals; the dashed line is the mean over all pairs of the zoo.", t2d, sat_table2.PAPER)
    else:
        a.finding("sat.table2_order", "not testable", "model families are unknown (not zoo models)")

    # ---- uncertain pairs
    if (a.run / "sat_ci.csv").is_file():
        ci = pd.read_csv(a.run / "sat_ci.csv")
        a.table("sat_uncertain_pairs", sat_stats.uncertain_pairs(ci), "Least certain pairs (widest bootstrap CI)")

    # ---- stability vs number of images (App. A.1), SAT during training (App. G.3)
    sat_appendix.stability(a, list(sat_full.index), spec, stability_pairs, seed=seed)
    sat_appendix.training(a, sat_full, refs)

    # ---- attack agreement (App. B.1), same misclassification (App. G.2), the two rate conventions
    other = read_sat(compare) if compare is not None else None
    spec2 = run_members(compare)[1] if compare is not None else {}
    sat_more.analyze_attack_agreement(a, sat_full, spec, compare, other, spec2, seed)
    sat_more.analyze_same_misclassification(a, sat_full.loc[names, names], imported, seed)
    sat_more.rate_conventions_note(a)

    # ---- ensembles (Sec. 5.1, Fig. 6/7, Table 3), findings (iii), (iv)
    if imported:
        # An imported matrix has no clean logits and loading its (possibly 69 ImageNet) models is not
        # what an import promises: the ensemble claims need a measured run.
        a.notes.append("Ensembles skipped: the run was imported and the published data hold no logits.")
        a.finding("sat.err_vs_sat_negative", "not testable", "the published data hold no logits")
        a.finding("sat.err_rises_with_k", "not testable", "the published data hold no logits")
        sat_ensembles.not_testable(a, "the published data hold no logits")
        return
    if not ensembles:
        a.finding("sat.err_vs_sat_negative", "not testable", "ensemble analyses were switched off")
        a.finding("sat.err_rises_with_k", "not testable", "ensemble analyses were switched off")
        sat_ensembles.not_testable(a, "ensemble analyses were switched off")
        return
    clean = pd.read_parquet(a.run / "clean.parquet") if (a.run / "clean.parquet").is_file() else None
    expected = {m: g.sort_values("image")["image"].to_numpy() for m, g in clean.groupby("model")} \
        if clean is not None else None
    if clean is not None and "logits" in clean.columns and set(names) <= set(clean["model"]):
        # The SAT run stored its clean logits: no model is loaded again.
        by_model = {m: g.sort_values("image") for m, g in clean.groupby("model")}
        ids = by_model[names[0]]["image"].to_numpy()
        y = by_model[names[0]]["label"].to_numpy()
        for m in names:
            if not np.array_equal(by_model[m]["image"].to_numpy(), ids):
                raise ZoolensError(f"{m} was evaluated on other images than {names[0]}",
                                   "use one data source and seed for the whole run")
        logits = {m: np.stack(by_model[m]["logits"].to_numpy()).astype(np.float32) for m in names}
        a.notes.append("Ensembles average the clean logits stored by the SAT run (clean.parquet).")
    else:
        try:
            logits, ids, y = clean_logits({m: refs.get(m, m) for m in names}, spec.get("data", "fashion-mnist"),
                                          spec.get("n_images"), int(spec.get("data_seed", 0)), a.folder / "logits",
                                          expected_images=None, progress=progress)
        except (ZoolensError, ImportError) as e:
            a.notes.append(f"Ensembles skipped: the models could not be loaded for their logits ({e}).")
            a.finding("sat.err_vs_sat_negative", "not testable", "models could not be loaded for logits")
            a.finding("sat.err_rises_with_k", "not testable", "models could not be loaded for logits")
            sat_ensembles.not_testable(a, "models could not be loaded for logits")
            return
        if expected is not None:
            for m in names:
                if m in expected and not np.array_equal(np.sort(ids), expected[m]):
                    raise ZoolensError(f"the logits' images for {m} differ from the SAT run's clean.parquet",
                                       f"delete {a.folder / 'logits'} and re-run `zoolens analyze`")
        a.notes.append("This SAT run predates stored clean logits; the analysis loaded every model once and cached "
                       "its logits on the run's eval set in analysis/logits/.")
    a.scratch["ensemble_logits"] = (logits, y)  # the measures comparison's Tables A.2-A.3 reuse them
    pe = ens.pair_ensembles(logits, y, sat)
    a.table("ensemble_pairs", pe, "All 2-model ensembles: ERR and SAT (Fig. 6)")
    corr = correlation(pe["sat"], pe["err_rate"])
    a.summary["err_vs_sat"] = corr
    a.plot("err_vs_sat", "Ensemble ERR vs SAT (Fig. 6)",
           "Each point is a 2-model ensemble (logit average) on the run's clean eval images.", pe, corr)
    # pairs sharing a model are not independent: the verdict's p permutes the models (Mantel)
    mt = mantel(sat.to_numpy(), ens.pair_matrix(pe, names, "err_rate"), method="pearson", seed=seed)
    a.summary["err_vs_sat_mantel"] = asdict(mt)
    sig = math.isfinite(mt.p) and mt.p < 0.05
    neg = math.isfinite(corr["pearson_r"]) and corr["pearson_r"] < 0
    a.finding("sat.err_vs_sat_negative", "reproduced" if neg and sig else "not reproduced",
              f"{corr['n']} pairs: Pearson r = {corr['pearson_r']:.2f}, two-sided Mantel p over {mt.n_models} models "
              f"= {fmt_p(mt.p)} ({'exact' if mt.exact else f'{mt.permutations} permutations'}; over pairs, which "
              f"overstates: p = {fmt_p(corr['pearson_p'])}), Spearman ρ = {corr['spearman_rho']:.2f} "
              f"(p over pairs = {fmt_p(corr['spearman_p'])}); paper: −0.32 / −0.32; "
              "rule: Pearson r < 0 with Mantel p < 0.05", corr["pearson_r"])
    sizes = [n for n in (2, 3, 4, 5) if n <= len(names)]
    subsets = ens.cluster_ensembles(logits, y, dict(zip(names, labels.tolist())), sizes, seed=seed)
    t3 = ens.cluster_ensemble_table(subsets)
    a.table("ensemble_clusters", t3, "Mean ERR (%) of N-ensembles from k clusters vs random (Table 3)")
    if len(t3):
        a.plot("cluster_ensemble_figure", "Ensembles from k clusters (Fig. 7)",
               "All N-subsets of models (or a uniform sample), grouped by how many clusters they span; "
               "dotted: mean over all subsets (random members).", t3)
    rows, wins, tested = [], 0, 0
    for _, row in t3.iterrows():
        ks = sorted(int(c[2:]) for c in t3.columns if c.startswith("k=") and np.isfinite(row[c]))
        if len(ks) < 2:
            continue
        lo, hi = row[f"k={ks[0]}"], row[f"k={ks[-1]}"]
        rho = correlation(ks, [row[f"k={k}"] for k in ks])["spearman_rho"] if len(ks) >= 3 else (1.0 if hi > lo else -1.0)
        tested += 1
        wins += int(hi > lo and rho > 0)
        rows.append(f"N={int(row['n_models'])}: k={ks[0]} {lo:.1f}% → k={ks[-1]} {hi:.1f}% (rand {row['rand']:.1f}%)")
    if tested == 0:
        a.finding("sat.err_rises_with_k", "not testable", f"with K = {res.k} clusters no ensemble size spans two different k")
    else:
        verdict = "reproduced" if wins == tested else "not reproduced"
        a.finding("sat.err_rises_with_k", verdict, f"ERR rises with k for {wins}/{tested} ensemble sizes: "
                  + "; ".join(rows) + "; rule: for every N", wins / tested)
    sat_ensembles.analyze_ensemble_diversity(a, subsets, t3, logits, y, meta.loc[names], sizes, seed=seed)


def _table1(a: Analysis, meta: pd.DataFrame, labels: np.ndarray, res: clustering.SpectralResult,
            kw: pd.DataFrame | None) -> None:
    """Agreement of our clusters with the paper's Table 1 (ARI, contingency, keywords side by side)."""
    paper = pd.to_numeric(meta["paper_cluster"], errors="coerce")
    if len(paper) < 2 or paper.isna().any():
        a.finding("sat.table1_ari", *sat_findings.table1_ari(None, res.k, res.k_source, len(paper), None))
        return
    ari, ct = paper_clusters.cluster_agreement(labels, paper.to_numpy())
    maj = paper_clusters.majority(ct)
    purity = float((maj["share"] * maj["n_models"]).sum() / maj["n_models"].sum())
    a.summary["table1"] = {"ari": ari, "purity": purity}
    a.table("table1_contingency", ct, f"Our clusters (rows) vs the paper's Table 1 clusters (columns): model counts; "
                                      f"adjusted Rand index {ari:.3f}", index=True)
    if kw is not None:
        side = paper_clusters.keyword_comparison(kw, ct, table1_keywords())
        a.table("table1_keywords", side, "Top-5 TF-IDF keywords: ours vs Table 1's (matched by each cluster's "
                                         "majority Table 1 cluster)")
    a.finding("sat.table1_ari", *sat_findings.table1_ari(ari, res.k, res.k_source, len(paper), purity))


__all__ = ["analyze_sat", "read_sat", "run_members", "run_models_table"]
