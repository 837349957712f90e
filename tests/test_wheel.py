"""The package as users get it: the wheel holds every shipped file, and zoolens works installed from it,
outside this checkout.

The wheel is installed (without dependencies) into a fresh virtual environment in a
temporary folder; that environment borrows the already-installed dependencies (torch,
timm, …) from the development venv through a ``.pth`` path line, which adds their folder
but not the editable install of this checkout (a path line does not run that folder's
own ``.pth`` files). Reinstalling torch and the rest from the package index would add
minutes and test pip, not zoolens.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.paths import ROOT

pytestmark = pytest.mark.slow  # builds a wheel and runs zoolens in subprocesses (~1 min)

SRC = ROOT / "src" / "zoolens"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out)], check=True, capture_output=True, text=True)
    (found,) = out.glob("zoolens-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("user")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    # without PYTHONPATH: a checkout on it (its src/zoolens.egg-info) makes pip skip the wheel as "already installed"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, text=True, env=env)
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "_dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env["ZOOLENS_CACHE"] = str(root / "cache")
    work = root / "work"  # outside the checkout: nothing can come from src/ by accident
    work.mkdir()
    return {"bin": env_dir / "bin", "env": env, "cwd": work}


def _run(installed: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["bin"] / "zoolens"), *args], cwd=installed["cwd"], env=installed["env"],
                          capture_output=True, text=True, timeout=600)


def test_the_wheel_holds_every_shipped_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {"zoolens/" + str(p.relative_to(SRC)) for p in SRC.rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert shipped and not shipped - names, f"missing from the wheel: {sorted(shipped - names)}"
    assert "zoolens-0.1.0.dist-info/entry_points.txt" in names


def test_zoolens_runs_from_the_installed_wheel(installed):
    where = subprocess.run([str(installed["bin"] / "python"), "-c", "import zoolens; print(zoolens.__file__)"],
                           cwd=installed["cwd"], env=installed["env"], capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(installed["bin"].parent)), where.stdout  # not this checkout's src/

    r = _run(installed, "zoo", "list", "--format", "csv")
    assert r.returncode == 0 and "resnet_baseline" in r.stdout, r.stderr

    r = _run(installed, "import", "criticality", "published", "--out", "pub")
    assert r.returncode == 0, r.stderr
    assert (installed["cwd"] / "pub" / "criticality.parquet").is_file()

    models = ["--model", "zoo:fmnist-mini/resnet_baseline", "--model", "zoo:fmnist-mini/vgg_baseline"]
    r = _run(installed, "criticality", *models, "--data", "digits", "-n", "20", "--seeds", "1", "--out", "crit")
    assert r.returncode == 0, r.stderr
    assert (installed["cwd"] / "crit" / "criticality_summary.csv").is_file()

    r = _run(installed, "similarity", *models, "--data", "digits", "-n", "20", "--steps", "1", "--quiet",
             "--n-resamples", "10", "--out", "sat")
    assert r.returncode == 0, r.stderr
    assert (installed["cwd"] / "sat" / "sat_matrix.csv").is_file()
