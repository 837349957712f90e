"""Tests of zoolens.models."""
