"""Ensembles of one architecture's training variants against ensembles across architectures
(SAT paper Sec. 5.1, "Training Strategy vs. Architecture", Fig. 8); split from
:mod:`zoolens.analysis.ensembles`, whose subset drawing and scoring it reuses."""

from __future__ import annotations

import itertools
import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from zoolens.analysis.ensembles import SUBSET_COLUMNS, _evaluate, _prepare, _subsets
from zoolens.analysis.sat_table2 import SETTINGS, setting_members

#: Groups of :func:`family_ensembles`.
WITHIN, WITHIN_AT, ACROSS = "training variants", "adversarial training", "across families"
#: The per-setting groups of :func:`family_ensembles` (Table 2's settings: ``Init``, ``Hparam``, ``Tr. Reg.``).
SETTING_GROUPS: tuple[str, ...] = tuple(SETTINGS)
#: Order of the groups in :func:`family_ensemble_table`.
GROUP_ORDER: tuple[str, ...] = (WITHIN, *SETTING_GROUPS, WITHIN_AT, ACROSS)

AT_CATEGORY = "adversarial_training"


def family_ensembles(logits: Mapping[str, np.ndarray], labels: np.ndarray, meta: pd.DataFrame,
                     sizes: Sequence[int] = (2, 3, 4, 5), *, max_combos: int = 20000, seed: int = 0,
                     max_tries: int = 200) -> pd.DataFrame:
    """Ensembles of one architecture's training variants vs ensembles across architectures
    (SAT paper Sec. 5.1, "Training Strategy vs. Architecture", Fig. 8).

    Groups of N-subsets (each evaluated as in :func:`cluster_ensembles`):

    - ``training variants`` of family F: N-subsets of F's models that are not adversarially
      trained (category ``adversarial_training``; the paper's Fig. 8 leaves adversarial
      training out), for every family with at least N such models;
    - ``Init``, ``Hparam``, ``Tr. Reg.`` of family F (the paper's red, green and blue lines):
      N-subsets of the members of that Table 2 setting,
      :func:`zoolens.analysis.sat_table2.setting_members` (F's baseline plus its models of
      category ``seed``; ``hparam``; ``augmentation`` or ``improved_training``), for every
      N up to the setting's size; families without a baseline have no setting groups;
    - ``adversarial training`` of family F, reported apart: N-subsets of F's models with at
      least one adversarially trained member;
    - ``across families``: N-subsets whose members all come from different families (the
      paper's "different architectures", its N = k setting). When there are more than
      ``max_combos`` of them, ``max_combos`` distinct ones are drawn uniformly by rejection
      from uniform N-subsets (at most ``max_tries · max_combos`` draws).

    Subsets are drawn (when there are more than ``max_combos``) from a random stream seeded by
    ``seed``; the setting groups draw from a stream of their own.
    Models of family ``unknown`` (no metadata) are left out of every group.

    Parameters
    ----------
    logits:
        Model name → (n_images, C) clean logits on the same images.
    labels:
        (n_images,) true labels.
    meta:
        Index = model names, columns ``family`` and ``category``.

    Returns
    -------
    pandas.DataFrame
        One row per subset: ``group, family`` (``(all)`` for across families), ``n_models,
        members, err_rate, err_ensemble, n_all_wrong`` (fractions and a count, as in
        :func:`cluster_ensembles`).
    """
    names, stacked, labels, errs, wrong = _prepare(logits, labels)
    fam = np.array([str(meta.loc[n, "family"]) for n in names])
    at = np.array([str(meta.loc[n, "category"]) == AT_CATEGORY for n in names])
    known = [i for i in range(len(names)) if fam[i] != "unknown"]
    rng = np.random.default_rng(seed)
    rows = []

    def add(group, family, n, combos):
        for combo in combos:
            rows.append({"group": group, "family": family, "n_models": n,
                         "members": ",".join(names[i] for i in combo),
                         **_evaluate(stacked, labels, errs, wrong, combo)})

    families = sorted({fam[i] for i in known})
    index = {m: i for i, m in enumerate(names)}
    known_meta = meta.loc[[names[i] for i in known], ["family", "category"]]
    settings = {key: [index[m] for m in models] for key, models in setting_members(known_meta).items()
                if key[1] in SETTING_GROUPS}
    # a stream of its own, so that the setting groups leave the other groups' draws as they were
    setting_rng = np.random.default_rng([seed, 1])
    for n in sizes:
        for f in families:
            members = [i for i in known if fam[i] == f]
            plain = [i for i in members if not at[i]]
            add(WITHIN, f, n, _subsets(plain, n, max_combos, rng))
            for setting in SETTING_GROUPS:
                if (f, setting) in settings:
                    add(setting, f, n, _subsets(settings[(f, setting)], n, max_combos, setting_rng))
            if any(at[i] for i in members):
                add(WITHIN_AT, f, n, [c for c in _subsets(members, n, max_combos, rng) if at[list(c)].any()])
        add(ACROSS, "(all)", n, _distinct_family_subsets(known, fam, n, max_combos, rng, max_tries))
    return pd.DataFrame(rows, columns=["group", "family", "n_models", "members", "err_rate", "err_ensemble",
                                       "n_all_wrong"])


