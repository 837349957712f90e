"""SAT during training (SAT paper App. G.3, Table G.1): the curve and the finding's fixed rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoolens.analysis import sat_training as tr


def _run(values: list[float], self_sat: float = 4.0, model: str = "z/r"):
    """A SAT matrix of checkpoints e0..eE of one model whose final row holds ``values`` then ``self_sat``."""
    names = [f"r@epoch_{e:03d}" for e in range(len(values) + 1)]
    sat = pd.DataFrame(np.full((len(names), len(names)), 1.0), index=names, columns=names)
    for n, v in zip(names, values):
        sat.loc[names[-1], n] = sat.loc[n, names[-1]] = v
    sat.loc[names[-1], names[-1]] = self_sat
    members = pd.DataFrame({"member": names, "model": model, "epoch": range(len(names)), "epochs": len(values),
                            "final": [False] * len(values) + [True]})
    return sat, members


def test_curve_reads_the_final_row_and_the_diagonal():
    sat, members = _run([2.0, 3.8, 3.9])
    curve = tr.training_curve(sat, members)
    assert list(curve["epoch"]) == [0, 1, 2, 3]
    assert list(curve["sat"]) == [2.0, 3.8, 3.9, 4.0]
    assert (curve["self_sat"] == 4.0).all() and curve["ratio"].iloc[1] == 0.95
    assert curve["fraction"].iloc[-1] == 1.0 and curve["final_member"].iloc[0] == "r@epoch_003"
    verdict, evidence, measured = tr.curve_verdict(curve)
    assert verdict == "reproduced" and measured == 0.95 and "0.95 × self-SAT" in evidence


def test_slow_rise_or_a_drop_beyond_noise_is_not_reproduced():
    slow = tr.training_curve(*_run([2.0, 3.0, 3.9]))
    assert tr.curve_verdict(slow)[0] == "not reproduced"  # 3.0 / 4.0 < 0.9
    drop = tr.training_curve(*_run([2.0, 3.9, 3.6]))
    verdict, evidence, _ = tr.curve_verdict(drop)
    assert verdict == "not reproduced" and "drops beyond noise at epoch(s) 2" in evidence


def test_drop_within_the_bootstrap_intervals_is_noise():
    sat, members = _run([2.0, 3.9, 3.8])
    ci = pd.DataFrame({"model_a": ["r@epoch_003"] * 4, "model_b": [f"r@epoch_{e:03d}" for e in range(4)],
                       "ci_low": [1.9, 3.7, 3.6, 3.9], "ci_high": [2.1, 4.1, 4.0, 4.1]})
    curve = tr.training_curve(sat, members, ci)
    assert curve["ci_low"].iloc[1] == 3.7
    assert tr.curve_verdict(curve)[0] == "reproduced"


def test_not_testable_without_checkpoints():
    empty = pd.DataFrame(columns=tr.CURVE_COLUMNS)
    assert tr.curve_verdict(empty)[0] == "not testable"
    sat, members = _run([2.0])  # epoch 0 and the final model only
    assert tr.curve_verdict(tr.training_curve(sat, members))[0] == "not testable"
    no_final = members.assign(final=False)
    assert tr.training_curve(sat, no_final).empty
