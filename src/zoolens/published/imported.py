"""Writing an imported run directory all at once: staged in a sibling folder, then renamed.

An import validates its whole input first, then writes every table into a hidden
staging folder next to ``out`` and renames it into place, so ``out`` is either absent
or a complete run — never half-written, whatever fails (full disk, Ctrl-C).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.published import sha256_file
from zoolens.environment import package_versions
from zoolens.io import current_umask


def imported_info(run: str | Path, kind: str | None = None) -> dict[str, Any]:
    """The manifest entry of an imported run (``runs[kind]``, or of any kind); ``{}`` for a measured run.

    Parameters
    ----------
    run:
        A run directory.
    kind:
        ``criticality`` or ``similarity``; None accepts either.
    """
    man = Path(run) / "manifest.json"
    try:
        runs = json.loads(man.read_text()).get("runs", {}) if man.is_file() else {}
    except (OSError, ValueError):
        return {}
    for k, info in runs.items():
        if (kind is None or k == kind) and isinstance(info, dict) and info.get("imported"):
            return info
    return {}


def is_imported(run: str | Path, kind: str | None = None) -> bool:
    """Whether ``run`` was written by ``zoolens import`` rather than measured (see :func:`imported_info`)."""
    return bool(imported_info(run, kind))


def check_out(out: str | Path, kind: str) -> Path:
    """Refuse an ``out`` that exists and is not an imported run of the same ``kind`` (it would be replaced)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ZoolensError(f"--out {out} is a file", "pass a directory path")
    if out.is_dir() and any(out.iterdir()) and not is_imported(out, kind):
        raise ZoolensError(f"--out {out} already holds something other than an imported {kind} run",
                           "pass an empty or new directory")
    return out


def write_imported_run(out: str | Path, kind: str, tables: dict[str, pd.DataFrame], *, source: Path,
                       source_info: dict[str, Any], spec: dict[str, Any], extra: dict[str, Any],
                       csv_only: tuple[str, ...] = ()) -> Path:
    """Write a complete run directory for imported data in one rename.

    Parameters
    ----------
    out:
        The run directory. An existing imported run of the same kind is replaced.
    kind:
        ``criticality`` or ``similarity`` (the manifest's ``runs`` key, as a native run).
    tables:
        Name → table; each is written as ``NAME.parquet`` and ``NAME.csv`` (only CSV for
        names in ``csv_only``; names ending in ``.csv`` are written as given with their index).
    source, source_info:
        The imported file (its SHA-256 is recorded) and its provenance (repository, commit, licence).
    spec:
        The import settings (written as ``{kind}_spec.json``, like a native run's spec).
    extra:
        What the manifest's ``runs[kind]`` records besides ``imported`` and ``source``.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    out = check_out(out, kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.import-"))
    try:
        for name, df in tables.items():
            if name.endswith(".csv"):
                df.to_csv(stage / name)
                continue
            df = df.copy()
            df.attrs = {}
            if name not in csv_only:
                df.to_parquet(stage / f"{name}.parquet", index=False)
            df.to_csv(stage / f"{name}.csv", index=False)
        (stage / f"{kind}_spec.json").write_text(json.dumps(spec, indent=1, sort_keys=True, default=str))
        run_info = {"imported": True, "complete": True,
                    "source": {"file": str(source), "sha256": sha256_file(source), **source_info}, **extra}
        manifest = {"versions": package_versions(), "spec": spec, "runs": {kind: run_info}}
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str))
        os.chmod(stage, 0o777 & ~current_umask())  # mkdtemp makes 0700; a run folder follows the umask
        if out.exists():
            # Replace the previous import: move it aside first so a failure keeps one complete copy.
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.rmdir(old)
            os.replace(out, old)
            os.replace(stage, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out


__all__ = ["check_out", "imported_info", "is_imported", "write_imported_run"]
