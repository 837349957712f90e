"""Tests of zoolens.report."""
