"""Tests of zoolens.zoo.paper."""
