"""The criticality paper's claims (Sec. 4), each a pure function of a run's tables.

Every function takes the models × layers matrix of mean criticality (paper-style
labels as columns, :func:`zoolens.analysis.criticality_stats.layer_matrix`) and the
per-model table (:func:`~zoolens.analysis.criticality_stats.per_model`: category,
method, accuracy, ...) and returns ``(verdict, evidence, measured)``. The rules are
fixed here, stated in each evidence string, and never adjusted to a run's outcome.
The auxiliary / critical thresholds (τ_aux, τ_crit) are the run's; the paper's own
values were lost in extraction.
"""

from __future__ import annotations

import math
import re
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

Result = tuple[str, str, object]
_LABEL = re.compile(r"^\[(\d+)\.(\d+)\] (.+)$")
SWEEP = (0.01, 0.02, 0.05, 0.1, 0.2)


def parse_label(label: str) -> tuple[int | None, int | None, str]:
    """``[S.B] op`` → (S, B, op); ``[Head] fc`` → (None, None, 'fc'); stem convs have S = 0."""
    m = _LABEL.match(label)
    if m:
        return int(m[1]), int(m[2]), m[3]
    return None, None, label.replace("[Head] ", "")


def _cols(mean: pd.DataFrame, pred: Callable[[int | None, int | None, str], bool]) -> list[str]:
    return [c for c in mean.columns if pred(*parse_label(str(c)))]


def _matches(per: pd.DataFrame, words: Sequence[str]) -> list[str]:
    """Models whose name or method mentions one of ``words`` (case-insensitive)."""
    text = (per["model"].astype(str) + " " + per.get("method", pd.Series("", index=per.index)).fillna("").astype(str))
    hit = text.str.lower().apply(lambda t: any(w in t for w in words))
    return per.loc[hit, "model"].tolist()


def _not_testable(why: str) -> Result:
    return "not testable", why, None


def _fmt_models(names: Sequence[str], limit: int = 6) -> str:
    names = list(names)
    return ", ".join(names[:limit]) + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def stem_head_always_critical(mean: pd.DataFrame, per: pd.DataFrame, tau_aux: float, tau_crit: float) -> Result:
    """Stem conv(s) ``[0.*] conv`` and head ``[Head] fc`` above τ_crit in every model."""
    cols = _cols(mean, lambda s, b, op: s == 0) + [c for c in mean.columns if str(c) == "[Head] fc"]
    if not any(str(c).startswith("[0.") for c in cols) or "[Head] fc" not in cols or len(mean) < 1:
        return _not_testable("needs paper-labelled ResNet layers ([0.0] conv and [Head] fc)")
    sub = mean[cols]
    low = [(m, c) for m in sub.index for c in cols if not sub.at[m, c] > tau_crit]
    worst = float(np.nanmin(sub.to_numpy()))
    ev = (f"rule: every stem conv and [Head] fc > τ_crit = {tau_crit:g} in all {len(sub)} models; minimum "
          f"{worst:.3f}")
    if low:
        ev += f"; below: {_fmt_models([f'{m} {c}' for m, c in low])}"
    return ("reproduced" if not low else "not reproduced"), ev, worst


def stage_first_conv_critical(mean: pd.DataFrame, per: pd.DataFrame, tau_aux: float, tau_crit: float) -> Result:
    """``[S.0] conv1`` critical in ≥ 80 % of models per stage, outliers non-decreasing with S and more at the last."""
    stages = sorted({s for s, b, op in map(parse_label, map(str, mean.columns)) if s and b == 0 and op == "conv1"})
    if len(stages) < 2:
        return _not_testable("needs [S.0] conv1 layers of at least two stages")
    outliers = [int((~(mean[f"[{s}.0] conv1"] > tau_crit)).sum()) for s in stages]
    share = 1 - sum(outliers) / (len(stages) * len(mean))
    most = all(o <= 0.2 * len(mean) for o in outliers)
    grows = all(b >= a for a, b in zip(outliers, outliers[1:])) and outliers[-1] > outliers[0]
    ev = (f"rule: in every stage ≥ 80% of models have [S.0] conv1 > τ_crit = {tau_crit:g}, and the outlier count "
          f"does not fall with depth and ends higher than it starts; outliers per stage "
          + ", ".join(f"stage {s}: {o}/{len(mean)}" for s, o in zip(stages, outliers)))
    return ("reproduced" if most and grows else "not reproduced"), ev, share


def stage1_downsample_critical(mean: pd.DataFrame, per: pd.DataFrame, tau_aux: float, tau_crit: float) -> Result:
    """``[1.0] downsample`` above τ_crit in every model."""
    if "[1.0] downsample" not in mean.columns:
        return _not_testable("the models have no [1.0] downsample layer (no projection shortcut in stage 1)")
    v = mean["[1.0] downsample"]
    below = v.index[~(v > tau_crit)].tolist()
    ev = (f"rule: [1.0] downsample > τ_crit = {tau_crit:g} in all {len(v)} models; minimum {v.min():.3f}"
          + (f"; below: {_fmt_models(below)}" if below else ""))
    return ("reproduced" if not below else "not reproduced"), ev, float(v.min())


