"""The notebooks in examples/ run top to bottom (tiny budget), as a user would run them in Jupyter."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.paths import ROOT


def _execute(name: str, tmp_path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("ZOOLENS_TUTORIAL_IMAGES", "40")
    monkeypatch.setenv("ZOOLENS_TUTORIAL_DIR", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(ROOT / "examples" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


@pytest.mark.slow  # a kernel, an import of the published data and small runs (~1 min)
def test_the_tutorial_runs_and_writes_its_outputs(tmp_path, monkeypatch):
    nb = _execute("tutorial.ipynb", tmp_path, monkeypatch)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    for path in ("published-criticality/analysis/findings.json", "criticality/criticality.parquet",
                 "similarity/sat_matrix.csv", "criticality.png", "sat.png", "report.html"):
        assert (tmp_path / path).is_file(), path


@pytest.mark.slow
@pytest.mark.ray
def test_the_ray_notebook_gives_the_local_tables(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    _execute("ray_tutorial.ipynb", tmp_path, monkeypatch)  # it asserts equality itself; an error raises here
    assert (tmp_path / "ray" / "units.jsonl").is_file()
