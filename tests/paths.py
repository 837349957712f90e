"""Where the tests find the checkout and the shared paper data, wherever a test file sits."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout
# The papers' tables live in shared/ beside the checkout (CI clones put it there too).
SHARED = next((p for p in (ROOT.parent / "shared" / "data", Path("/work/shared/data")) if p.is_dir()),
              Path("/work/shared/data"))
