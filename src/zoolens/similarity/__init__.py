"""Similarity by attack transferability (SAT, Eq. 1 of the SAT paper): attacks, adversarial cache,
transfer evaluation, the SAT formula with bootstrap CIs, and resumable runs."""

from zoolens.similarity.assemble import SatResult
from zoolens.similarity.attack_registry import PRESETS, AttackConfig, parse_fraction, quantize, run_attack
from zoolens.similarity.config import SatConfig
from zoolens.similarity.run import add_model, run_sat, sat_matrix
from zoolens.similarity.sat import (EPS_S, bootstrap_sat, sat_ci_table, sat_from_counts, sat_from_outcomes,
                                    sat_matrix_from_transfer)
from zoolens.similarity.transfer import predict, to_input

__all__ = ["EPS_S", "PRESETS", "AttackConfig", "SatConfig", "SatResult", "add_model", "bootstrap_sat",
           "parse_fraction", "predict", "quantize", "run_attack", "run_sat", "sat_ci_table", "sat_from_counts",
           "sat_from_outcomes", "sat_matrix", "sat_matrix_from_transfer", "to_input"]
