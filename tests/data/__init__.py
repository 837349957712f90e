"""Tests of zoolens.data."""
