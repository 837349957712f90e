"""``zoolens doctor``: sound environments pass; corrupt caches, weights, missing data and full disks are named with a fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from zoolens.cli import main


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """A private image cache per test: a corrupted entry must not leak into other tests."""
    monkeypatch.setenv("ZOOLENS_CACHE", str(tmp_path / "cache"))


def _rows(capsys) -> dict[str, dict]:
    return {r["check"]: r for r in json.loads(capsys.readouterr().out)}


def test_doctor_passes_on_a_sound_environment(tmp_path, capsys):
    from zoolens.data import load_data

    load_data("digits", n=10)  # one cache entry, written by this zoolens
    assert main(["doctor", "--out", str(tmp_path / "runs"), "--format", "json"]) == 0
    rows = _rows(capsys)
    assert {r["status"] for r in rows.values()} <= {"ok", "warn"}
    assert rows["image cache"]["status"] == "ok" and rows["weights zoo:fmnist-mini"]["status"] == "ok"
    assert rows["torch"]["detail"].startswith("2.14.1")


def test_doctor_names_a_corrupt_cache_entry_and_how_to_fix_it(tmp_path, capsys):
    from zoolens.data import cache as dcache
    from zoolens.data import load_data

    ds = load_data("digits", n=12, seed=5)
    raw = bytearray((ds.cache_path / "images.npy").read_bytes())
    raw[-1] ^= 0x01
    (ds.cache_path / "images.npy").write_bytes(bytes(raw))
    dcache._VERIFIED.clear()
    assert main(["doctor", "--format", "json"]) == 1
    row = _rows(capsys)["image cache"]
    assert row["status"] == "fail" and ds.cache_path.name in row["detail"] and row["fix"].startswith("rm -r")


def test_doctor_finds_shipped_weights_with_a_wrong_checksum(tmp_path, monkeypatch, capsys):
    from zoolens.zoo import mini

    copy = tmp_path / "fmnist_mini"
    shutil.copytree(mini.zoo_dir("fmnist-mini"), copy)
    victim = next(iter(sorted((copy / "weights").glob("*.safetensors"))))
    with open(victim, "r+b") as fh:
        fh.seek(-3, 2)
        fh.write(b"\x00\x01\x02")
    monkeypatch.setitem(mini.ZOO_DIRS, "fmnist-mini", copy)
    assert main(["doctor", "--format", "json"]) == 1
    row = _rows(capsys)["weights zoo:fmnist-mini"]
    assert row["status"] == "fail" and victim.stem in row["detail"]
    assert row["fix"] == f"zoolens zoo train fmnist-mini --only {victim.stem}"


def test_doctor_reports_missing_data_with_its_fix(monkeypatch, capsys):
    import zoolens.doctor as doctor
    from zoolens.errors import ZoolensError

    real = doctor.open_source

    def no_fmnist(source):
        if source.startswith("fashion-mnist"):
            raise ZoolensError("Fashion-MNIST not found in /usr/share/datasets/fashion-mnist",
                               "apt-get install dataset-fashion-mnist or set ZOOLENS_DATA_DIR")
        return real(source)

    monkeypatch.setattr(doctor, "open_source", no_fmnist)
    assert main(["doctor", "--format", "json"]) == 1
    row = _rows(capsys)["data fashion-mnist"]
    assert row["status"] == "fail" and "apt-get install" in row["fix"]


def test_doctor_warns_when_the_disk_is_nearly_full(monkeypatch, capsys, tmp_path):
    import zoolens.doctor as doctor

    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(100, 99, 1 << 20))
    assert main(["doctor", "--out", str(tmp_path), "--format", "json"]) == 0  # a warning, not a failure
    row = _rows(capsys)[f"disk {tmp_path.resolve()}"]
    assert row["status"] == "warn" and "0.0 GiB free" in row["detail"] and "free disk space" in row["fix"]
