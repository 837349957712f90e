"""Similarity by attack transferability (SAT, Eq. 1 of the SAT paper): attacks, adversarial cache,
transfer evaluation, the SAT formula with bootstrap CIs, and resumable runs."""

from zoolens.similarity.attack_registry import PRESETS, AttackConfig, parse_fraction, quantize, run_attack
from zoolens.similarity.run import SatResult, add_model, build_attack, display_name, run_sat, sat_matrix
from zoolens.similarity.sat import (EPS_S, bootstrap_sat, sat_ci_table, sat_from_counts, sat_from_outcomes,
                                    sat_matrix_from_transfer)
from zoolens.similarity.transfer import predict, to_input

__all__ = ["EPS_S", "PRESETS", "AttackConfig", "SatResult", "add_model", "bootstrap_sat", "build_attack",
           "display_name", "parse_fraction", "predict", "quantize", "run_attack", "run_sat", "sat_ci_table",
           "sat_from_counts", "sat_from_outcomes", "sat_matrix", "sat_matrix_from_transfer", "to_input"]