def pointwise_over_spatial(mean: pd.DataFrame, per: pd.DataFrame, tau_aux: float, tau_crit: float) -> Result:
    """Per model, mean criticality of the bottleneck's 1x1 convs (conv1, conv3) vs its 3x3 convs (conv2).

    Needs bottleneck blocks (a ``conv3`` in every block): in basic blocks conv1 is 3x3.
    Reproduced when pointwise > spatial in more than half of the models and a one-sided
    Wilcoxon signed-rank test over models gives p < 0.05.
    """
    pw = _cols(mean, lambda s, b, op: bool(s) and op in ("conv1", "conv3"))
    sp = _cols(mean, lambda s, b, op: bool(s) and op == "conv2")
    if not _cols(mean, lambda s, b, op: bool(s) and op == "conv3") or not sp:
        return _not_testable("needs bottleneck blocks (1x1 conv1/conv3 around a 3x3 conv2); downsample and stem "
                             "are left out")
    d = (mean[pw].mean(axis=1) - mean[sp].mean(axis=1)).dropna()
    share = float((d > 0).mean()) if len(d) else math.nan
    p = float(stats.wilcoxon(d, alternative="greater").pvalue) if len(d) >= 3 and np.any(d != 0) else math.nan
    ok = share > 0.5 and math.isfinite(p) and p < 0.05
    ev = (f"rule: mean(conv1, conv3) > mean(conv2) in > 50% of models and one-sided Wilcoxon p < 0.05; "
          f"{(d > 0).sum()}/{len(d)} models, mean difference {d.mean():+.3f}, p = {p:.2g}")
    return ("reproduced" if ok else "not reproduced"), ev, share


def no_layer_always_auxiliary(mean: pd.DataFrame, per: pd.DataFrame, tau_aux: float, tau_crit: float) -> Result:
    """No layer below τ_aux in every model; the evidence also gives the paper's lost example ([3.5] conv2)."""
    if len(mean) < 2:
        return _not_testable("needs at least two models")
    always = [c for c in mean.columns if bool((mean[c] < tau_aux).all())]
    ev = f"rule: no layer < τ_aux = {tau_aux:g} in all {len(mean)} models; such layers: {len(always)}"
    if always:
        ev += f" ({_fmt_models(always)})"
    if "[3.5] conv2" in mean.columns:
        ev += f"; [3.5] conv2 (the paper's example, values lost in extraction): mean over models " \
              f"{mean['[3.5] conv2'].mean():.3f}"
        pix = _matches(per, ("pixmix",))
        if pix:
            ev += ", " + ", ".join(f"{m} {mean.at[m, '[3.5] conv2']:.3f}" for m in pix if m in mean.index)
    return ("reproduced" if not always else "not reproduced"), ev, len(always)


def pixmix_highest(mean: pd.DataFrame, per: pd.DataFrame, tau_aux: float, tau_crit: float) -> Result:
    """The PixMix models take the top ranks of mean criticality."""
    pix = [m for m in _matches(per, ("pixmix",)) if m in mean.index]
    if not pix or len(mean) <= len(pix):
        return _not_testable("needs PixMix models and others")
    avg = mean.mean(axis=1).sort_values(ascending=False)
    top = avg.index[:len(pix)].tolist()
    ranks = [int(avg.index.get_loc(m)) + 1 for m in pix]
    ev = (f"rule: the {len(pix)} PixMix model(s) hold the top {len(pix)} ranks of mean criticality; ranks "
          + ", ".join(f"{m} #{r} ({avg[m]:.3f})" for m, r in zip(pix, ranks))
          + f"; highest other: {next(m for m in avg.index if m not in pix)}")
    return ("reproduced" if set(top) == set(pix) else "not reproduced"), ev, float(max(ranks))


def _aux_counts(mean: pd.DataFrame, models: Sequence[str], cols: Sequence[str], tau: float) -> pd.Series:
    return (mean.loc[list(models), list(cols)] < tau).sum(axis=1)


def _sweep(fn: Callable[[float], bool]) -> str:
    held = [t for t in SWEEP if fn(t)]
    return f"holds for τ_aux in {{{', '.join(f'{t:g}' for t in held)}}} of {{{', '.join(f'{t:g}' for t in SWEEP)}}}"


def simclr_no_auxiliary(mean: pd.DataFrame, per: pd.DataFrame, tau_aux: float, tau_crit: float) -> Result:
    """SimCLR model(s) have no layer below τ_aux."""
    sim = [m for m in _matches(per, ("simclr",)) if m in mean.index]
    if not sim:
        return _not_testable("the run has no SimCLR model")
    n = int(_aux_counts(mean, sim, mean.columns, tau_aux).sum())
    ev = (f"rule: no layer < τ_aux = {tau_aux:g} in {_fmt_models(sim)}; auxiliary layers: {n}; lowest criticality "
          f"{float(mean.loc[sim].min(axis=1).min()):.3f}; "
          + _sweep(lambda t: int(_aux_counts(mean, sim, mean.columns, t).sum()) == 0))
    return ("reproduced" if n == 0 else "not reproduced"), ev, n