def _distinct_family_subsets(pool: list[int], fam: np.ndarray, n: int, max_combos: int, rng: np.random.Generator,
                             max_tries: int) -> list[tuple[int, ...]]:
    """N-subsets of ``pool`` with N different families: all, or up to ``max_combos`` drawn uniformly."""
    by_family: dict[str, list[int]] = {}
    for i in pool:
        by_family.setdefault(str(fam[i]), []).append(i)
    groups = list(by_family.values())
    if n < 1 or n > len(groups):
        return []
    # how many there are: the elementary symmetric polynomial of the family sizes
    e = [1] + [0] * n
    for g in groups:
        for r in range(n, 0, -1):
            e[r] += e[r - 1] * len(g)
    if e[n] <= max_combos:
        return sorted(tuple(sorted(pick)) for fams in itertools.combinations(groups, n)
                      for pick in itertools.product(*fams))
    seen: set[tuple[int, ...]] = set()
    for _ in range(max_tries * max_combos):
        draw = rng.choice(pool, size=n, replace=False)
        if len({fam[i] for i in draw}) == n:
            seen.add(tuple(sorted(draw.tolist())))
            if len(seen) == max_combos:
                break
    return sorted(seen)


def family_ensemble_table(subsets: pd.DataFrame) -> pd.DataFrame:
    """Fig. 8 as a table: per group, family and N the mean ERR (%), top-1 error (%) and all-wrong
    count over the subsets (SAT paper Sec. 5.1, Fig. 8).

    Returns
    -------
    pandas.DataFrame
        ``group, family, n_models, n_subsets, err_rate, err_ensemble, n_all_wrong``; groups in
        the order of :data:`GROUP_ORDER`: training variants, Init, Hparam, Tr. Reg., adversarial
        training, across families.
    """
    cols = ["group", "family", "n_models", "n_subsets", "err_rate", "err_ensemble", "n_all_wrong"]
    if subsets.empty:
        return pd.DataFrame(columns=cols)
    g = subsets.groupby(["group", "family", "n_models"], sort=True)
    out = g.agg(n_subsets=("members", "size"), err_rate=("err_rate", "mean"), err_ensemble=("err_ensemble", "mean"),
                n_all_wrong=("n_all_wrong", "mean")).reset_index()
    out[["err_rate", "err_ensemble"]] *= 100
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    out = out.sort_values(["group", "family", "n_models"], key=lambda s: s.map(order) if s.name == "group" else s)
    return out[cols].reset_index(drop=True)


__all__ = ["ACROSS", "AT_CATEGORY", "GROUP_ORDER", "SETTING_GROUPS", "WITHIN", "WITHIN_AT", "family_ensemble_table",
           "family_ensembles"]
