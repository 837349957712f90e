"""SAT summaries: within vs across families (SAT paper Table 2), agreement between attacks
(App. B.1), and the least certain pairs (widest bootstrap intervals)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats

from zoolens.analysis.statistics import correlation

SETTING_NAMES = {"seed": "Init (seed)", "hparam": "Hparam", "baseline": "Init (seed)"}


def pair_setting(cat_a: str, cat_b: str) -> str:
    """Table 2 setting of a within-family pair from the members' categories.

    A pair with the family baseline is named after the other member's category
    (``seed`` → Init, ``hparam`` → Hparam, anything else → Tr. method: that category);
    a pair of two non-baseline models is ``Tr. method: other pairs``.
    """
    cats = {cat_a, cat_b}
    if cats <= {"baseline", "seed"}:
        return "Init (seed)"
    if "baseline" in cats:
        other = (cats - {"baseline"}).pop()
        return SETTING_NAMES.get(other, f"Tr. method: {other}")
    return "Tr. method: other pairs"


def within_across(sat: pd.DataFrame, meta: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """SAT within one family vs across families (SAT paper Table 2 analogue).

    Parameters
    ----------
    sat:
        Square SAT matrix (model names index/columns).
    meta:
        Index = model names, columns ``family`` and ``category``.

    Returns
    -------
    (table, test)
        ``table``: ``family, setting, n_pairs, mean_sat, std_sat`` per (family, setting),
        then per family ``all within``, then ``(all), within family`` and
        ``(all), across families``. ``test``: means, counts, their difference and a
        one-sided Mann-Whitney U p-value (within > across).
    """
    names = [m for m in sat.index if m in meta.index]
    rows = []
    within, across = [], []
    for a, b in itertools.combinations(names, 2):
        v = float(sat.loc[a, b])
        if not math.isfinite(v):
            continue
        fa, fb = meta.loc[a, "family"], meta.loc[b, "family"]
        if fa == fb:
            rows.append({"family": fa, "setting": pair_setting(meta.loc[a, "category"], meta.loc[b, "category"]),
                         "sat": v})
            within.append(v)
        else:
            across.append(v)
    df = pd.DataFrame(rows, columns=["family", "setting", "sat"])

    def agg(g):
        return pd.Series({"n_pairs": len(g), "mean_sat": g.mean(), "std_sat": g.std(ddof=1) if len(g) > 1 else math.nan})

    parts = []
    if len(df):
        parts.append(df.groupby(["family", "setting"], sort=True)["sat"].apply(agg).unstack().reset_index())
        allw = df.groupby("family")["sat"].apply(agg).unstack().reset_index()
        allw["setting"] = "all within"
        parts.append(allw)
    tot = pd.DataFrame([{"family": "(all)", "setting": "within family", **agg(pd.Series(within, dtype=float))},
                        {"family": "(all)", "setting": "across families", **agg(pd.Series(across, dtype=float))}])
    parts.append(tot)
    table = pd.concat(parts, ignore_index=True)[["family", "setting", "n_pairs", "mean_sat", "std_sat"]]
    table["n_pairs"] = table["n_pairs"].astype(int)
    test = {"mean_within": float(np.mean(within)) if within else math.nan,
            "mean_across": float(np.mean(across)) if across else math.nan,
            "n_within": len(within), "n_across": len(across), "mannwhitney_p": math.nan}
    test["difference"] = test["mean_within"] - test["mean_across"]
    if within and across:
        test["mannwhitney_p"] = float(stats.mannwhitneyu(within, across, alternative="greater").pvalue)
    return table, test


def attack_agreement(sat_a: pd.DataFrame, sat_b: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Correlation of the SAT values of two runs with different attacks (SAT paper App. B.1).

    Uses the off-diagonal pairs of the models both runs share.

    Returns
    -------
    (pairs, correlation)
        ``pairs``: ``model_a, model_b, sat_a, sat_b``; ``correlation``: see
        :func:`zoolens.analysis.statistics.correlation`.
    """
    common = [m for m in sat_a.index if m in sat_b.index]
    rows = [{"model_a": a, "model_b": b, "sat_a": float(sat_a.loc[a, b]), "sat_b": float(sat_b.loc[a, b])}
            for a, b in itertools.combinations(common, 2)]
    pairs = pd.DataFrame(rows, columns=["model_a", "model_b", "sat_a", "sat_b"])
    return pairs, correlation(pairs["sat_a"], pairs["sat_b"])


def bootstrap_pearson_over_models(pairs: pd.DataFrame, *, n_resamples: int = 2000, level: float = 0.95,
                                  seed: int = 0) -> dict:
    """Percentile bootstrap interval of Pearson r between ``sat_a`` and ``sat_b``, resampling *models*.

    Pairs that share a model are not independent (one unusual model moves all its n − 1
    pairs), so resampling pairs would give too narrow an interval. Each resample draws n
    models with replacement and keeps every pair of two different draws (a model drawn
    twice contributes its pairs twice); resamples with fewer than 3 distinct models or a
    constant variable give no r and are left out (``n_used`` counts the rest).

    Parameters
    ----------
    pairs:
        ``model_a, model_b, sat_a, sat_b`` (:func:`attack_agreement`).

    Returns
    -------
    dict
        ``n_models, ci_low, ci_high, n_used, level``; NaN bounds below 3 models.
    """
    ok = pairs[np.isfinite(pairs["sat_a"]) & np.isfinite(pairs["sat_b"])]
    models = sorted(set(ok["model_a"]) | set(ok["model_b"]))
    out = {"n_models": len(models), "ci_low": math.nan, "ci_high": math.nan, "n_used": 0, "level": level}
    if len(models) < 3:
        return out
    idx = {m: i for i, m in enumerate(models)}
    va, vb = np.full((len(models),) * 2, np.nan), np.full((len(models),) * 2, np.nan)
    ia, ib = ok["model_a"].map(idx).to_numpy(), ok["model_b"].map(idx).to_numpy()
    va[ia, ib] = va[ib, ia] = ok["sat_a"].to_numpy(dtype=float)
    vb[ia, ib] = vb[ib, ia] = ok["sat_b"].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(len(models), 1)
    rs = []
    for _ in range(int(n_resamples)):
        draw = rng.integers(0, len(models), len(models))
        if len(set(draw.tolist())) < 3:
            continue
        x, y = va[np.ix_(draw, draw)][iu], vb[np.ix_(draw, draw)][iu]
        keep = (draw[iu[0]] != draw[iu[1]]) & np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
            rs.append(float(np.corrcoef(x, y)[0, 1]))
    if rs:
        tail = (1 - level) / 2
        out.update(ci_low=float(np.quantile(rs, tail)), ci_high=float(np.quantile(rs, 1 - tail)), n_used=len(rs))
    return out


def uncertain_pairs(sat_ci: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The ``top`` off-diagonal pairs with the widest bootstrap interval of SAT.

    Parameters
    ----------
    sat_ci:
        ``sat_ci.csv`` of a SAT run (``model_a, model_b, sat, ci_low, ci_high, n_both_correct, …``).

    Returns
    -------
    pandas.DataFrame
        Same columns plus ``ci_width``, widest first.
    """
    df = sat_ci[sat_ci["model_a"] != sat_ci["model_b"]].copy()
    df["ci_width"] = df["ci_high"] - df["ci_low"]
    return df.sort_values(["ci_width", "model_a", "model_b"], ascending=[False, True, True],
                          na_position="first").head(top).reset_index(drop=True)


__all__ = ["attack_agreement", "bootstrap_pearson_over_models", "pair_setting", "uncertain_pairs", "within_across"]
