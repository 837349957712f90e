"""Opt-in: each paper-r50 model reproduces its published ImageNet top-1 within 0.5 points.

Runs only when ``ZOOLENS_IMAGENET_VAL`` points at an ILSVRC-2012 val folder in synset
sub-folders *and* the model's weights are on disk (see `zoolens zoo status paper-r50`);
otherwise each case is reported as skipped with the reason. ``ZOOLENS_IMAGENET_N``
limits the number of images (default: all 50,000, as the published numbers use).
"""

from __future__ import annotations

import os

import pytest

from zoolens.zoo.paper.r50 import file_specs, r50_entries

VAL = os.environ.get("ZOOLENS_IMAGENET_VAL")
pytestmark = pytest.mark.imagenet  # `make test` deselects these; run this file by name (docs/reproduce.md)


def _weights_missing(entry) -> str | None:
    if entry["source_kind"] == "file":
        missing = [str(s.path) for s in file_specs(entry["name"]) if not s.path.is_file()]
        return f"weights missing: {', '.join(missing)}" if missing else None
    from zoolens.zoo.weights import _library_location

    state, where = _library_location(entry["ref"])
    return None if state.startswith("present") else f"{entry['ref']} not in the local cache ({where})"


@pytest.mark.parametrize("entry", r50_entries(), ids=lambda e: e["name"])
def test_published_top1(entry):
    if not VAL:
        pytest.skip("ZOOLENS_IMAGENET_VAL is not set (needs the ImageNet val folder)")
    why = _weights_missing(entry)
    if why:
        pytest.skip(why)
    from zoolens.zoo.paper.accuracy import check_published_top1

    n = int(os.environ["ZOOLENS_IMAGENET_N"]) if os.environ.get("ZOOLENS_IMAGENET_N") else None
    device = "cuda" if __import__("torch").cuda.is_available() else "cpu"
    measured, published = check_published_top1("paper-r50", entry["name"], VAL, n=n, device=device)
    assert abs(measured - published) <= 0.5
