"""A run directory: one atomically written Parquet part per finished work unit.

Data flows one way: spec → work units → each unit writes ``parts/KIND/UNIT.parquet``
(temp file + rename, so a killed run never leaves half a part) → tables assembled
from the parts. Rerunning the same spec in the same directory skips finished units,
so an interrupted run resumes and ends with the same tables as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from zoolens.environment import package_versions
from zoolens.errors import ZoolensError
import zoolens.io as zio
from zoolens.io import write_table, write_text_atomic

_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def unit_filename(unit_id: str) -> str:
    """A filesystem-safe, collision-free file stem for a unit id (e.g. a model reference)."""
    readable = _SAFE.sub("_", unit_id)[:80]
    return f"{readable}-{hashlib.sha256(unit_id.encode()).hexdigest()[:10]}"


class RunDir:
    """A run's output directory.

    Parameters
    ----------
    path:
        Directory (created if needed).
    spec:
        The settings that determine the results. A directory holding a run with
        different settings is refused instead of mixing results.
    """

    def __init__(self, path: str | os.PathLike, spec: dict[str, Any] | None = None, *, kind: str = "run"):
        self.path = Path(path)
        self.kind = kind
        self.spec = spec
        self._lock_fh = None

    # ---------------------------------------------------------------- lifecycle
    @contextlib.contextmanager
    def open(self) -> Iterator["RunDir"]:
        """Lock the directory for this process and check/record the spec."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fh = open(self.path / ".lock", "w")
        except OSError as exc:  # a file in the way, a read-only or full disk: say which path, once
            raise ZoolensError(f"cannot use {self.path} as the run directory ({exc.strerror or exc})",
                               "choose another --out directory (writable, not an existing file)") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise ZoolensError(f"another zoolens run is writing to {self.path}",
                               "wait for it to finish or use another --out directory") from None
        self._lock_fh = fh
        try:
            self._remove_stale_temp_files()
            if self.spec is not None:
                self._check_spec()
            yield self
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
            self._lock_fh = None

    def _check_spec(self) -> None:
        spec_file = self.path / f"{self.kind}_spec.json"
        new = json.dumps(self.spec, sort_keys=True, default=str)
        if spec_file.is_file() and not self.has_results():
            # nothing was computed under the old spec (e.g. it was refused or failed at once): a corrected
            # command may take the directory over instead of being told to pick another one
            spec_file.unlink()
        if spec_file.is_file():
            old = spec_file.read_text()
            if json.dumps(json.loads(old), sort_keys=True) != new:
                old_format, new_format = json.loads(old).get("table_format"), self.spec.get("table_format")
                if old_format != new_format:
                    raise ZoolensError(f"{self.path} holds a {self.kind} run written with table format "
                                       f"{old_format or 1} (this zoolens writes format {new_format or 1})",
                                       "re-run into a new --out directory (its parts cannot be mixed with new ones)")
                diff = _diff_keys(json.loads(old), self.spec)
                raise ZoolensError(f"{self.path} holds a {self.kind} run with other settings ({diff})",
                                   "use another --out directory, or the same settings to resume")
        else:
            self._write_text(spec_file, json.dumps(self.spec, indent=1, sort_keys=True, default=str))

    def has_results(self) -> bool:
        """True when any unit of this run (or of a study's sub-runs) has written a part."""
        return any(True for _ in self.path.glob("**/parts/*/*.parquet"))

    def _remove_stale_temp_files(self) -> None:
        # we hold the lock, so every temp file here is a leftover of a killed or failed writer
        for tmp in self.path.glob("**/.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()

    @contextlib.contextmanager
    def publishing(self) -> Iterator["RunDir"]:
        """Write the final tables as one step: if any write fails, the ones already written go again.

        The parts stay, so the directory is resumable (a rerun assembles the tables anew)
        rather than holding e.g. a fresh ``criticality.parquet`` next to a stale summary.
        """
        self._published: list[Path] = []
        try:
            yield self
        except BaseException:
            for path in self._published:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
        finally:
            self._published = []

    def _track(self, path: Path) -> Path:
        if getattr(self, "_published", None) is not None and path.parent == self.path:
            self._published.append(path)
        return path

    # -------------------------------------------------------------------- parts
    def part_path(self, part_kind: str, unit_id: str) -> Path:
        return self.path / "parts" / part_kind / f"{unit_filename(unit_id)}.parquet"

    def has_part(self, part_kind: str, unit_id: str) -> bool:
        return self.part_path(part_kind, unit_id).is_file()

    def write_part(self, part_kind: str, unit_id: str, df: pd.DataFrame) -> None:
        df = df.copy()
        df.attrs = {}
        write_table(df, self.part_path(part_kind, unit_id))

    def read_part(self, part_kind: str, unit_id: str) -> pd.DataFrame:
        return pd.read_parquet(self.part_path(part_kind, unit_id))

    def read_parts(self, part_kind: str, unit_ids: list[str] | None = None) -> pd.DataFrame:
        """Concatenate parts, in the order of ``unit_ids`` (default: sorted file names)."""
        folder = self.path / "parts" / part_kind
        if unit_ids is None:
            files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        else:
            files = [self.part_path(part_kind, u) for u in unit_ids if self.has_part(part_kind, u)]
        frames = [pd.read_parquet(f) for f in files]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # --------------------------------------------------------------- manifests
    def _write_text(self, path: Path, text: str) -> None:
        write_text_atomic(path, text)

    def write_table(self, name: str, df: pd.DataFrame, *, csv: bool = True, parquet: bool = True) -> None:
        """Write ``name.parquet`` (and a ``name.csv`` copy) atomically."""
        if parquet:
            write_table(df, self._track(self.path / f"{name}.parquet"))
        if csv:
            write_table(df, self._track(self.path / f"{name}.csv"))

    def write_manifest(self, extra: dict[str, Any]) -> None:
        """``manifest.json``: spec, package versions, and what the caller adds (data fingerprint, seeds)."""
        path = self.path / "manifest.json"
        manifest = json.loads(path.read_text()) if path.is_file() else {}
        manifest.update({"versions": package_versions(), "spec": self.spec})
        manifest.setdefault("runs", {})[self.kind] = extra
        self._write_text(path, json.dumps(manifest, indent=1, sort_keys=True, default=str))

    def write_file(self, name: str, writer) -> Path:
        """Write ``name`` in the run directory atomically via ``writer(tmp_path)`` (tracked by :meth:`publishing`)."""

        path = self._track(self.path / name)
        with zio.atomic_path(path) as tmp:
            writer(tmp)
        return path


def _diff_keys(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in keys[:3]) or "unknown difference"


