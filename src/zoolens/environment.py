"""The software a run actually used: zoolens and every distribution it imports, with versions.

A run's ``manifest.json`` records :func:`package_versions`, so a result can be traced to the
exact stack months later; ``requirements.lock`` (``make lock``) pins the same stack for
installs, and :func:`lock_mismatches` tells whether an environment was installed from it.
"""

from __future__ import annotations

import platform
import re
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _runtime_requires(name: str, extras: frozenset[str] = frozenset()) -> list[tuple[str, frozenset[str]]]:
    """``name``'s runtime dependencies with the extras asked of them (foreign platforms left out)."""
    try:
        reqs = distribution(name).requires or []
    except PackageNotFoundError:
        return []
    env = default_environment()
    out = []
    for spec in reqs:
        try:
            req = Requirement(spec)
        except InvalidRequirement:
            continue
        # An ``extra == …`` marker holds only for the extras the dependant asked for.
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in {"", *extras}):
            out.append((req.name, frozenset(req.extras)))
    return out


def dependency_closure(root: str = "zoolens") -> dict[str, str]:
    """Every installed distribution ``root`` needs at run time, transitively: ``{name: version}``.

    Parameters
    ----------
    root:
        The distribution to start from.

    Returns
    -------
    dict
        Canonical names (PEP 503) to installed versions, sorted by name; ``root`` included.
        Requirements that are not installed are left out (they cannot have been used).
    """
    seen: dict[str, str] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        name = canonicalize_name(name)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            seen[name] = distribution(name).version
        except PackageNotFoundError:
            continue
        todo += _runtime_requires(name, extras)
    return dict(sorted(seen.items()))


_VERSIONS: dict[tuple[str, ...], dict[str, str]] = {}


def package_versions() -> dict[str, str]:
    """Python's version, then zoolens and every distribution it depends on (for run manifests).

    Walked once per process and ``sys.path`` (the walk reads ~80 distributions' metadata,
    a few tenths of a second, and a run writes its manifest several times); a new
    ``sys.path`` entry walks again. Each call returns a fresh dict.
    """
    key = tuple(sys.path)
    if key not in _VERSIONS:
        closure = dependency_closure("zoolens")
        head = {k: closure.pop(k) for k in ("zoolens", "torch", "torchvision", "timm") if k in closure}
        _VERSIONS[key] = {"python": platform.python_version(), **head, **closure}
    return dict(_VERSIONS[key])


def read_lock(path: str | Path) -> dict[str, str]:
    """The ``name==version`` pins of a pip-tools lock file: ``{canonical name: version}``."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        m = _PIN.match(line.strip())
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def lock_mismatches(path: str | Path) -> list[tuple[str, str, str | None]]:
    """Pins of the lock ``path`` that this environment does not have: ``(name, locked, installed or None)``."""
    out = []
    for name, locked in read_lock(path).items():
        try:
            installed: str | None = distribution(name).version
        except PackageNotFoundError:
            installed = None
        if installed != locked:
            out.append((name, locked, installed))
    return out


__all__ = ["dependency_closure", "lock_mismatches", "package_versions", "read_lock"]
