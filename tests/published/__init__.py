"""Tests of zoolens.published."""