def ssl_auxiliary_deep(mean: pd.DataFrame, per: pd.DataFrame, tau_aux: float, tau_crit: float) -> Result:
    """DINO, MoCo v3 and SwAV vs supervised models: auxiliary layers in stages 2–4 (one-sided Mann–Whitney)."""
    ssl = [m for m in _matches(per, ("dino", "moco", "swav")) if m in mean.index]
    cats = per.set_index("model")["category"]
    sup = [m for m in mean.index if cats.get(m) not in ("ssl", "freezing", "unknown", None) and m not in ssl]
    deep = _cols(mean, lambda s, b, op: s in (2, 3, 4))
    if not ssl or len(sup) < 2 or not deep:
        return _not_testable("needs DINO/MoCo v3/SwAV models, supervised models and stage 2-4 layers")

    def test(t: float) -> tuple[bool, float, float, float]:
        a, b = _aux_counts(mean, ssl, deep, t), _aux_counts(mean, sup, deep, t)
        p = float(stats.mannwhitneyu(a, b, alternative="greater").pvalue) if (a.sum() + b.sum()) else 1.0
        return bool(a.mean() > b.mean() and p < 0.05), float(a.mean()), float(b.mean()), p

    ok, ma, mb, p = test(tau_aux)
    crit_ssl, crit_sup = float(mean.loc[ssl, deep].mean(axis=None)), float(mean.loc[sup, deep].mean(axis=None))
    ev = (f"rule: mean count of stage 2-4 layers < τ_aux = {tau_aux:g} higher for DINO/MoCo v3/SwAV "
          f"({len(ssl)} models) than for the {len(sup)} supervised ones, one-sided Mann-Whitney p < 0.05; "
          f"{ma:.2f} vs {mb:.2f}, p = {p:.2g}; mean stage 2-4 criticality {crit_ssl:.3f} vs {crit_sup:.3f}; "
          + _sweep(lambda t: test(t)[0]))
    return ("reproduced" if ok else "not reproduced"), ev, ma


DEEPEST = ("[4.0] downsample", "[4.1] conv2", "[4.2] conv2", "[4.2] conv3")


def augmentation_deepest_layers(mean: pd.DataFrame, per: pd.DataFrame, baseline: str | None) -> Result:
    """Every augmentation model's mean Δ over the paper's deepest layers vs the baseline is > 0."""
    aug = per.loc[per["category"] == "augmentation", "model"].tolist()
    cols = [c for c in DEEPEST if c in mean.columns]
    if not aug or baseline is None or baseline not in mean.index or len(cols) < len(DEEPEST):
        return _not_testable("needs augmentation models, a baseline and the layers " + ", ".join(DEEPEST))
    d = mean.loc[aug, cols].sub(mean.loc[baseline, cols], axis=1).mean(axis=1)
    up = d[d > 0].index.tolist()
    ev = (f"rule: mean Δ criticality vs {baseline} over {', '.join(DEEPEST)} > 0 for every augmentation model; "
          f"{len(up)}/{len(aug)} (mean Δ {d.mean():+.3f}; lowest {d.idxmin()} {d.min():+.3f})")
    return ("reproduced" if len(up) == len(aug) else "not reproduced"), ev, len(up) / len(aug)


def improved_training_early_up_deep_down(mean: pd.DataFrame, per: pd.DataFrame, baseline: str | None) -> Result:
    """Improved recipes vs the baseline: mean Δ over stages 1–2 > 0 and over stages 3–4 < 0,
    for the category mean and for more than half of the models individually."""
    imp = per.loc[per["category"] == "improved_training", "model"].tolist()
    early = _cols(mean, lambda s, b, op: s in (1, 2))
    deep = _cols(mean, lambda s, b, op: s in (3, 4))
    if not imp or baseline is None or baseline not in mean.index or not early or not deep:
        return _not_testable("needs improved-training models, a baseline and stage 1-4 layers")
    diff = mean.loc[imp].sub(mean.loc[baseline], axis=1)
    e, dd = diff[early].mean(axis=1), diff[deep].mean(axis=1)
    each = float(((e > 0) & (dd < 0)).mean())
    ok = e.mean() > 0 and dd.mean() < 0 and each > 0.5
    ev = (f"rule: vs {baseline}, mean Δ over stages 1-2 > 0 and over stages 3-4 < 0 for the category and for > 50% "
          f"of its {len(imp)} models; category Δ early {e.mean():+.3f}, deep {dd.mean():+.3f}; "
          f"{int(round(each * len(imp)))}/{len(imp)} models individually")
    return ("reproduced" if ok else "not reproduced"), ev, each


__all__ = ["DEEPEST", "augmentation_deepest_layers", "improved_training_early_up_deep_down",
           "no_layer_always_auxiliary", "parse_label", "pixmix_highest", "pointwise_over_spatial",
           "simclr_no_auxiliary", "ssl_auxiliary_deep", "stage1_downsample_critical", "stage_first_conv_critical",
           "stem_head_always_critical"]
