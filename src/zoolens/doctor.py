"""``zoolens doctor``: is this environment sound? Versions, data, cache and weights, each with its fix.

Every check returns rows ``(check, status, detail, fix)`` with status ``ok``, ``warn``
or ``fail``; ``zoolens doctor`` (:mod:`zoolens.cli.doctor`) prints them and exits 1 when
any check fails. Nothing is changed on disk (the fixes are printed, not applied).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from zoolens.errors import ZoolensError
from zoolens.io import sha256_file
from zoolens.zoo.mini import ZOO_DIRS, manifest_rows, zoo_dir
from zoolens.data import cache as dcache
from zoolens.data import open_source
from zoolens.data.cache import cache_root

PINNED = {"torch": "2.14.1", "torchvision": "0.29.1"}  # as pyproject.toml pins them
MIN_FREE_BYTES = 2 << 30


@dataclass
class Finding:
    check: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""


def check_versions() -> Iterator[Finding]:
    """Python, the pinned torch/torchvision builds and timm ≥ 1.0."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    py = platform.python_version()
    yield Finding("python", "ok" if tuple(map(int, py.split(".")[:2])) >= (3, 11) else "fail", py,
                  "use Python 3.11 or newer (make setup)")
    for pkg, want in PINNED.items():
        try:
            got = version(pkg)
        except PackageNotFoundError:
            yield Finding(pkg, "fail", "not installed", "make setup")
            continue
        ok = got.split("+")[0] == want
        yield Finding(pkg, "ok" if ok else "warn", f"{got} (pinned {want})",
                      "" if ok else f"pip install {pkg}=={want} (results are validated on the pinned build)")
    try:
        timm_version = version("timm")
        major = int(timm_version.split(".")[0])
        yield Finding("timm", "ok" if major >= 1 else "fail", timm_version, "pip install 'timm>=1.0'")
    except (PackageNotFoundError, ValueError):
        yield Finding("timm", "fail", "not installed", "make setup")


def check_data() -> Iterator[Finding]:
    """The built-in data sources open (Fashion-MNIST files present, scikit-learn's digits)."""

    for source in ("fashion-mnist", "digits"):
        try:
            raw = open_source(source)
            yield Finding(f"data {source}", "ok", f"{len(raw)} images at {raw.location}")
        except ZoolensError as exc:
            yield Finding(f"data {source}", "fail", exc.problem, exc.fix or "")


def check_cache(root: Path | None = None) -> Iterator[Finding]:
    """Every cached image subset still matches the checksum recorded when it was written."""

    root = root or dcache.cache_root()
    images = root / "images"
    entries = sorted(p for p in images.iterdir() if p.is_dir()) if images.is_dir() else []
    bad, stale = [], []
    for d in entries:
        hit = dcache.read_entry(d.name)
        if hit is None:
            bad.append(d)
        elif "sha256" not in hit[2]:
            stale.append(d)
        elif not dcache.entry_is_sound(d.name, *hit):
            bad.append(d)
    yield Finding("image cache", "fail" if bad else ("warn" if stale else "ok"),
                  f"{len(entries)} subset(s) in {images}" + (f"; corrupt: {', '.join(p.name for p in bad[:3])}"
                                                             if bad else "")
                  + (f"; {len(stale)} without a checksum (written by an older zoolens)" if stale else ""),
                  (f"rm -r {' '.join(str(p) for p in bad[:3])} (rebuilt on next use)" if bad
                   else "they are rebuilt on next use" if stale else ""))


def check_weights() -> Iterator[Finding]:
    """The shipped (trainable) zoos' weights match the SHA-256 of their manifests."""
    for zoo in sorted(ZOO_DIRS):
        rows = manifest_rows(zoo)
        missing, wrong = [], []
        for r in rows:
            path = zoo_dir(zoo) / r["weights"]
            if not path.is_file():
                missing.append(r["name"])
            elif sha256_file(path) != r["sha256"]:
                wrong.append(r["name"])
        status = "fail" if (missing or wrong or not rows) else "ok"
        detail = f"{len(rows) - len(missing) - len(wrong)}/{len(rows)} weights files verified in {zoo_dir(zoo)}"
        if missing:
            detail += f"; missing: {', '.join(missing[:3])}"
        if wrong:
            detail += f"; wrong SHA-256: {', '.join(wrong[:3])}"
        names = " ".join(f"--only {n}" for n in (missing + wrong)[:3])
        yield Finding(f"weights zoo:{zoo}", status, detail,
                      f"zoolens zoo train {zoo} {names}".strip() if status == "fail" else "")


def check_disk(paths: list[Path]) -> Iterator[Finding]:
    """Free space where zoolens writes (cache, runs) and whether it may write there."""
    import os

    for path in paths:
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free = shutil.disk_usage(probe).free
        writable = os.access(probe, os.W_OK)
        status = "fail" if not writable else ("warn" if free < MIN_FREE_BYTES else "ok")
        fix = ("choose a writable location" if not writable
               else "free disk space (a full disk stops runs; rerunning resumes them)" if status == "warn" else "")
        yield Finding(f"disk {path}", status, f"{free / 2 ** 30:.1f} GiB free" + ("" if writable else ", not writable"),
                      fix)


def check_optional() -> Iterator[Finding]:
    """Ray (for --executor ray) and CUDA: informational."""
    import importlib.util

    import torch

    has_ray = importlib.util.find_spec("ray") is not None
    yield Finding("ray", "ok" if has_ray else "warn", "installed" if has_ray else "not installed",
                  "" if has_ray else "pip install 'zoolens[ray]' to use --executor ray")
    cuda = torch.cuda.is_available()
    yield Finding("cuda", "ok", f"{torch.cuda.device_count()} GPU(s)" if cuda else "not available (CPU runs only)")


def diagnose(out: Path | None = None) -> pd.DataFrame:
    """All checks as a table (columns ``check, status, detail, fix``)."""

    checks: list[Callable[[], Iterator[Finding]]] = [
        check_versions, check_data, check_cache, check_weights,
        lambda: check_disk([cache_root(), (out or Path("runs")).resolve()]), check_optional]
    rows = []
    for check in checks:
        try:
            rows += [f.__dict__ for f in check()]
        except Exception as exc:  # noqa: BLE001 — a broken check is itself a finding
            rows.append({"check": getattr(check, "__name__", "check"), "status": "fail",
                         "detail": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}",
                         "fix": "rerun with --debug and report it"})
    for r in rows:  # a fix is advice for what is wrong only
        if r["status"] == "ok":
            r["fix"] = ""
    return pd.DataFrame(rows, columns=["check", "status", "detail", "fix"])


__all__ = ["Finding", "diagnose"]
