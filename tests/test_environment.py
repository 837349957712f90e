"""The reproducible install: ``requirements.lock`` covers ``pyproject.toml``, and runs record what they used."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import distribution, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from zoolens.environment import dependency_closure, lock_mismatches, package_versions, read_lock
from tests.paths import ROOT as REPO

LOCK = REPO / "requirements.lock"


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in ("dev", "ray"):  # what `make setup` installs
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def test_lock_pins_every_declared_dependency_within_its_range():
    pins = read_lock(LOCK)
    missing = [str(r) for r in _declared() if canonicalize_name(r.name) not in pins]
    assert not missing, f"not in {LOCK.name}: {missing} -- run `make lock`"
    outside = [f"{r} (locked {pins[canonicalize_name(r.name)]})" for r in _declared()
               if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)]
    assert not outside, f"locked outside pyproject's range: {outside} -- run `make lock`"


def test_every_pin_carries_a_sha256():
    # pip's hash-checking mode refuses the whole install if one pin has no hash
    text = LOCK.read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    pinned = [b for b in blocks if re.match(r"[A-Za-z0-9][^\s]*==", b)]
    assert len(pinned) == len(read_lock(LOCK)) > 50
    for b in pinned:
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", b), b.splitlines()[0]
    options = [line for line in text.splitlines() if line.startswith("-")]
    assert options == []  # no index or find-links of this machine: the lock is portable


def test_read_lock_reads_pins_and_skips_comments(tmp_path):
    lock = tmp_path / "r.lock"
    lock.write_text("# header\nTyping_Extensions==4.1.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
                    "    # via torch\nnumpy==2.0.0 ; python_version >= '3.9' \\\n    --hash=sha256:" + "b" * 64 + "\n")
    assert read_lock(lock) == {"typing-extensions": "4.1.0", "numpy": "2.0.0"}
    assert lock_mismatches(lock) == [(n, v, version(n)) for n, v in read_lock(lock).items()
                                     if version(n) != v]


@pytest.mark.skipif(Path(sys.prefix).resolve() != (REPO / ".venv").resolve(),
                    reason="checks the checkout's own .venv, which `make setup` installs from the lock")
def test_make_setup_installed_exactly_the_lock():
    assert lock_mismatches(LOCK) == [], "the .venv differs from requirements.lock -- run `make setup`"


def test_manifest_versions_cover_every_runtime_dependency():
    versions = package_versions()
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    for name in ("zoolens", "torch", "torchvision", "timm", "numpy", "pandas", "scikit-learn", "safetensors"):
        assert versions[name] == version(name)
    # transitive: everything the declared runtime dependencies pull in is recorded too
    closure = dependency_closure("zoolens")
    for name in closure:
        for spec in distribution(name).requires or []:
            req = Requirement(spec)
            if req.marker is None and _installed(req.name):
                assert canonicalize_name(req.name) in versions, f"{name} needs {req.name}, not recorded"
    assert "pytest" not in versions  # dev tools did not run the experiment


def _installed(name: str) -> bool:
    try:
        version(name)
        return True
    except Exception:
        return False


def test_a_run_manifest_records_the_versions_it_ran_with(tmp_path):
    import json

    from zoolens.criticality import criticality

    criticality(["py:tests.factories:tiny_a"], out=tmp_path / "run", data="digits", n_images=8, seeds=1,
                randomize="zero", engine="naive", batch_size=8)
    recorded = json.loads((tmp_path / "run" / "manifest.json").read_text())["versions"]
    assert recorded == package_versions()
    assert {"torch", "numpy", "filelock", "typing-extensions"} <= set(recorded)  # filelock etc.: via torch
