"""The open zoo registry: every registered zoo is listed, loadable by reference and seen by the analyses."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest

from zoolens.cli import main
from zoolens.errors import ZoolensError
from zoolens.models import load_model
from zoolens.models.digest import weights_digest
from zoolens.models.loader import check_ref
from zoolens.models.source import Architecture
from zoolens.zoo import Zoo, get_zoo, list_zoos, register_zoo
from zoolens.zoo.metadata import META_COLUMNS, blank_row, metadata_listing, zoo_metadata
from zoolens.zoo.mini import manifest_rows
from zoolens.zoo.paper.fetch import FileSpec, WeightEntries
from zoolens.zoo.registry import unregister_zoo
from zoolens.zoo.selection import model_refs

from tests.factories import _Tiny, tiny_model

MINI_TRAINED = bool(manifest_rows("fmnist-mini"))


def _toy_zoo(tmp: Path) -> Zoo:
    names = ["a", "b"]

    def metadata() -> pd.DataFrame:
        rows = [{**blank_row(n), "family": "tiny", "category": "baseline", "method": n} for n in names]
        return pd.DataFrame(rows).set_index("name")

    def load(name: str, *, trust_checkpoint: bool = False):
        if name not in names:
            raise ZoolensError(f"toy has no model {name!r}", "use a or b")
        model = tiny_model(seed=names.index(name))
        model.name = f"zoo:toy/{name}"
        return model

    weights = tmp / "a.bin"
    weights.write_bytes(b"weights of a")
    return Zoo(name="toy", description="two tiny models", members=lambda: list(names), load=load,
               metadata=metadata, manifest=lambda: metadata().reset_index(),
               listing=lambda all_columns=False: metadata_listing("toy", all_columns),
               weights=lambda: WeightEntries(names=names, files=[FileSpec("a", "weights", weights, None)]),
               architecture=lambda name: Architecture(make=_Tiny, input_size=lambda net: (1, 8, 8)))


@pytest.fixture
def toy(tmp_path):
    zoo = register_zoo(_toy_zoo(tmp_path))
    yield zoo
    unregister_zoo("toy")


def test_the_shipped_zoos_are_registered():
    assert {"fmnist-mini", "paper-r50", "paper-sat69"} <= set(list_zoos())
    assert len(get_zoo("paper-r50").members()) == 50 and len(get_zoo("paper-sat69").members()) == 69


def test_unknown_zoo_is_a_one_line_error_naming_the_registered_ones():
    with pytest.raises(ZoolensError) as err:
        get_zoo("nozoo")
    msg = str(err.value)
    assert "unknown zoo 'nozoo'" in msg and "fmnist-mini, paper-r50, paper-sat69" in msg and "\n" not in msg


def test_every_registered_zoo_is_in_zoo_zoos(capsys, toy):
    assert main(["zoo", "zoos"]) == 0
    assert set(capsys.readouterr().out.split()) == set(list_zoos()) >= {"toy", "paper-r50"}


@pytest.mark.parametrize("zoo", ["paper-r50", "paper-sat69", pytest.param(
    "fmnist-mini", marks=pytest.mark.skipif(not MINI_TRAINED, reason="mini zoo not trained"))])
def test_zoo_list_and_status_work_for_every_shipped_zoo(capsys, zoo):
    assert main(["zoo", "list", zoo, "--format", "csv"]) == 0
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(rows["name"]) == get_zoo(zoo).members()
    assert main(["zoo", "status", zoo, "--format", "csv"]) == 0
    status = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(status["model"]) == set(get_zoo(zoo).members())


def test_a_registered_zoo_works_everywhere(capsys, toy):
    assert main(["zoo", "list", "toy", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "name,category,method"
    assert check_ref("zoo:toy/a").name == "toy/a"
    with pytest.raises(ZoolensError, match="zoo toy has no model 'c'"):
        check_ref("zoo:toy/c")
    model = load_model("zoo:toy/b")
    assert model.name == "zoo:toy/b" and model.input_size == (1, 8, 8)
    assert model_refs(None, "toy", ["b"]) == ["zoo:toy/b"]
    meta = zoo_metadata("toy")
    assert list(meta.columns) == list(META_COLUMNS) and meta.loc["a", "family"] == "tiny"
    assert math.isnan(meta.loc["a", "published_top1"])
    # the digest follows the zoo's weights files: changing a's file changes a's digest only
    a, b = weights_digest("zoo:toy/a"), weights_digest("zoo:toy/b")
    get_zoo("toy").weights().files[0].path.write_bytes(b"new weights of a, another size")
    assert weights_digest("zoo:toy/a") != a and weights_digest("zoo:toy/b") == b

    from zoolens.runtime.plan import arch_info

    assert arch_info("zoo:toy/a").input_size == (1, 8, 8)


def test_selection_needs_a_zoo_for_only_and_some_model():
    with pytest.raises(ZoolensError, match="--only"):
        model_refs(None, None, ["x"])
    with pytest.raises(ZoolensError, match="no models given"):
        model_refs(None, None, None)
    with pytest.raises(ZoolensError, match="unknown zoo"):
        model_refs(None, "nozoo", None)
    assert model_refs(None, "paper-r50", ["baseline"]) == ["zoo:paper-r50/baseline"]
