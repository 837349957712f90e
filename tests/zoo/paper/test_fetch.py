"""`zoolens zoo status/fetch` for the paper zoos, with local files and a fake downloader only."""

from __future__ import annotations

import hashlib

import pytest
from typer.testing import CliRunner

from zoolens.errors import ZoolensError
from zoolens.offline import is_online, set_online
from zoolens.cli import app
from zoolens.zoo.weights import fetch, status_table
from zoolens.zoo.paper.fetch import FileSpec, download


@pytest.fixture
def weights(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOOLENS_WEIGHTS", str(tmp_path / "w"))
    return tmp_path / "w" / "paper-r50"


@pytest.fixture
def online():
    before = is_online()
    set_online(True)
    yield
    set_online(before)


def test_fetch_refuses_offline(weights):
    assert not is_online()
    with pytest.raises(ZoolensError, match="downloads are off"):
        fetch("paper-r50")


def test_download_checks_sha_and_is_atomic(tmp_path, online):
    src = tmp_path / "blob.bin"
    src.write_bytes(b"weights" * 100)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "out" / "blob.bin"
    assert download(src.as_uri(), dest, sha256=digest, progress=False) == digest and dest.is_file()
    bad = tmp_path / "out" / "bad.bin"
    with pytest.raises(ZoolensError, match="SHA-256"):
        download(src.as_uri(), bad, sha256="0" * 64, progress=False)
    assert not bad.exists() and [p.name for p in bad.parent.iterdir()] == ["blob.bin"]


def test_filespec_states(tmp_path):
    p = tmp_path / "f.pth"
    assert FileSpec("m", "weights", p, None).check()[0] == "missing"
    p.write_bytes(b"abc")
    digest = hashlib.sha256(b"abc").hexdigest()
    assert FileSpec("m", "weights", p, None).check()[0] == "present (unverified)"
    assert FileSpec("m", "weights", p, None, sha256=digest).check()[0] == "present"
    assert FileSpec("m", "weights", p, None, sha256="1" * 64).check()[0] == "wrong"
    assert FileSpec("m", "weights", p, None, sha256_prefix=digest[:8]).check()[0] == "present"


def test_fetch_with_fake_downloader_then_status(weights, online):
    calls = []

    def opener(url, path, hook=None):
        calls.append(url)
        with open(path, "wb") as fh:
            fh.write(url.encode())

    df = fetch("paper-r50", ["dino_v1", "prime"], opener=opener, progress=False)
    assert sorted(calls) == sorted(u for u in (
        "https://dl.fbaipublicfiles.com/dino/dino_resnet50_pretrain/dino_resnet50_pretrain.pth",
        "https://dl.fbaipublicfiles.com/dino/dino_resnet50_pretrain/dino_resnet50_linearweights.pth"))
    assert dict(zip(df["model"], df["action"]))["prime"].startswith("manual")
    st = status_table("paper-r50", ["dino_v1", "prime"])
    assert set(st.loc[st["model"] == "dino_v1", "state"]) == {"present (unverified)"}
    assert st.loc[st["model"] == "prime", "state"].tolist() == ["missing"]
    assert st.loc[st["model"] == "prime", "location"].iloc[0] == str(weights / "prime.pth")
    # A second fetch keeps what is there.
    assert set(fetch("paper-r50", ["dino_v1"], opener=opener, progress=False)["action"]) == {"kept"}


def test_status_and_fetch_commands(weights):
    runner = CliRunner()
    res = runner.invoke(app, ["zoo", "status", "paper-r50", "--format", "csv"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("model,role,state,location") and len(lines) - 1 >= 50
    assert str(weights / "resnet50_l2_eps3.ckpt") in res.stdout
    res = runner.invoke(app, ["zoo", "status", "paper-sat69", "--format", "csv"])
    assert res.exit_code == 0 and len(res.stdout.strip().splitlines()) == 70
    res = runner.invoke(app, ["zoo", "fetch", "paper-r50"])
    assert isinstance(res.exception, ZoolensError) and "downloads are off" in str(res.exception)
