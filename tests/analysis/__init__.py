"""Tests of zoolens.analysis."""
