"""The shape of the code: small modules (no source file over 350 lines; data tables are not .py files)."""

from __future__ import annotations

from pathlib import Path

import zoolens

SRC = Path(zoolens.__file__).parent
MAX_LINES = 350


def test_no_source_file_is_over_350_lines():
    long = {str(p.relative_to(SRC)): n for p in sorted(SRC.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these by what they hold: {long}"
