"""Tests of zoolens.cli."""
