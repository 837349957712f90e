"""Tests of zoolens.zoo."""
