"""Tests of zoolens.criticality."""
