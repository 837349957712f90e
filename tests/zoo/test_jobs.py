"""``zoolens zoo train --jobs``: jobs × the recipes' threads never exceed the cores (nothing is trained here)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zoolens.cli import main
from zoolens.threads import OversubscriptionWarning
from zoolens.zoo import train_zoo as tz
from zoolens.zoo.mini import recipe_for

ZOO = "fmnist-mini"
NAMES = ["resnet_baseline", "vgg_baseline", "vit_baseline"]


def test_jobs_fit_the_cores_over_the_recipes_threads():
    recipes = [recipe_for(ZOO, n) for n in NAMES]
    assert {r.num_threads for r in recipes} == {1}  # fixed for bitwise reproducibility
    assert tz.zoo_jobs(recipes, cores=16) == (3, None)  # one per model when the cores allow
    assert tz.zoo_jobs(recipes, cores=2) == (2, None)
    two = [replace(r, num_threads=2) for r in recipes]
    assert tz.recipe_threads(two) == 2 and tz.zoo_jobs(two, cores=4) == (2, None)
    jobs, notice = tz.zoo_jobs(two, 3, cores=4)
    assert jobs == 2 and "--jobs 3 × 2 thread(s) would exceed this machine's 4 core(s): running 2 job(s)" in notice


@pytest.fixture
def fake_training(monkeypatch):
    """``zoo train`` with 2 cores and a stand-in for the training: records the jobs it got."""
    got = {}
    monkeypatch.setattr(tz, "available_cores", lambda: 2)
    monkeypatch.setattr(tz, "train_zoo", lambda zoo, recipes, out, *, jobs, **kw: got.setdefault("jobs", jobs) and [])
    return got


def test_the_cli_cuts_too_many_jobs_down_and_says_so(fake_training, tmp_path, capsys):
    only = [a for n in NAMES for a in ("--only", n)]
    assert main(["zoo", "train", ZOO, *only, "--jobs", "8", "--out", str(tmp_path)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "zoolens: --jobs 8 × 1 thread(s) would exceed this machine's 2 core(s): running 2 job(s) at once" in err
    assert fake_training["jobs"] == 2


def test_the_cli_default_is_as_many_jobs_as_fit(fake_training, tmp_path, capsys):
    only = [a for n in NAMES for a in ("--only", n)]
    assert main(["zoo", "train", ZOO, *only, "--out", str(tmp_path)]) == 0
    assert "would exceed" not in capsys.readouterr().err and fake_training["jobs"] == 2


def test_the_library_cuts_too_many_jobs_down_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.setattr(tz, "available_cores", lambda: 1)
    recipes = [recipe_for(ZOO, n) for n in NAMES[:2]]
    with pytest.warns(OversubscriptionWarning, match="running 1 job"), pytest.raises(RuntimeError, match="stop"):
        # stop right after the jobs are decided: nothing is trained
        monkeypatch.setattr(tz, "load_split", lambda split: (_ for _ in ()).throw(RuntimeError("stop")))
        tz.train_zoo(ZOO, recipes, tmp_path, jobs=2)
