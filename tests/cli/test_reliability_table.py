"""docs/reliability.md: every attack in the red-team table names a test that exists (with its parameter id)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.paths import ROOT

DOC = ROOT / "docs" / "reliability.md"
ROW = re.compile(r"^\| (\d+) \| (.+) \| (.+) \| `([\w/]+\.py)::(\w+)(?:\[(.+)\])?` \|$")


def _rows() -> list[re.Match]:
    return [m for line in DOC.read_text().splitlines() if (m := ROW.match(line))]


def _ids(fn) -> set[str]:
    out: set[str] = set()
    for mark in getattr(fn, "pytestmark", []):
        if mark.name == "parametrize":
            out |= set(mark.kwargs.get("ids") or [])
    return out


def test_the_table_is_numbered_and_long_enough():
    rows = _rows()
    table_lines = [l for l in DOC.read_text().splitlines() if re.match(r"^\| \d+ \|", l)]
    assert len(rows) == len(table_lines) >= 50  # every row parses
    assert [int(m.group(1)) for m in rows] == list(range(1, len(rows) + 1))
    assert f"**{len(rows)} tried / {len(rows)} held**" in DOC.read_text()


@pytest.mark.parametrize("row", _rows(), ids=lambda m: m.group(1))
def test_each_attack_names_an_existing_test(row):
    module, func, param = row.group(4)[:-3].replace("/", "."), row.group(5), row.group(6)
    try:
        mod = importlib.import_module(f"tests.{module}")
    except pytest.skip.Exception:  # e.g. ray not installed: that file's tests skip too
        pytest.skip(f"tests/{module}.py is skipped here")
    fn = getattr(mod, func, None)
    assert callable(fn), f"tests/{module}.py has no {func}"
    if param is not None:
        assert param in _ids(fn), f"{func} has no parameter id {param!r}"
