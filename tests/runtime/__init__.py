"""Tests of zoolens.runtime."""
