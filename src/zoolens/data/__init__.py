"""Evaluation data: sources, seeded stratified subsets, and a uint8 preprocessing cache."""

from zoolens.data.loading import EvalSet, load_data
from zoolens.data.preprocess import PreprocessConfig
from zoolens.data.sources import RawSource, open_source
from zoolens.data.subset import stratified_subset

__all__ = ["EvalSet", "PreprocessConfig", "RawSource", "load_data", "open_source", "stratified_subset"]
