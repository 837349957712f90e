"""Fault injection: Ctrl-C / SIGTERM at random points and a full disk at every write site.

Each fault is followed by a rerun of the same command; the promise is that the
rerun's tables equal an uninterrupted run's, that the faulty run said so in one
line, and that no half-written file or temp file is left behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from zoolens.cli import main

from tests.paths import ROOT
MODELS = ["py:tests.faulty:sleepy_a", "py:tests.faulty:sleepy_b"]
DATA = ["--data", "digits", "-n", "16"]


def crit_args(out: Path) -> list[str]:
    return ["criticality", *sum((["-m", m] for m in MODELS), []), *DATA, "--seeds", "2", "--randomize", "zero",
            "--engine", "naive", "--out", str(out)]


def sat_args(out: Path) -> list[str]:
    return ["similarity", *sum((["-m", m] for m in MODELS), []), *DATA, "--steps", "2", "--batch-size", "16",
            "-q", "--out", str(out)]


def study_args(out: Path) -> list[str]:
    path = out.parent / f"{out.name}.toml"
    path.write_text(f'[study]\nout = "{out}"\n[models]\nrefs = {json.dumps(MODELS)}\n'
                    '[data]\nsource = "digits"\nn_images = 16\n[criticality]\nseeds = 2\nrandomize = "zero"\n'
                    'engine = "naive"\n[similarity]\nsteps = 2\nbatch_size = 16\n')
    return ["run", "-q", str(path)]


COMMANDS = {"criticality": crit_args, "similarity": sat_args, "study": study_args}
FINAL = {"criticality": ["criticality.csv", "criticality_summary.csv", "models.csv"],
         "similarity": ["sat_matrix.csv", "transfer.csv", "attack.csv", "sat_ci.csv", "transfer_matrix.csv"],
         "study": ["criticality/criticality.csv", "criticality/criticality_summary.csv", "criticality/models.csv",
                   "similarity/sat_matrix.csv", "similarity/transfer.csv", "similarity/attack.csv"]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, Path]:
    """Uninterrupted runs of each command (the tables every faulty run must end with)."""
    out = {}
    for name, args in COMMANDS.items():
        d = tmp_path_factory.mktemp("ref") / name
        assert main(args(d)) == 0
        out[name] = d
    return out


def assert_same_tables(kind: str, got: Path, want: Path) -> None:
    for name in FINAL[kind]:
        a, b = pd.read_csv(got / name), pd.read_csv(want / name)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-12, obj=name)


def leftovers(*roots: Path) -> list[Path]:
    return [p for r in roots if r.exists() for p in r.rglob("*.tmp")]


def _parts(out: Path) -> int:
    return sum(1 for _ in out.glob("**/parts/*/*.parquet")) if out.exists() else 0


# (command, signal, how many parts must exist before the signal); drawn once with a fixed seed
_rng = random.Random(6)
_PARTS = {"criticality": (1, 2), "similarity": (3, 5), "study": (2, 6)}  # mid-run for each command
SIGNAL_CASES = [(kind, sig, _rng.randint(*_PARTS[kind])) for kind in _PARTS for sig in (signal.SIGINT, signal.SIGTERM)]


@pytest.mark.slow
@pytest.mark.parametrize("kind,sig,after", SIGNAL_CASES,
                         ids=[f"{k}-{signal.Signals(s).name}-after-{n}-parts" for k, s, n in SIGNAL_CASES])
def test_signal_mid_run_then_rerun_equals_an_uninterrupted_run(kind, sig, after, tmp_path, reference, capsys):
    out = tmp_path / kind
    env = {**os.environ, "ZOOLENS_TEST_DELAY": "0.2", "PYTHONPATH": str(ROOT)}
    # SIGINT as in a terminal: a suite started in the background (`make test &`) hands its children SIGINT
    # *ignored*, and Python then installs no KeyboardInterrupt handler, so the child is reset to the default
    proc = subprocess.Popen([sys.executable, "-m", "zoolens.cli", *COMMANDS[kind](out)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        while _parts(out) < after and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, f"the run finished before {after} parts existed: {proc.stderr.read()}"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    code = 130 if sig == signal.SIGINT else 143
    lines = err.strip().splitlines()
    assert proc.returncode == code, err
    assert lines[-1].startswith("interrupted" if code == 130 else "terminated") and "rerun" in lines[-1]
    assert "Traceback" not in err
    assert not leftovers(out), "an interrupted write must remove its temp file"
    assert main(COMMANDS[kind](out)) == 0  # the same command resumes
    assert not leftovers(out)
    assert_same_tables(kind, out, reference[kind])


# ------------------------------------------------------------------ disk full
class DiskFull:
    """Makes the ``k``-th atomic write (or the first write of a matching site) fail with ENOSPC."""

    def __init__(self, site: str | None = None):
        self.site, self.calls, self.fired = site, [], False

    def wrap(self, real):
        @contextlib.contextmanager
        def atomic_path(path):
            site = _site_of(Path(path))
            self.calls.append(site)
            with real(path) as tmp:
                yield tmp
                if not self.fired and site == self.site:
                    self.fired = True
                    raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
        return atomic_path

    def install(self, monkeypatch) -> None:
        import zoolens.io as zio

        # every writer looks atomic_path up in zoolens.io when it writes: one patch faults them all
        monkeypatch.setattr(zio, "atomic_path", self.wrap(zio.atomic_path))


def _site_of(path: Path) -> str:
    """A write site: the kind of file (part kind, table, cache entry, manifest, spec)."""
    parts = path.parts
    if "parts" in parts:
        return "part:" + parts[parts.index("parts") + 1]
    if "images" in parts and path.parent.parent.name == "images":
        return "image-cache:" + path.name
    if "adv" in parts:
        return "adversarial-cache"
    return "file:" + path.name


def _sites(kind: str, tmp_path: Path, monkeypatch) -> list[str]:
    probe = DiskFull()
    probe.install(monkeypatch)
    monkeypatch.setenv("ZOOLENS_CACHE", str(tmp_path / "probe-cache"))
    assert main(COMMANDS[kind](tmp_path / "probe")) == 0
    monkeypatch.undo()
    return list(dict.fromkeys(probe.calls))


def _disk_full_cases() -> list[tuple[str, str]]:
    # the write sites of each command, as a clean run visits them (checked by the test below)
    crit = ["image-cache:images.npy", "image-cache:labels.npy", "image-cache:meta.json", "file:criticality_spec.json",
            "part:criticality", "part:criticality_models", "file:criticality.parquet", "file:criticality.csv",
            "file:criticality_summary.csv", "file:models.csv", "file:manifest.json"]
    sat = ["file:similarity_spec.json", "part:member", "part:clean", "adversarial-cache", "part:attack", "part:pair",
           "file:clean.parquet", "file:attack.csv", "file:transfer.parquet", "file:transfer.csv",
           "file:transfer_images.parquet", "file:sat_ci.csv", "file:sat_matrix.csv", "file:transfer_matrix.csv",
           "file:manifest.json"]
    return [("criticality", s) for s in crit] + [("similarity", s) for s in sat]


@pytest.mark.slow
def test_the_disk_full_cases_cover_every_write_site(tmp_path, monkeypatch):
    # every site a clean run writes through is faulted by some case (a site shared by both commands,
    # like the image cache, once), and every case names a site its command really visits
    visited = {kind: set(_sites(kind, tmp_path / kind, monkeypatch)) for kind in ("criticality", "similarity")}
    cases = _disk_full_cases()
    assert set().union(*visited.values()) == {site for _, site in cases}
    assert all(site in visited[kind] for kind, site in cases)


@pytest.mark.slow
@pytest.mark.parametrize("kind,site", _disk_full_cases(), ids=[f"{k}-{s}" for k, s in _disk_full_cases()])
def test_disk_full_at_a_write_site_is_one_line_and_a_rerun_completes(kind, site, tmp_path, monkeypatch, reference,
                                                                     capsys):
    out = tmp_path / kind
    cache = tmp_path / "cache"
    monkeypatch.setenv("ZOOLENS_CACHE", str(cache))
    fault = DiskFull(site)
    fault.install(monkeypatch)
    code = main(COMMANDS[kind](out))
    err = capsys.readouterr().err.strip().splitlines()
    assert fault.fired and code == 2
    assert err[-1].startswith("error:") and "No space left on device" in err[-1] and "Traceback" not in "".join(err)
    assert not leftovers(out, cache), "a failed write must not leave its temp file"
    finished = [n for n in FINAL[kind] if (out / n).exists()]
    assert finished == [], f"half-published tables: {finished}"
    manifest = out / "manifest.json"
    assert not manifest.exists() or not json.loads(manifest.read_text())["runs"][kind]["complete"]
    monkeypatch.undo()
    monkeypatch.setenv("ZOOLENS_CACHE", str(cache))
    assert main(COMMANDS[kind](out)) == 0
    assert_same_tables(kind, out, reference[kind])


@pytest.mark.slow
def test_disk_full_while_logging_a_unit_is_one_line_and_resumable(tmp_path, monkeypatch, reference, capsys):
    import zoolens.runtime.executors as ex

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "criticality" / "units.jsonl"))

    monkeypatch.setattr(ex, "log_outcomes", full)
    out = tmp_path / "criticality"
    assert main(crit_args(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "units.jsonl" in err[0] and "No space left" in err[0]
    monkeypatch.undo()
    assert main(crit_args(out)) == 0
    assert_same_tables("criticality", out, reference["criticality"])
