"""Tests of zoolens.similarity."""
